"""Replies computed locally, no network and no key: echo, a script file, the demo's replies."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import regex

from fsm_agent.core.backend import Messages, ReplyStream, last_user_text
from fsm_agent.core.settings import ConfigError

# Token-sized pieces: a word with its trailing space, or one or two CJK characters.
_TOKENS = regex.compile(
    r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]{1,2}"  # CJK: one or two characters
    r"|[^\s\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]+\s*"  # a word with its trailing space
    r"|\s+"
)


def token_pieces(text: str) -> list[str]:
    """Cut text into pieces of about one LLM token each (for offline backends)."""
    return _TOKENS.findall(text)


Pace = Callable[[int], float]
"""Seconds an offline stream waits before handing out piece ``index`` (0 is the first token)."""

PieceHook = Callable[[int, str], None]
"""Called with ``(index, piece)`` as an offline stream hands out each piece."""

EndHook = Callable[[int, bool], None]
"""Called once when an offline stream ends: ``(pieces handed out, whether it was complete)``."""


class OfflineStream:
    """A reply from memory, streamed in token-sized pieces with a delay between them.

    Args:
        text: The whole reply.
        delay: Seconds to wait before each piece (0 streams at once).
        whole: Deliver the reply as one piece, like a server without streaming.
        pace: Overrides ``delay`` piece by piece, e.g. a long first-token wait and jittered
            delays after it.
        on_piece: Told of each piece as it is handed out (on the iterating thread).
        on_end: Told once when the stream ends, complete or closed early.

    """

    def __init__(
        self,
        text: str,
        delay: float,
        whole: bool = False,
        *,
        pace: Pace | None = None,
        on_piece: PieceHook | None = None,
        on_end: EndHook | None = None,
    ) -> None:
        self.total_tokens: int | None = None
        self._pieces = [text] if whole else token_pieces(text)
        self._delay = delay
        self._pace = pace
        self._on_piece = on_piece
        self._on_end = on_end
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[str]:
        sent = 0
        try:
            for index, piece in enumerate(self._pieces):
                delay = self._pace(index) if self._pace is not None else self._delay
                if delay and self._closed.wait(delay):
                    return
                if self._closed.is_set():
                    return
                if self._on_piece is not None:
                    self._on_piece(index, piece)
                sent += 1
                yield piece
            self.total_tokens = len(self._pieces)
        finally:
            if self._on_end is not None:
                self._on_end(sent, self.total_tokens is not None)

    def close(self) -> None:
        """Stop streaming."""
        self._closed.set()


class OfflineBackend:
    """Replies computed locally: no network, no key.

    Args:
        reply: Makes the reply text from the request's messages.
        token_delay: Seconds between pieces (0 streams at once).
        whole: Deliver each reply as one piece, like a server without streaming.
        pace: Seconds before each piece, by index; overrides ``token_delay`` when given.
        on_piece: Passed to every stream (see :class:`OfflineStream`).
        on_end: Passed to every stream (see :class:`OfflineStream`).

    """

    def __init__(
        self,
        reply: Callable[[Messages], str],
        token_delay: float = 0.0,
        whole: bool = False,
        *,
        pace: Pace | None = None,
        on_piece: PieceHook | None = None,
        on_end: EndHook | None = None,
    ) -> None:
        self._reply = reply
        self.token_delay = token_delay
        self.whole = whole
        self.pace = pace
        self.on_piece = on_piece
        self.on_end = on_end

    def open(self, messages: Messages) -> ReplyStream:
        """Stream the reply to ``messages``."""
        return OfflineStream(
            self._reply(messages),
            self.token_delay,
            self.whole,
            pace=self.pace,
            on_piece=self.on_piece,
            on_end=self.on_end,
        )


def echo_reply(messages: Messages) -> str:
    """Answer by repeating the user's last message."""
    last = last_user_text(messages)
    return f"You said: {last}"


class ScriptedReplies:
    """Replies read from a UTF-8 file, one after another, then from the start again.

    Replies are separated by a line holding only ``---``.

    Args:
        path: The script file.

    Raises:
        ConfigError: If the file cannot be read or holds no reply.

    """

    def __init__(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the reply script {path}: {exc}") from exc
        blocks = regex.split(r"(?m)^---[ \t]*\r?\n?", text)
        self.replies = [block.strip() for block in blocks if block.strip()]
        if not self.replies:
            raise ConfigError(f"the reply script {path} holds no reply")
        self._next = 0
        self._lock = threading.Lock()

    def __call__(self, messages: Messages) -> str:
        """Return the next reply of the script."""
        with self._lock:
            reply = self.replies[self._next % len(self.replies)]
            self._next += 1
        return reply
