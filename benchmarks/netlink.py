"""The far end of a network for benchmarks/network.py: a TLS fake OpenAI server behind a relay.

- :class:`TlsFakeServer`: an OpenAI-compatible chat-completions server over TLS (HTTP/1.1,
  keep-alive, chunked ``text/event-stream`` with ``chat.completion.chunk`` objects as
  ``fsm_agent.testing.wire`` makes them, a usage chunk when asked for, ``data: [DONE]``), that
  waits a time to first token and then sends one token every interval, and stamps the moment
  each token is written. ``GET /v1/models`` answers a model list.
- :class:`Relay`: a user-space TCP relay in front of it that delays every byte by half the
  round-trip time each way, and holds what a new connection sends for one more round trip, as
  the TCP handshake does on a real link (a connect on loopback returns at once). TLS runs
  through it end to end, so its handshake pays its own round trip too. It counts connections.
- :func:`make_certificate`: a throwaway self-signed certificate for 127.0.0.1 (openssl).

Standard library only; threads, one per connection and direction.
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

from fsm_agent.testing import wire

_TOKEN = re.compile(r"\s*[\w']+|\s*[^\w\s]")


def tokens_of(text: str) -> list[str]:
    """Cut a reply into token-like pieces: a word with its leading space, or one mark."""
    return _TOKEN.findall(text)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1; return (certificate, key)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert),
         "-addext", "subjectAltName=IP:127.0.0.1",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,digitalSignature,keyCertSign"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


class _Listener:
    """A loopback listener that hands each accepted connection to ``_accepted``."""

    def _listen(self) -> None:
        """Start listening (call once the subclass's own fields are set)."""
        self._listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def port(self) -> int:
        """The listening port."""
        return self._listener.getsockname()[1]

    def close(self) -> None:
        """Stop listening."""
        self._listener.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._accepted(conn)

    def _accepted(self, conn: socket.socket) -> None:
        raise NotImplementedError


class TlsFakeServer(_Listener):
    """Chat completions over TLS with a time to first token and a token interval.

    Args:
        reply: The text of every reply.
        cert: Certificate and key files.
        ttft: Seconds from the request read to the first token written.
        interval: Seconds between two tokens.
        idle: Close a connection idle this many seconds (uvicorn, under vLLM and LiteLLM,
            closes after 5); 0 keeps it.

    Attributes:
        writes: For each streamed request, in order, the ``perf_counter`` time each token was
            written, with the token.

    """

    def __init__(
        self, reply: str, cert: tuple[Path, Path], ttft: float, interval: float, idle: float = 0
    ) -> None:
        self.reply = reply
        self.idle = idle
        self.ttft = ttft
        self.interval = interval
        self.writes: list[list[tuple[float, str]]] = []
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.load_cert_chain(*cert)
        self._lock = threading.Lock()
        self._listen()

    def _accepted(self, conn: socket.socket) -> None:
        threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, raw: socket.socket) -> None:
        try:
            conn = self._tls.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        with conn:
            reader = conn.makefile("rb")
            try:
                while self._exchange(conn, reader):
                    pass
            except (OSError, ssl.SSLError, ValueError):
                return

    def _exchange(self, conn: ssl.SSLSocket, reader: object) -> bool:
        head = b""
        conn.settimeout(self.idle or None)  # a timeout while idle closes the connection
        while not head.endswith(b"\r\n\r\n"):
            line = reader.readline()  # type: ignore[attr-defined]
            if not line:
                return False
            head += line
        conn.settimeout(None)
        lines = head.decode("latin-1").split("\r\n")
        method, path = lines[0].split(" ")[:2]
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        body = reader.read(length) if length else b""  # type: ignore[attr-defined]
        if method == "GET":
            data = json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]})
            payload = data.encode()
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
            )
            return True
        request = json.loads(body)
        self._stream(conn, request, path)
        return True

    def _stream(self, conn: ssl.SSLSocket, request: dict[str, object], path: str) -> None:
        read_at = time.perf_counter()
        stamps: list[tuple[float, str]] = []
        with self._lock:
            self.writes.append(stamps)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
            b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        model = str(request.get("model") or "fake")
        created = int(time.time())

        def send(obj: object) -> None:
            data = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)
            event = f"data: {data}\n\n".encode()
            conn.sendall(b"%x\r\n%s\r\n" % (len(event), event))

        send(wire.chunk("chatcmpl-bench", created, model, {"role": "assistant", "content": ""}))
        pieces = tokens_of(self.reply)
        for i, piece in enumerate(pieces):
            due = read_at + self.ttft + i * self.interval
            while (left := due - time.perf_counter()) > 0:
                time.sleep(left)
            send(wire.chunk("chatcmpl-bench", created, model, {"content": piece}))
            stamps.append((time.perf_counter(), piece))
        send(wire.chunk("chatcmpl-bench", created, model, {}, "stop"))
        options = request.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage") is True:
            use = wire.usage(20, len(pieces))
            send(wire.usage_chunk("chatcmpl-bench", created, model, use))
        send("[DONE]")
        conn.sendall(b"0\r\n\r\n")


class Relay(_Listener):
    """Forward TCP to ``upstream`` with half a round trip of delay each way.

    A new connection's first bytes also wait one round trip, the TCP handshake a real link
    would have made the client wait for before it could send them.

    Args:
        upstream: The port on 127.0.0.1 to forward to.
        rtt: The round-trip time in seconds.

    """

    def __init__(self, upstream: int, rtt: float) -> None:
        self.upstream = upstream
        self.rtt = rtt
        self.connections = 0
        self._listen()

    def _accepted(self, client: socket.socket) -> None:
        accepted = time.perf_counter()
        self.connections += 1
        server = socket.create_connection(("127.0.0.1", self.upstream))
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        half = self.rtt / 2
        self._pipe(client, server, half, accepted + self.rtt)
        self._pipe(server, client, half, 0.0)

    def _pipe(
        self, src: socket.socket, dst: socket.socket, delay: float, not_before: float
    ) -> None:
        items: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()

        def read() -> None:
            while True:
                try:
                    data = src.recv(65536)
                except OSError:
                    data = b""
                items.put((max(time.perf_counter(), not_before) + delay, data))
                if not data:
                    return

        def write() -> None:
            while True:
                due, data = items.get()
                while (left := due - time.perf_counter()) > 0:
                    time.sleep(left)
                if not data:
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)
                    return
                try:
                    dst.sendall(data)
                except OSError:
                    return

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=write, daemon=True).start()
