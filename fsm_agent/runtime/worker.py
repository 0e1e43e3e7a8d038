"""One LLM generation on its own thread, cancellable from the loop thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from fsm_agent.core.backend import Backend, ContextOverflow, Messages, ReplyStream, Signal
from fsm_agent.core.events import Chunk, Event, Progress, StreamEnd, StreamError
from fsm_agent.runtime.logs import describe_error

log = logging.getLogger("fsm_agent.runtime.worker")


class Generation:
    """Runs one reply stream and posts its events; :meth:`cancel` closes it at once.

    A cancelled generation posts nothing more: its events would be dropped by id anyway, and the
    controller has already moved on.

    Args:
        gen: The generation id its events carry.
        backend: Where the reply comes from.
        messages: The request.
        post: Thread-safe sink for events.

    """

    def __init__(
        self, gen: int, backend: Backend, messages: Messages, post: Callable[[Event], None]
    ) -> None:
        self.gen = gen
        self._backend = backend
        self._messages = messages
        self._post = post
        self._lock = threading.Lock()
        self._stream: ReplyStream | None = None
        self._cancelled = False
        self.thread = threading.Thread(target=self._run, name=f"llm-{gen}", daemon=True)

    def start(self) -> None:
        """Start the request on its thread."""
        self.thread.start()

    def cancel(self) -> None:
        """Stop the generation and close its HTTP response, from any thread."""
        with self._lock:
            self._cancelled = True
            stream = self._stream
        if stream is not None:
            try:
                stream.close()
            except Exception as exc:  # closing must never take the loop down
                log.debug("closing generation %d: %s", self.gen, describe_error(exc))

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._cancelled

    def _run(self) -> None:
        try:
            stream = self._backend.open(self._messages)
            with self._lock:
                self._stream = stream
                cancelled = self._cancelled
            if cancelled:
                stream.close()
                return
            for piece in stream:
                if self._cancelled:
                    return
                if isinstance(piece, Signal):
                    stage = "accepted" if piece is Signal.ACCEPTED else "thinking"
                    self._post(Progress(self.gen, stage))
                else:
                    self._post(Chunk(self.gen, piece))
            if not self._cancelled:
                self._post(StreamEnd(self.gen, stream.total_tokens))
        except Exception as exc:
            if not self._cancelled:
                overflow = None
                if isinstance(exc, ContextOverflow):
                    overflow = (exc.prompt_tokens, exc.context_tokens)
                self._post(StreamError(self.gen, describe_error(exc), overflow))
            else:
                log.debug("generation %d ended after cancel: %s", self.gen, describe_error(exc))
