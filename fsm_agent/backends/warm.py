"""Keep a connection to the LLM server ready for the moment the user stops talking.

A new connection costs the TCP handshake and the TLS handshake, two round trips, before the
request can even be sent. The client's pool keeps an idle connection only ``keepalive``
seconds (httpx's own default is 5, shorter than the pause between two turns), and servers
close idle ones too (llama.cpp after every streamed reply, uvicorn-based ones after 5 s).

:class:`ConnectionWarmer` sends ``GET {base_url}/models`` -- free on every OpenAI-compatible
server, nothing is generated or billed -- when a connection is worth having ready: at start-up,
when the user starts to speak (``RECOG_EVENT_START`` comes seconds before the utterance), and
when a reply ended and the server closed its connection. The request opens a connection, or
re-checks the pooled one and keeps it from idling out on the server's side.

No storm, never in the way: one warm-up at a time, at most one a second, none while a reply is
streaming (its connection is busy; a warm-up would open a second one), and no retries. A request
that starts while a warm-up is under way waits for it, at most ``JOIN_WAIT`` seconds and not at
all once it has failed, so that both use one connection: on a healthy server that costs at most
the warm-up's own round trip; a server that refuses connections fails the warm-up at once; and
for one that does not answer at all, the turn's stream deadline runs from the utterance as
before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

log = logging.getLogger("fsm_agent.openai.warm")

MIN_GAP = 1.0
"""Seconds between the starts of two warm-ups."""

TIMEOUT = 10.0
"""A warm-up that takes longer is given up (it only ever helps)."""

MAX_BODY = 1 << 20
"""Bytes of the model list read at most (OpenAI's own is some 10 KB)."""

JOIN_WAIT = 1.0
"""The longest a request waits for a warm-up under way, to share its connection."""

SETTLE = 0.1
"""Seconds after a reply ends before looking whether the server closed its connection."""


class ConnectionWarmer:
    """Warm-ups on the backend's loop; :meth:`request` may be called from any thread.

    Args:
        loop: The backend's event loop (the client's requests run there).
        client: The ``AsyncOpenAI`` client whose connection pool is kept warm.

    """

    def __init__(self, loop: asyncio.AbstractEventLoop, client: Any) -> None:
        self._loop = loop
        self._client = client.with_options(max_retries=0, timeout=TIMEOUT)  # the same pool
        self._task: asyncio.Task[None] | None = None
        self._last = -MIN_GAP
        self._streams = 0  # replies in flight
        self._wanted = False  # a warm-up was asked for while a reply was in flight
        self.sent = 0  # warm-ups sent (for tests and the log)
        self.closed = False  # the backend is shutting down: no new warm-up

    def request(self) -> None:
        """Ask for a warm-up (any thread); it is sent on the loop if the rules allow it."""
        with contextlib.suppress(RuntimeError):  # a closed loop: the backend is shutting down
            self._loop.call_soon_threadsafe(self._start)

    # ---- on the loop ------------------------------------------------------------------------

    async def join(self) -> None:
        """Wait for a warm-up under way (at most ``JOIN_WAIT``), so its connection is reused."""
        task = self._task
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=JOIN_WAIT)

    def stream_started(self) -> None:
        """A reply request is about to be sent."""
        self._streams += 1

    def stream_ended(self) -> None:
        """A reply request is over (complete, failed or cancelled)."""
        self._streams -= 1
        if self._streams == 0:
            self._loop.call_later(SETTLE, self._after_reply)

    def _after_reply(self) -> None:
        wanted, self._wanted = self._wanted, False
        if self._streams:
            return
        if wanted or idle_connection_ready(self._client) is False:
            self._start()

    def _start(self) -> None:
        if self.closed:
            return
        if self._streams:
            self._wanted = True
            return
        now = self._loop.time()
        if (self._task is not None and not self._task.done()) or now - self._last < MIN_GAP:
            return
        self._last = now
        self.sent += 1
        self._task = self._loop.create_task(self._warm())

    async def _warm(self) -> None:
        try:
            # Read to the end and drop, so the connection returns to the pool; a body that
            # is not a model list's few KB is cut off (the connection goes with it).
            manager = self._client.models.with_streaming_response.list()
            async with manager as response:
                read = 0
                async for chunk in response.iter_bytes():
                    read += len(chunk)
                    if read > MAX_BODY:
                        break
            log.debug("connection to the LLM server warm")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # only ever an optimisation: the request will say what is wrong
            log.debug("warming the connection to the LLM server: %s", type(exc).__name__)


def idle_connection_ready(client: Any) -> bool | None:
    """Whether the client's pool holds an idle, live connection to its base URL.

    Reads the pool of the transport the base URL goes through (httpx keeps it in private
    attributes, hence the guard): None when that cannot be seen.
    """
    try:
        transport = client._client._transport_for_url(client.base_url)
        connections = transport._pool.connections
        return any(c.is_idle() and not c.has_expired() for c in connections)
    except Exception:  # another HTTP library or version: do not guess
        return None
