"""Reading a host transcript for ``replay``: AllLog lines, plain message lines, ``--record`` files.

- MMDAgent-EX ``AllLog`` lines (``[time] [tick] Module: Sent: TYPE|ARGS``) carry their time.
- Plain message lines (``TYPE|ARGS``) carry none: ``step`` seconds pass between them.
- ``--record`` JSON lines (see ``fsm_agent.runtime.record``) carry the host lines, our lines, the
  settings and every reply stream piece by piece.

The formats may even be mixed. An AllLog or plain transcript of a real session also holds our own
``SYNTH_START`` lines, echoed back by the host: :func:`spoken_replies` turns them back into the
replies, so that a bug report replays with the words that were really spoken.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import regex

from fsm_agent.core.events import Event, StreamEnd, StreamError, Utterance, event_from_message
from fsm_agent.core.protocol import parse_line
from fsm_agent.core.voices import engine_of, narrow_ascii
from fsm_agent.runtime.record import REPLAY_SETTINGS
from fsm_agent.text.join import join_sentences

__all__ = [
    "ParsedTranscript",
    "RecordedStream",
    "SpokenReplies",
    "read_transcript",
    "spoken_replies",
]

_ALLLOG_TIME = regex.compile(r"^\s*\[([^\]]*)\]")
_CLOCK = regex.compile(r"(\d{1,2}):(\d{2}):(\d{2}(?:[.,]\d+)?)")


@dataclass
class RecordedStream:
    """One reply as the record file has it: pieces at offsets from its opening."""

    pieces: list[tuple[float, str]] = field(default_factory=list)
    end: tuple[float, Event | None] | None = None
    """When and how it ended: ``StreamEnd``/``StreamError`` with a placeholder gen, or None."""

    @classmethod
    def whole(cls, text: str) -> RecordedStream:
        """A reply that arrives all at once and ends there."""
        return cls([(0.0, text)], (0.0, StreamEnd(0)))


@dataclass
class ParsedTranscript:
    """What a file holds: host lines with times, and the recorded replies and output, if any."""

    lines: list[tuple[float, bytes]] = field(default_factory=list)
    streams: list[RecordedStream] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    is_record: bool = False
    mode: str = ""
    """The mode that wrote a record file (``run``, ``chat``...), from its meta line."""
    child_ended: bool = False
    """The host's log says its child ended ("detected end of child process"); the lines
    after it are left out."""


_CHILD_GONE = "AnyScript: Status: detected end of child process"


def read_transcript(raw_lines: Iterable[bytes], step: float = 0.0) -> ParsedTranscript:
    """Read a transcript in any of the three formats (they may even be mixed).

    Args:
        raw_lines: The file's lines as bytes.
        step: Seconds between lines that carry no time.

    Returns:
        The transcript, times relative to its first line.

    """
    out = ParsedTranscript()
    opened: dict[int, tuple[float, RecordedStream]] = {}
    now = 0.0
    first_clock: float | None = None
    for raw in raw_lines:
        entry = _json_entry(raw)
        if entry is not None:
            out.is_record = True
            now = float(entry.get("t", now))
            _take_entry(out, entry, now, opened)
            continue
        text = raw.decode("utf-8", errors="replace")
        if _CHILD_GONE in text:
            # The host's log says a child ended: nothing after reaches it. (The log does not
            # say which child; a host running several takes it to be ours.)
            out.child_ended = True
            break
        clock = _alllog_seconds(text)
        if clock is not None:
            first_clock = clock if first_clock is None else first_clock
            now = max(now, clock - first_clock)
        elif out.lines:
            now += step
        out.lines.append((now, raw))
    return out


def _json_entry(raw: bytes) -> dict[str, Any] | None:
    if not raw.lstrip().startswith(b"{"):
        return None
    try:
        entry = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return entry if isinstance(entry, dict) and "dir" in entry else None


def _take_entry(
    out: ParsedTranscript,
    entry: dict[str, Any],
    now: float,
    opened: dict[int, tuple[float, RecordedStream]],
) -> None:
    kind, line = entry["dir"], str(entry.get("line", ""))
    number = entry.get("stream")
    if kind == "in":
        out.lines.append((now, line.encode("utf-8")))
    elif kind == "out":
        out.sent.append(line)
    elif kind == "meta":
        out.mode = line.rsplit(" ", 1)[-1]  # "fsm-agent 0.1.0 chat"
        settings = entry.get("settings")
        if isinstance(settings, dict):
            out.settings = {k: v for k, v in settings.items() if k in REPLAY_SETTINGS}
    elif kind == "open" and isinstance(number, int):
        stream = RecordedStream()
        opened[number] = (now, stream)
        out.streams.append(stream)
    elif number in opened:
        start, stream = opened[number]
        if kind == "chunk":
            stream.pieces.append((now - start, line))
        elif kind == "end":
            tokens = entry.get("tokens")
            stream.end = (now - start, StreamEnd(0, tokens if isinstance(tokens, int) else None))
        elif kind == "error":
            stream.end = (now - start, StreamError(0, line))


def _alllog_seconds(text: str) -> float | None:
    """The time of an ``AllLog`` line (``[12:34:56.789] ...`` or ``[1234.5] ...``), if any."""
    match = _ALLLOG_TIME.match(text)
    if match is None:
        return None
    stamp = match.group(1)
    clock = _CLOCK.search(stamp)
    if clock is not None:
        hours, minutes, seconds = clock.groups()
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds.replace(",", "."))
    try:
        return float(stamp)
    except ValueError:
        return None


# ---- the replies a transcript's own SYNTH_START lines spoke ----------------------------------


@dataclass
class SpokenReplies:
    """What our echoed lines in an AllLog or plain transcript say about the session.

    Attributes:
        replies: For each utterance, in order, its text and the reply rebuilt from the
            sentences spoken after it (before the next utterance).
        sent: Our own lines as the host echoed them (``SYNTH_START``/``SYNTH_STOP`` for our
            alias), to compare with what the replay sends.
        voices: The voice aliases those ``SYNTH_START`` lines used, in order of appearance.

    """

    replies: list[tuple[str, str]] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    voices: list[str] = field(default_factory=list)

    def take(self, user: str) -> RecordedStream | None:
        """The reply spoken for the next utterance of ``user`` (each is given once), or None."""
        for index, (said, reply) in enumerate(self.replies):
            if said == user:
                del self.replies[index]
                return RecordedStream.whole(reply)
        return None


def spoken_replies(
    transcript: ParsedTranscript, alias: str, engines: Iterable[tuple[str, str]] = ()
) -> SpokenReplies:
    """Rebuild the replies of an AllLog or plain transcript from our echoed ``SYNTH_START`` lines.

    Each ``RECOG_EVENT_STOP`` opens a turn; the text of every ``SYNTH_START|alias|voice|text``
    after it joins that turn's reply (with a space between sentences, none between two CJK
    ones). Those sentences are what was spoken, so a turn cut short by a barge-in replays with
    what was heard, and an ``--error-reply`` sentence replays as a reply. A sentence sent to an
    Open JTalk voice had its ASCII widened on the way out; it is narrowed back, so that the
    reply is the model's text again (re-split, a widened ``．`` would end a sentence early).

    Args:
        transcript: The transcript (a ``--record`` file has its own replies; it gives none here).
        alias: Our model alias.
        engines: ``(voice, engine)`` pairs, the ``voice_engines`` setting.

    Returns:
        The replies, our echoed lines and their voices.

    """
    out = SpokenReplies()
    if transcript.is_record:
        return out
    turns: list[tuple[str, list[str]]] = []
    for _at, raw in transcript.lines:
        msg = parse_line(raw)
        if msg is None:
            continue
        event = event_from_message(msg, alias)
        if isinstance(event, Utterance):
            turns.append((event.text, []))
        elif msg.type == "SYNTH_START" and msg.arg(0) == alias and len(msg.args) >= 3:
            out.sent.append("|".join((msg.type, *msg.args)))
            out.voices.append(msg.args[1])
            text = msg.args[2].strip()
            if engine_of(msg.args[1], engines) == "open_jtalk":
                text = narrow_ascii(text)
            if turns and text:
                turns[-1][1].append(text)
        elif msg.type == "SYNTH_STOP" and msg.arg(0) == alias:
            out.sent.append("|".join((msg.type, *msg.args)))
    out.replies = [(user, join_sentences(sentences)) for user, sentences in turns if sentences]
    return out
