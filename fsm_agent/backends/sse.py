"""Server-sent events read by their specification, with a bound on what one event may hold.

The WHATWG event-stream format ends a line only at CR, LF or CRLF. Python's ``str.splitlines``
(and so ``httpx``'s ``aiter_lines``) also ends one at U+2028, U+2029, U+0085, form feed and
others, which a JSON string may carry raw: that would cut an event in two. The bytes are split
here instead, before they are decoded.

A server that sends a line with no end, or an event with no blank line after it, would make a
reader hold all of it. :class:`SSEDecoder` holds at most ``max_bytes`` for one event and raises
:class:`EventTooLarge` past that, so the turn fails and the memory is freed.
"""

from __future__ import annotations

import re

__all__ = ["MAX_EVENT_BYTES", "EventTooLarge", "SSEDecoder"]

MAX_EVENT_BYTES = 8 * 1024 * 1024
"""Bytes one event (its data lines and the line being read) may hold; real ones hold < 10 KB.

Far above any real chunk (vLLM's with token ids stays under a few KB), and still a bound: a
stream that never ends its line costs at most this much memory before the turn fails."""

_LINE_END = re.compile(rb"\r\n?|\n")
_BOM = "\ufeff"


class EventTooLarge(ValueError):
    """One event (or one line of it) grew past the decoder's bound."""


class SSEDecoder:
    r"""Turn a byte stream into the data of its events, as the specification says.

    Feed it the body's byte chunks, however they are cut; it returns the ``data`` of each event
    a blank line completed (its ``data:`` lines joined with ``\n``). Comments, ``event:``,
    ``id:`` and ``retry:`` lines are read and ignored: chat completions use data only.

    Args:
        max_bytes: The most bytes held at once for one event (and the line being read).

    """

    def __init__(self, max_bytes: int = MAX_EVENT_BYTES) -> None:
        self.max_bytes = max_bytes
        self._line = bytearray()  # the line read so far (no end seen yet)
        self._data: list[str] = []  # the current event's data lines
        self._held = 0  # bytes in _data
        self._skip_lf = False  # the last chunk ended with CR: a LF next belongs to it
        self._first = True  # a BOM may open the stream

    def feed(self, chunk: bytes) -> list[str]:
        """Take the next bytes of the body.

        Args:
            chunk: Any number of bytes (may be empty).

        Returns:
            The data of each event this chunk completed, in order.

        Raises:
            EventTooLarge: When the current event would hold more than ``max_bytes``.

        """
        out: list[str] = []
        start = 0
        if self._skip_lf and chunk[:1] == b"\n":
            start = 1
        if chunk:
            self._skip_lf = False
        for match in _LINE_END.finditer(chunk, start):
            self._add(chunk, start, match.start())
            self._line_done(out)
            start = match.end()
        if start < len(chunk):
            self._add(chunk, start, len(chunk))
        elif chunk.endswith(b"\r"):
            self._skip_lf = True
        return out

    def finish(self) -> list[str]:
        """End of the body: an event cut off before its blank line still counts.

        The specification drops such an event; some servers end with ``data: [DONE]`` and no
        blank line, and a cut-off JSON event still fails to parse, so keeping it loses nothing.

        Returns:
            The data of the last event, if one was pending.

        """
        out: list[str] = []
        if self._line:
            self._line_done(out)
        self._line_done(out)  # the blank line the stream did not send
        return out

    def _add(self, chunk: bytes, a: int, b: int) -> None:
        if b > a:
            if self._held + len(self._line) + (b - a) > self.max_bytes:
                self._line.clear()
                self._data.clear()
                raise EventTooLarge(f"an event of the stream is over {self.max_bytes} bytes")
            self._line += chunk[a:b]

    def _line_done(self, out: list[str]) -> None:
        line = self._line.decode("utf-8", "replace")
        self._line.clear()
        if self._first:
            self._first = False
            line = line.removeprefix(_BOM)
        if not line:
            if self._data:
                out.append("\n".join(self._data))
            self._data = []
            self._held = 0
            return
        if line.startswith(":"):
            return  # a comment (keep-alive pings)
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self._held += len(value) + 1
