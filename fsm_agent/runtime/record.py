"""``--record FILE``: every exchanged line with a timestamp, as JSON lines, for ``replay``.

One JSON object per line, written and flushed at once (the host may kill us without warning):

- ``{"t": 0.0, "dir": "meta", "line": "fsm-agent 0.1.0 run", "settings": {...}}`` first;
- ``{"t": 1.25, "dir": "in", "line": "RECOG_EVENT_STOP|hello"}``: a host line as parsed;
- ``{"t": 1.26, "dir": "out", "line": "SYNTH_START|0|mei_voice_normal|Hi."}``: a line we sent;
- ``{"t": 1.26, "dir": "state", "line": "Speaking"}``: the controller's new state;
- ``{"t": 1.25, "dir": "open", "line": "hello", "stream": 1}``: a reply stream opened for that
  user text; then ``"chunk"`` (``line`` is the piece), and ``"end"`` or ``"error"`` (``line`` is
  the reason) with the same ``stream`` number. ``replay`` plays these back as the LLM's replies.

``t`` is seconds since the recorder was created.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from fsm_agent import __version__
from fsm_agent.core.backend import Backend, Messages, ReplyStream, last_user_text
from fsm_agent.core.settings import ConfigError, Settings
from fsm_agent.runtime.logs import describe_error

log = logging.getLogger("fsm_agent.runtime.record")

REPLAY_SETTINGS: tuple[str, ...] = (
    "alias",
    "voice",
    "voices",
    "voice_engines",
    "lang",
    "barge_in",
    "synth_timeout",
    "synth_seconds_per_char",
    "synth_speed",
    "stream_timeout",
    "max_reply_chars",
    "error_reply",
    "keep_emoji",
    "history_turns",
    "history_tokens",
    "barge_in_mark",
    "system_prompt",
    "gestures",
    "describe_tags",
    "greeting",
    "greeting_prompt",
    "idle_after",
    "idle_prompt",
    "idle_max",
)
"""Settings that change what the controller sends; the meta line keeps them for ``replay``."""


class Recorder:
    """Write records to a JSON-lines file; callable as a ``Runtime`` observer.

    Safe to call from any thread. A write that fails (disk full, file closed) disables the
    recorder with one warning instead of taking the session down.

    Args:
        path: The file to create (overwritten if it exists).
        clock: Monotonic clock, replaceable in tests.

    Raises:
        OSError: If the file cannot be created.

    """

    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self._clock = clock
        self._start = clock()
        self._lock = threading.Lock()
        self._file: TextIO | None = path.open("w", encoding="utf-8", newline="\n")
        self._streams = 0

    def __call__(self, direction: str, line: str) -> None:
        """Record one line; the signature of a ``Runtime`` observer."""
        self.write(direction, line)

    def write(self, direction: str, line: str, **extra: Any) -> None:
        """Record one entry with the current time.

        Args:
            direction: in, out, state, meta, open, chunk, end or error.
            line: The line or text.
            **extra: More JSON fields (``stream``, ``settings``, ``tokens``).

        """
        with self._lock:
            if self._file is None:
                return
            entry = {"t": round(self._clock() - self._start, 4), "dir": direction, "line": line}
            entry.update(extra)
            try:
                self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
                self._file.flush()
            except (OSError, ValueError) as exc:
                log.warning("recording to %s stopped: %s", self.path, exc)
                self._file = None

    def meta(self, mode: str, settings: Settings) -> None:
        """Record which program and settings made this file (the first entry)."""
        kept = {name: getattr(settings, name) for name in REPLAY_SETTINGS}
        kept = {k: str(v.resolve()) if isinstance(v, Path) else v for k, v in kept.items()}
        self.write("meta", f"fsm-agent {__version__} {mode}", settings=kept)

    def next_stream(self) -> int:
        """Return a new stream number (1, 2, ...)."""
        with self._lock:
            self._streams += 1
            return self._streams

    def close(self) -> None:
        """Close the file; later writes are ignored."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class RecordingBackend:
    """Wrap a backend so that every reply stream is recorded piece by piece.

    Args:
        backend: The real backend.
        recorder: Where the pieces go.

    """

    def __init__(self, backend: Backend, recorder: Recorder) -> None:
        self.backend = backend
        self.recorder = recorder

    def open(self, messages: Messages) -> ReplyStream:
        """Open the real stream and record it as it is read."""
        number = self.recorder.next_stream()
        user = last_user_text(messages)
        self.recorder.write("open", user, stream=number)
        try:
            stream = self.backend.open(messages)
        except Exception as exc:
            self.recorder.write("error", describe_error(exc), stream=number)
            raise
        return _RecordedStream(stream, self.recorder, number)

    def close(self) -> None:
        """Close the wrapped backend, if it has anything to close."""
        close = getattr(self.backend, "close", None)
        if callable(close):
            close()


class _RecordedStream:
    def __init__(self, stream: ReplyStream, recorder: Recorder, number: int) -> None:
        self._stream = stream
        self._recorder = recorder
        self._number = number

    @property
    def total_tokens(self) -> int | None:
        return self._stream.total_tokens

    def __iter__(self) -> Iterator[str]:
        try:
            for piece in self._stream:
                self._recorder.write("chunk", piece, stream=self._number)
                yield piece
        except Exception as exc:
            self._recorder.write("error", describe_error(exc), stream=self._number)
            raise
        self._recorder.write("end", "", stream=self._number, tokens=self._stream.total_tokens)

    def close(self) -> None:
        self._stream.close()


def attach(runtime: Any, settings: Settings, mode: str) -> Recorder | None:
    """Record ``runtime``'s exchange to ``settings.record``, if set.

    Adds the recorder to the runtime's observers and wraps its backend, so that the replies are
    recorded too.

    Args:
        runtime: A ``fsm_agent.runtime.loop.Runtime``.
        settings: The configuration (``settings.record`` is the file).
        mode: The mode's name, written in the meta entry.

    Returns:
        The recorder (close it at the end), or None when not recording.

    Raises:
        ConfigError: If the file cannot be created.

    """
    if settings.record is None:
        return None
    try:
        recorder = Recorder(settings.record)
    except OSError as exc:
        raise ConfigError(f"cannot write the record file {settings.record}: {exc}") from exc
    recorder.meta(mode, settings)
    runtime.observers.append(recorder)
    runtime.backend = RecordingBackend(runtime.backend, recorder)
    return recorder
