"""The port between the runtime and the backends: a reply stream and what opens one.

The runtime iterates a :class:`ReplyStream` on a worker thread and may close it from another
thread to cancel (barge-in); backends (``fsm_agent.backends``) implement :class:`Backend`.
"""

from __future__ import annotations

import enum
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


class Signal(enum.Enum):
    """A sign that the server is working on the reply, yielded by a stream between its pieces.

    Neither is reply text. They tell "the server is working" from "the server is gone": the
    controller allows a long silence after ``ACCEPTED`` and keeps a turn alive while
    ``THINKING`` comes (``think_timeout``), where plain silence is bounded by
    ``stream_timeout``.
    """

    ACCEPTED = "accepted"
    """The server answered the request (its response headers came); it may now be processing
    the prompt, which on a CPU takes seconds to minutes before the first byte of the body."""
    THINKING = "thinking"
    """A reasoning delta (``reasoning_content`` / ``reasoning``): the model is thinking."""


class ContextOverflow(Exception):
    """The server refused the request because it does not fit the model's context.

    Args:
        message: The server's own words.
        prompt_tokens: The request's size in tokens, if the server said it.
        context_tokens: The context size in tokens, if the server said it.

    """

    def __init__(
        self, message: str, prompt_tokens: int | None = None, context_tokens: int | None = None
    ) -> None:
        super().__init__(message)
        self.prompt_tokens = prompt_tokens
        self.context_tokens = context_tokens


class ReplyStream(Protocol):
    """An open reply: iterate it for text pieces; ``close()`` may be called from any thread.

    Besides the text it may yield :class:`Signal` values: the server is working.
    """

    total_tokens: int | None
    """The server's usage report, known once iteration has finished (None if not given)."""

    def __iter__(self) -> Iterator[str | Signal]: ...

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
            Exception: Any failure; the runtime turns it into a ``StreamError``. Raise (or
                let the stream raise) :class:`ContextOverflow` when the request is too long
                for the model, so that the history can be trimmed to fit.

        """
        ...
