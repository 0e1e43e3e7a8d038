"""The running summary's LLM request, on a worker thread between turns.

The controller asks for it (``Summarize``) only while idle and cancels it (``CancelSummary``)
before it opens a reply stream, so a server that answers one request at a time (llama.cpp with
one slot) never makes a reply wait behind a summary. The answer comes back to the loop as a
``SummaryDone`` or ``SummaryFailed`` event.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from fsm_agent.core.backend import Backend
from fsm_agent.core.events import (
    Chunk,
    Event,
    StreamEnd,
    StreamError,
    Summarize,
    SummaryDone,
    SummaryFailed,
)
from fsm_agent.runtime.worker import Generation

MAX_SUMMARY_CHARS = 20_000
"""Stop reading a summary answer here: an endless stream must not fill the memory."""


class SummaryJob:
    """One summary request: the reply is collected and posted whole.

    Args:
        command: What to ask.
        backend: Where the answer comes from.
        post: Thread-safe sink for the ``SummaryDone`` / ``SummaryFailed`` event.

    """

    def __init__(self, command: Summarize, backend: Backend, post: Callable[[Event], None]) -> None:
        self.command = command
        self._post = post
        self._pieces: list[str] = []
        self._size = 0
        self._generation = Generation(command.job, backend, command.messages, self._collect)

    @property
    def thread(self) -> threading.Thread:
        """The worker thread (``is_alive``, ``join``)."""
        return self._generation.thread

    def start(self) -> None:
        """Send the request on its own thread."""
        self._generation.start()

    def cancel(self) -> None:
        """Stop the request and close its connection; nothing is posted after this."""
        self._generation.cancel()

    def _collect(self, event: Event) -> None:
        job = self.command.job
        match event:
            case Chunk(text=text):
                self._pieces.append(text)
                self._size += len(text)
                if self._size > MAX_SUMMARY_CHARS:
                    self._generation.cancel()
                    self._done()
            case StreamEnd():
                self._done()
            case StreamError(reason=reason):
                self._post(SummaryFailed(job, reason))

    def _done(self) -> None:
        text = "".join(self._pieces)[:MAX_SUMMARY_CHARS]
        self._post(SummaryDone(self.command.job, text, self.command.through))
