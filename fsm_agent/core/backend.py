"""The port between the runtime and the backends: a reply stream and what opens one.

The runtime iterates a :class:`ReplyStream` on a worker thread and may close it from another
thread to cancel (barge-in); backends (``fsm_agent.backends``) implement :class:`Backend`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

Messages = Sequence[dict[str, str]]
"""A chat request: ``{"role": ..., "content": ...}`` dictionaries, the system prompt first."""


def last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """Return the text of the last ``user`` message ("" when there is none).

    Content given as parts (``[{"type": "text", "text": ...}, ...]``) is joined; other
    parts (images) count as nothing; anything that is not a message is skipped.
    """
    for message in reversed(messages):
        if not isinstance(message, Mapping) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "".join(
                str(part.get("text", ""))
                for part in content
                if isinstance(part, Mapping) and part.get("type") == "text"
            )
        return ""
    return ""


class ReplyStream(Protocol):
    """An open reply: iterate it for text pieces; ``close()`` may be called from any thread."""

    total_tokens: int | None
    """The server's usage report, known once iteration has finished (None if not given)."""

    def __iter__(self) -> Iterator[str]: ...

    def close(self) -> None:
        """Stop the reply and release its connection at once."""


class Backend(Protocol):
    """Opens reply streams.

    A backend that talks to a server may also have ``prewarm()``: get the connection ready for
    a request that is likely to follow soon (the runtime calls it at ``RECOG_EVENT_START``). It
    must return at once, from any thread, and never fail.
    """

    def open(self, messages: Messages) -> ReplyStream:
        """Send the request; return the stream of the reply's text pieces.

        Raises:
            Exception: Any failure; the runtime turns it into a ``StreamError``.

        """
        ...
