"""One LLM generation on its own thread, cancellable from the loop thread.

A reply can come in one huge piece (a 5 MB server-sent event, a whole ``--no-stream`` reply).
The controller works through a piece in one go, about 1.5 ms per thousand characters
(``benchmarks/huge_chunk.py``), and while it does, host events wait: a barge-in behind a 5 MB
piece would wait 8 s. So a piece is handed over in slices of at most :data:`MAX_CHUNK_CHARS`
characters, and no more than that many characters are ever waiting in the loop's queue: a host
event is then answered after at most one slice's work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from fsm_agent.core.backend import Backend, ContextOverflow, Messages, ReplyStream, Signal
from fsm_agent.core.events import Chunk, Event, Progress, StreamEnd, StreamError
from fsm_agent.runtime.logs import describe_error

log = logging.getLogger("fsm_agent.runtime.worker")

MAX_CHUNK_CHARS = 1024
"""The most characters handed to the loop at once, and the most waiting in its queue."""


def slices(piece: str) -> list[str]:
    """Cut a reply piece into the slices the loop is given (at most :data:`MAX_CHUNK_CHARS`)."""
    return [piece[i : i + MAX_CHUNK_CHARS] for i in range(0, len(piece), MAX_CHUNK_CHARS)]


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
        self._taken = threading.Condition(self._lock)
        self._waiting_chars = 0  # posted, not yet taken by the loop
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
            self._taken.notify_all()
        if stream is not None:
            try:
                stream.close()
            except Exception as exc:  # closing must never take the loop down
                log.debug("closing generation %d: %s", self.gen, describe_error(exc))

    def taken(self, chunk: Chunk) -> None:
        """The loop has handled ``chunk`` of this generation: room for more (loop thread)."""
        with self._lock:
            self._waiting_chars = max(0, self._waiting_chars - len(chunk.text))
            self._taken.notify_all()

    def _hand_over(self, piece: str) -> bool:
        """Post ``piece`` in slices, each once there is room in the loop's queue.

        Returns:
            False when the generation was cancelled meanwhile.

        """
        for part in slices(piece):
            with self._lock:
                while not self._room_for(len(part)):
                    self._taken.wait()
                if self._cancelled:
                    return False
                self._waiting_chars += len(part)
            self._post(Chunk(self.gen, part))
        return True

    def _room_for(self, size: int) -> bool:
        waiting = self._waiting_chars
        return self._cancelled or waiting == 0 or waiting + size <= MAX_CHUNK_CHARS

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
                if isinstance(piece, Signal):  # the server is working: no text to slice
                    stage = "accepted" if piece is Signal.ACCEPTED else "thinking"
                    self._post(Progress(self.gen, stage))
                elif not self._hand_over(piece):
                    return
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
