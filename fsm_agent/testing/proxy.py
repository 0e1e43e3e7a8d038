"""A loopback HTTP proxy for tests: proves that a client went through it, and where to.

Every request is sent on to one fixed upstream (a ``FakeOpenAI``, say), whatever host the client
asked for, so a test can name a host that does not exist and still get answers:

- Plain HTTP (what ``HTTP_PROXY`` is for): requests arrive in absolute form
  (``POST http://host/v1/chat/completions``); each request line is rewritten to origin form and
  passed on, over a kept-alive connection.
- ``CONNECT host:443`` (what ``HTTPS_PROXY`` is for): answered ``200``; with ``tls`` set, the
  proxy then plays the TLS server for that host with the given certificate and passes the
  plaintext on; without it, the bytes are tunnelled as they are.
- :class:`LoopbackSocks5` speaks SOCKS5 instead (``ALL_PROXY=socks5h://...``), without
  authentication, and tunnels each connection the same way.

:attr:`LoopbackProxy.seen` keeps each request line (``CONNECT fake-openai.test:443``,
``POST http://127.0.0.1:8080/v1/chat/completions``). Standard library only; one thread per
connection, ``select`` on sockets only, so it runs on Windows too.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
from urllib.parse import urlsplit

__all__ = ["LoopbackProxy", "LoopbackSocks5"]

_HEAD_END = b"\r\n\r\n"


class LoopbackProxy:
    """An HTTP proxy on 127.0.0.1 that sends everything to ``upstream``.

    Args:
        upstream: ``(host, port)`` every request goes to.
        tls: Server-side TLS context for ``CONNECT`` tunnels (None: tunnel the bytes as they are).

    Example:
        >>> with FakeOpenAI() as server, LoopbackProxy(("127.0.0.1", server.port)) as proxy:
        ...     os.environ["HTTP_PROXY"] = proxy.url  # doctest: +SKIP

    """

    def __init__(self, upstream: tuple[str, int], tls: ssl.SSLContext | None = None) -> None:
        self.upstream = upstream
        self.tls = tls
        self.seen: list[str] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="proxy", daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, for ``HTTP_PROXY``/``HTTPS_PROXY``."""
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def start(self) -> LoopbackProxy:
        """Start accepting connections.

        Returns:
            The proxy itself.

        """
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting; connections still open end when their client closes them."""
        self._closing.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        self._thread.join(5)

    def __enter__(self) -> LoopbackProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- connections ------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            head, rest = _read_head(client)
            if head is None:
                return
            method, target, _version = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            with self._lock:
                self.seen.append(f"{method} {target}")
            upstream = socket.create_connection(self.upstream)
            if method == "CONNECT":
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if self.tls is not None:
                    client = self.tls.wrap_socket(client, server_side=True)
                _relay(client, upstream, rest, None)
            else:
                rewriter = _Rewriter(self)
                upstream.sendall(rewriter.feed(head + rest))
                _relay(client, upstream, b"", rewriter)
        except (OSError, ValueError, ssl.SSLError):
            pass  # a client that went away, or spoke no HTTP: nothing to prove then
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()


class LoopbackSocks5(LoopbackProxy):
    """A SOCKS5 proxy (no authentication, CONNECT only) that sends everything to ``upstream``.

    :attr:`seen` keeps ``CONNECT host:port`` for each connection; with ``socks5h`` the host is
    the name the client asked for, unresolved.
    """

    @property
    def url(self) -> str:
        """``socks5h://127.0.0.1:PORT``, for ``ALL_PROXY``."""
        return f"socks5h://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            version, methods = _read_exactly(client, 2)
            _read_exactly(client, methods)
            client.sendall(b"\x05\x00")  # SOCKS5, no authentication
            _version, command, _reserved, kind = _read_exactly(client, 4)
            if version != 5 or command != 1:
                return
            if kind == 3:
                host = _read_exactly(client, _read_exactly(client, 1)[0]).decode("idna")
            elif kind == 1:
                host = socket.inet_ntoa(_read_exactly(client, 4))
            else:
                host = socket.inet_ntop(socket.AF_INET6, _read_exactly(client, 16))
            port = int.from_bytes(_read_exactly(client, 2), "big")
            with self._lock:
                self.seen.append(f"CONNECT {host}:{port}")
            upstream = socket.create_connection(self.upstream)
            client.sendall(b"\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00")
            if self.tls is not None:
                client = self.tls.wrap_socket(client, server_side=True)
            _relay(client, upstream, b"", None)
        except (OSError, ValueError, ssl.SSLError):
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ValueError("the client closed the connection")
        data += chunk
    return data


def _read_head(sock: socket.socket) -> tuple[bytes | None, bytes]:
    data = b""
    while _HEAD_END not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
    end = data.index(_HEAD_END) + len(_HEAD_END)
    return data[:end], data[end:]


class _Rewriter:
    """Turns the client's absolute-form requests into origin-form ones, request by request."""

    def __init__(self, proxy: LoopbackProxy) -> None:
        self._proxy = proxy
        self._buffer = b""
        self._body_left = 0
        self._first = True

    def feed(self, data: bytes) -> bytes:
        self._buffer += data
        out = b""
        while self._buffer:
            if self._body_left:
                taken = self._buffer[: self._body_left]
                self._buffer = self._buffer[len(taken) :]
                self._body_left -= len(taken)
                out += taken
                continue
            if _HEAD_END not in self._buffer:
                break
            end = self._buffer.index(_HEAD_END) + len(_HEAD_END)
            head, self._buffer = self._buffer[:end], self._buffer[end:]
            out += self._rewrite(head)
        return out

    def _rewrite(self, head: bytes) -> bytes:
        line, _, fields = head.partition(b"\r\n")
        method, target, version = line.decode("latin-1").split(" ", 2)
        if not self._first:
            with self._proxy._lock:
                self._proxy.seen.append(f"{method} {target}")
        self._first = False
        parts = urlsplit(target)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        for field in fields.split(b"\r\n"):
            name, _, value = field.partition(b":")
            if name.strip().lower() == b"content-length":
                self._body_left = int(value.strip() or b"0")
        return f"{method} {path} {version}\r\n".encode("latin-1") + fields


def _relay(
    client: socket.socket, upstream: socket.socket, first: bytes, rewriter: _Rewriter | None
) -> None:
    """Pass bytes both ways until either side closes (one thread; TLS-safe)."""
    if first:
        upstream.sendall(rewriter.feed(first) if rewriter else first)
    while True:
        pending = isinstance(client, ssl.SSLSocket) and client.pending() > 0
        ready = [client] if pending else select.select([client, upstream], [], [], 30)[0]
        if not ready:
            return  # idle for 30 s: the test is long over
        if client in ready:
            data = client.recv(65536)
            if not data:
                return
            upstream.sendall(rewriter.feed(data) if rewriter else data)
        if upstream in ready:
            data = upstream.recv(65536)
            if not data:
                return
            client.sendall(data)
