"""A fake OpenAI-compatible chat-completions server on loopback, for tests and benchmarks.

It speaks the real wire format (HTTP/1.1 with keep-alive, ``text/event-stream`` bodies in chunked
transfer encoding, ``chat.completion.chunk`` objects, ``data: [DONE]``), so the real ``openai``
client can be pointed at it with ``base_url=server.base_url``. One-shot faults (HTTP errors, a
server that never answers, a stream cut or broken midway, an endless stream) are queued with
``push``. Standard library only.

Run ``python -m fsm_agent.testing.fake_openai --port 0 --token-delay 0.02`` to try a client
against it by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from fsm_agent.testing.exchange import Server
from fsm_agent.testing.faults import Fault, make_fault
from fsm_agent.testing.state import RecordedRequest, ServerState
from fsm_agent.testing.wire import Reply

__all__ = ["FakeOpenAI", "RecordedRequest", "connection_refused_url"]


class FakeOpenAI:
    """A loopback chat-completions server with scriptable replies and faults.

    Args:
        reply: The reply text: a fixed string, a dict from the last user text to a reply (others
            get the default), a callable ``(messages) -> str``, or None for the default
            ``"You said: <text>. That is interesting! Tell me more?"``.
        token_delay: Seconds to wait before each content chunk.
        chunk_chars: Smallest and largest number of characters per content chunk.
        seed: Seed of the chunk sizes; the same text is always cut the same way.
        port: Port to listen on; 0 picks a free one.
        framing: ``"chunked"`` (as OpenAI does) or ``"close"``: no length and no chunking, the
            end of a streamed body is the connection closing (some proxies and small servers).
        dialect: Whose stream to write: ``openai``, ``llama-server``, ``llama-cpp-python``,
            ``litellm`` or ``vllm``, each as captured on the wire (``testing.dialects``).
        reasoning: Thinking streamed as reasoning deltas before the reply (same forms as
            ``reply``); None for none.
        think_delay: Seconds before each reasoning chunk (a model thinking for a while).
        n_ctx: The model's context in tokens; a longer request gets the dialect's HTTP 400.

    Example:
        >>> with FakeOpenAI(token_delay=0.01) as server:  # doctest: +SKIP
        ...     client = OpenAI(api_key="sk-test", base_url=server.base_url, max_retries=0)
        ...     server.push(429, retry_after=1)

    """

    def __init__(
        self,
        reply: Reply = None,
        token_delay: float = 0.0,
        chunk_chars: tuple[int, int] = (1, 4),
        seed: int = 0,
        *,
        port: int = 0,
        framing: str = "chunked",
        dialect: str = "openai",
        reasoning: Reply = None,
        think_delay: float = 0.0,
        n_ctx: int | None = None,
    ) -> None:
        self.state = ServerState(
            reply, token_delay, chunk_chars, seed, framing, dialect, reasoning, think_delay, n_ctx
        )
        self._port_wanted = port
        self._server: Server | None = None
        self._serve_thread: threading.Thread | None = None

    # ----------------------------------------------------------------- settings

    @property
    def reply(self) -> Reply:
        """The reply text source (see the class); may be changed between requests."""
        return self.state.reply

    @reply.setter
    def reply(self, value: Reply) -> None:
        self.state.reply = value

    @property
    def token_delay(self) -> float:
        """Seconds before each content chunk; may be changed between requests."""
        return self.state.token_delay

    @token_delay.setter
    def token_delay(self, value: float) -> None:
        self.state.token_delay = value

    @property
    def chunk_chars(self) -> tuple[int, int]:
        """Smallest and largest number of characters per content chunk."""
        return self.state.chunk_chars

    @property
    def seed(self) -> int:
        """Seed of the chunk sizes."""
        return self.state.seed

    @property
    def framing(self) -> str:
        """``"chunked"`` or ``"close"``."""
        return self.state.framing

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> FakeOpenAI:
        """Bind the port and serve on a background thread.

        Returns:
            The server itself.

        Raises:
            RuntimeError: When already started.

        """
        if self._server is not None:
            raise RuntimeError("FakeOpenAI already started")
        self.state.stopping.clear()
        self._server = Server(self.state, self._port_wanted)
        self._serve_thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-openai",
            daemon=True,
        )
        self._serve_thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and drop every connection, even ones waiting or streaming forever.

        Args:
            timeout: Longest wait for the connection threads to end.

        """
        server = self._server
        if server is None:
            return
        state = self.state
        state.stopping.set()
        server.shutdown()
        with state.lock:
            sockets = list(state.sockets)
            threads = list(state.threads)
            state.changed.notify_all()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        server.server_close()
        deadline = time.monotonic() + timeout
        for thread in [self._serve_thread, *threads]:
            if thread is not None:
                thread.join(max(0.0, deadline - time.monotonic()))
        self._server = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- public state

    @property
    def port(self) -> int:
        """The port listened on (only while started)."""
        if self._server is None:
            raise RuntimeError("FakeOpenAI not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, for ``OpenAI(base_url=...)``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The chat-completion requests read so far (``requests`` without warm-ups), in order."""
        with self.state.lock:
            return [r for r in self.state.requests if r.method == "POST"]

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the requests read so far, oldest first."""
        with self.state.lock:
            return list(self.state.requests)

    @property
    def connections_opened(self) -> int:
        """How many TCP connections the server has accepted."""
        return self.state.connections_opened

    @property
    def active_streams(self) -> int:
        """How many responses are being streamed right now."""
        return self.state.active_streams

    @property
    def closed_early(self) -> int:
        """How many responses the client closed before their end.

        Seen when a write of a stream failed, or while a ``no_answer`` request waited.
        """
        return self.state.closed_early

    def push(self, fault: Fault | int | str | None = None, **changes: Any) -> Fault:
        """Queue a one-shot fault for the next request (first in, first out).

        Args:
            fault: A ``Fault``, an HTTP status (``503``) or a flag name (``"no_answer"``,
                ``"endless"``, ``"echo_key_in_error"``).
            **changes: Fault fields, e.g. ``cut_after=10``, ``retry_after=2``, ``delay_first=1``.

        Returns:
            The fault queued.

        """
        made = make_fault(fault, **changes)
        self.state.push(made)
        return made

    def clear_faults(self) -> int:
        """Drop every fault still queued; return how many there were."""
        with self.state.lock:
            dropped = len(self.state.faults)
            self.state.faults.clear()
        return dropped

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Wait until ``predicate()`` is true; the server's counters change under a condition.

        Returns:
            Whether the predicate became true before ``timeout`` seconds.

        """
        return self.state.wait_until(predicate, timeout)


def connection_refused_url() -> str:
    """Return a base URL on a loopback port where nothing listens (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted, printing the base URL first.

    Args:
        argv: Command-line arguments (``sys.argv[1:]`` when None).

    Returns:
        The exit code.

    """
    parser = argparse.ArgumentParser(
        prog="python -m fsm_agent.testing.fake_openai",
        description="A fake OpenAI-compatible chat-completions server on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    parser.add_argument("--token-delay", type=float, default=0.0, help="seconds per chunk")
    parser.add_argument("--reply", default=None, help="fixed reply text (default: an echo)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the chunk sizes")
    args = parser.parse_args(argv)
    server = FakeOpenAI(args.reply, token_delay=args.token_delay, seed=args.seed, port=args.port)
    server.start()
    print(server.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
