"""What the fake OpenAI server's connections share: its settings, counters and fault queue.

``FakeOpenAI`` (the public face) and the connection threads of ``exchange`` both hold the one
``ServerState``; neither reaches into the other.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import count
from typing import Any

from fsm_agent.testing.dialects import Dialect
from fsm_agent.testing.faults import Fault
from fsm_agent.testing.wire import Reply

FRAMINGS = ("chunked", "close")


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the server read.

    Attributes:
        method: ``GET`` or ``POST``.
        path: The request path, e.g. ``/v1/chat/completions``.
        headers: Header names in lower case to values (``headers["authorization"]``).
        body: The parsed JSON body (None when there was none or it was not JSON).

    """

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class ServerState:
    """The settings, counters, fault queue and live connections of one fake server.

    Counters change under one lock with a condition, so :meth:`wait_until` wakes as soon as a
    predicate on them may have become true. Settings (``reply``, ``token_delay``...) are read
    by each request as it is answered, so changing them between requests takes effect at once.

    Args:
        reply: See ``FakeOpenAI``.
        token_delay: Seconds to wait before each content chunk.
        chunk_chars: Smallest and largest number of characters per content chunk.
        seed: Seed of the chunk sizes.
        framing: ``"chunked"`` or ``"close"``.
        dialect: The server whose stream shapes are written (see ``dialects``).
        reasoning: The thinking streamed before the reply, as reasoning deltas (same forms as
            ``reply``; None or "" for none).
        think_delay: Seconds before each reasoning chunk.
        n_ctx: The model's context in tokens: a longer request is refused as the dialect's
            server refuses it (None: no limit).

    """

    def __init__(
        self,
        reply: Reply,
        token_delay: float,
        chunk_chars: tuple[int, int],
        seed: int,
        framing: str,
        dialect: str = "openai",
        reasoning: Reply = None,
        think_delay: float = 0.0,
        n_ctx: int | None = None,
    ) -> None:
        if framing not in FRAMINGS:
            raise ValueError(f"framing must be 'chunked' or 'close', not {framing!r}")
        self.reply = reply
        self.token_delay = token_delay
        self.chunk_chars = chunk_chars
        self.seed = seed
        self.framing = framing
        self.dialect = Dialect(dialect)
        self.reasoning = reasoning
        self.think_delay = think_delay
        self.n_ctx = n_ctx
        self.lock = threading.RLock()  # wait_until holds it while predicates read counters
        self.changed = threading.Condition(self.lock)
        self.stopping = threading.Event()
        self.faults: deque[Fault] = deque()
        self.requests: list[RecordedRequest] = []
        self.sockets: set[socket.socket] = set()
        self.threads: list[threading.Thread] = []
        self.connections_opened = 0
        self.active_streams = 0
        self.closed_early = 0
        self._ids = count(1)
        self._request_ids = count(1)

    def accepted(self, sock: socket.socket) -> None:
        """Count a new connection and remember its socket (to shut it down on stop)."""
        with self.lock:
            self.connections_opened += 1
            self.sockets.add(sock)
            self.changed.notify_all()

    def forget(self, sock: socket.socket) -> None:
        """The connection is closed."""
        with self.lock:
            self.sockets.discard(sock)

    def add_thread(self, thread: threading.Thread) -> None:
        """Keep a connection thread, to join it on stop; forget the finished ones."""
        with self.lock:
            self.threads[:] = [t for t in self.threads if t.is_alive()]
            self.threads.append(thread)

    def streaming(self, delta: int) -> None:
        """A stream began (+1) or ended (-1)."""
        with self.lock:
            self.active_streams += delta
            self.changed.notify_all()

    def client_left(self) -> None:
        """The client closed a response before its end (not the server stopping)."""
        if self.stopping.is_set():
            return
        with self.lock:
            self.closed_early += 1
            self.changed.notify_all()

    def record(self, request: RecordedRequest) -> Fault:
        """Keep the request; return the fault to apply to it (an empty one when none is queued).

        Faults are for chat completions: a ``GET /v1/models`` (a client warming its connection)
        neither takes one nor fails.
        """
        with self.lock:
            self.requests.append(request)
            self.changed.notify_all()
            if request.method != "POST" or not self.faults:
                return Fault()
            return self.faults.popleft()

    def push(self, fault: Fault) -> None:
        """Queue a fault for the next request."""
        with self.lock:
            self.faults.append(fault)

    def new_id(self) -> str:
        """A fresh completion id."""
        return f"chatcmpl-fake{next(self._ids)}"

    def new_request_id(self) -> str:
        """A fresh ``x-request-id``."""
        return f"req_fake{next(self._request_ids)}"

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate()`` is true; return whether it became true in time."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(min(left, 0.05))
        return True
