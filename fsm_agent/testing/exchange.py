"""The HTTP side of the fake OpenAI server: one request read, one response (or fault) written.

``Server`` accepts connections and counts them in the server's ``ServerState`` (which also holds
the settings and the fault queue);
``Handler`` keeps each connection alive across requests (HTTP/1.1); ``Exchange`` answers one
request with a whole completion, a stream of server-sent events, an error or a fault.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fsm_agent.testing import wire
from fsm_agent.testing.faults import Fault
from fsm_agent.testing.state import RecordedRequest, ServerState

DISCONNECTED = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)
"""What a write raises when the client has gone (ConnectionAbortedError is Windows' variant)."""


class _Cut(Exception):
    """The response must stop here (a fault, the client gone, or the server stopping)."""


class Server(ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1 that reports connections to its ``ServerState``."""

    daemon_threads = True
    block_on_close = False  # FakeOpenAI.stop joins the threads itself, with a time limit

    def __init__(self, state: ServerState, port: int) -> None:
        self.state = state
        super().__init__(("127.0.0.1", port), Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Count the connection and serve it on a thread of its own."""
        # Headers, body and each event go out as separate writes: without NODELAY, Nagle and the
        # client's delayed ACK add about 40 ms to many of them, which would skew benchmarks.
        with contextlib.suppress(OSError):
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.state.accepted(request)
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="fake-openai-conn",
            daemon=True,
        )
        self.state.add_thread(thread)
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        """Forget the connection, then close it."""
        self.state.forget(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Print unexpected errors only."""
        # A client dropping an idle keep-alive connection is normal, not worth a traceback.
        if self.state.stopping.is_set() or isinstance(sys.exc_info()[1], DISCONNECTED):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    """Reads requests on one connection, keeping it alive between them."""

    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: request lines and headers must never reach a log (they carry the key)."""

    def do_POST(self) -> None:
        """Serve ``/v1/chat/completions``."""
        Exchange(self.server.state, self).run()

    def do_GET(self) -> None:
        """Serve ``/v1/models``."""
        Exchange(self.server.state, self).run()


class Exchange:
    """One request and its answer.

    Args:
        state: The server's settings, counters and fault queue.
        h: The request handler (its headers are read, the body not yet).

    """

    def __init__(self, state: ServerState, h: Handler) -> None:
        self.state = state
        self.h = h
        self.chunked = state.framing == "chunked"

    def run(self) -> None:
        """Read the body, record the request, answer it (or misbehave as the next fault says)."""
        h = self.h
        body = self._read_body()
        headers = {k.lower(): v for k, v in h.headers.items()}
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = None
        fault = self.state.record(RecordedRequest(h.command, h.path, headers, parsed))
        path = h.path.split("?", 1)[0].rstrip("/")
        if fault.no_answer:
            self._wait_for_hangup()
            h.close_connection = True
            return
        if h.command == "GET" and path == "/v1/models":
            models = [{"id": "fake-model", "object": "model", "created": 0, "owned_by": "fake"}]
            self._send_json(200, {"object": "list", "data": models})
            return
        if h.command != "POST" or path != "/v1/chat/completions":
            self._send_json(404, wire.error_body(404, f"Unknown path {h.path} (fake)."))
            return
        if not isinstance(parsed, dict) or not isinstance(parsed.get("messages"), list):
            self._send_json(400, wire.error_body(400, "Body must be JSON with 'messages'."))
            return
        if fault.echo_key_in_error:
            key = headers.get("authorization", "").removeprefix("Bearer ").strip()
            self._send_json(401, wire.error_body(401, f"Incorrect API key provided: {key}."))
            return
        if fault.status is not None:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            self._send_json(fault.status, wire.error_body(fault.status, fault.message), extra)
            return
        try:
            if parsed.get("stream") is True:
                self._stream(parsed, fault)
            else:
                self._whole(parsed, fault)
        except _Cut:
            h.close_connection = True

    def _read_body(self) -> bytes:
        rfile, headers = self.h.rfile, self.h.headers
        if headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(rfile.read(size))
                rfile.readline()
        length = int(headers.get("Content-Length") or 0)
        return rfile.read(length) if length > 0 else b""

    def _send_json(self, status: int, obj: Any, extra: dict[str, str] | None = None) -> None:
        h = self.h
        data = json.dumps(obj).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("x-request-id", self.state.new_request_id())
        for name, value in (extra or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)

    def _whole(self, req: dict[str, Any], fault: Fault) -> None:
        """Answer a non-streaming request (faults map to a broken or endless body)."""
        h = self.h
        self._sleep(fault.delay_first)
        messages = req["messages"]
        text = wire.reply_text(self.state.reply, messages)
        use = wire.usage(wire.prompt_tokens(messages), wire.count_tokens(text))
        obj = wire.completion(self.state.new_id(), int(time.time()), _model_of(req), text, use)
        data = json.dumps(obj).encode()
        if fault.malformed_after is not None:
            data = b"{not json"
        elif fault.error_event_after is not None:
            data = json.dumps(wire.error_body(500, fault.message)).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("x-request-id", self.state.new_request_id())
        if fault.endless:  # a body that never ends
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            self.state.stopping.wait()
            raise _Cut
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if fault.cut_after is not None:
            h.wfile.write(data[: max(0, min(fault.cut_after, len(data) - 1))])
            self._abort()
        h.wfile.write(data)

    def _stream(self, req: dict[str, Any], fault: Fault) -> None:
        """Answer a streaming request with server-sent events."""
        h = self.h
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream; charset=utf-8")
        h.send_header("Cache-Control", "no-cache")
        h.send_header("x-request-id", self.state.new_request_id())
        if self.chunked:
            h.send_header("Transfer-Encoding", "chunked")
        else:
            h.send_header("Connection", "close")
            h.close_connection = True
        h.end_headers()
        self.state.streaming(+1)
        try:
            self._events(req, fault)
        finally:
            self.state.streaming(-1)

    def _events(self, req: dict[str, Any], fault: Fault) -> None:
        messages = req["messages"]
        text = wire.reply_text(self.state.reply, messages)
        options = req.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        ident, created, model = self.state.new_id(), int(time.time()), _model_of(req)

        def send(obj: Any) -> None:
            payload = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)
            self._write(f"data: {payload}\n\n".encode())

        def chunk_of(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return wire.chunk(ident, created, model, delta, finish, include_usage)

        self._sleep(fault.delay_first)
        limit = fault.content_limit()
        pieces = wire.split_chunks(text, self.state.chunk_chars, self.state.seed)
        if limit != 0:
            send(chunk_of({"role": "assistant", "content": ""}))
        for piece in self._pieces(pieces, limit, fault.endless):
            self._sleep(self.state.token_delay)
            send(chunk_of({"content": piece}))
        if fault.cut_after is not None:
            self._abort()
        if fault.malformed_after is not None:
            send("{not json")
        elif fault.error_event_after is not None:
            send(wire.error_body(500, fault.message or "The server had an error (fake)."))
        else:
            send(chunk_of({}, "stop"))
            if include_usage:
                use = wire.usage(wire.prompt_tokens(messages), len(pieces))
                send(wire.usage_chunk(ident, created, model, use))
            if not fault.omit_done:
                send("[DONE]")
        if self.chunked:
            self._write(b"0\r\n\r\n", frame=False)

    def _pieces(self, pieces: list[str], limit: int | None, endless: bool) -> Iterator[str]:
        if not endless:
            yield from wire.limit_chunks(pieces, limit)
            return
        while True:
            for piece in pieces or [" "]:
                # Never spin: without a token delay an endless stream would eat a whole core.
                if self.state.token_delay <= 0:
                    self._sleep(0.002)
                yield piece

    def _write(self, data: bytes, frame: bool = True) -> None:
        if self.state.stopping.is_set():
            raise _Cut
        if self.chunked and frame:
            data = b"%x\r\n%s\r\n" % (len(data), data)
        try:
            self.h.wfile.write(data)
        except DISCONNECTED:
            self.state.client_left()
            raise _Cut from None
        except OSError:
            raise _Cut from None

    def _wait_for_hangup(self) -> None:
        """Send nothing; return when the client closes the connection or the server stops."""
        sock = self.h.connection
        while not self.state.stopping.is_set():
            readable, _, _ = select.select([sock], [], [], 0.05)  # sockets: fine on Windows too
            if not readable:
                continue
            try:
                data = sock.recv(1, socket.MSG_PEEK)
            except OSError:
                data = b""
            if not data:
                self.state.client_left()  # unless it is our own shutdown of the socket
                return
            time.sleep(0.05)  # a byte of a next request we will not answer: keep waiting

    def _abort(self) -> None:
        """Close the socket now, mid-body, as a crashed server or a dropped proxy does."""
        self.h.close_connection = True
        with contextlib.suppress(OSError):
            self.h.connection.shutdown(socket.SHUT_RDWR)
        raise _Cut

    def _sleep(self, seconds: float) -> None:
        if seconds > 0 and self.state.stopping.wait(seconds):
            raise _Cut


def _model_of(req: dict[str, Any]) -> str:
    model = req.get("model")
    return model if isinstance(model, str) and model else "fake-model"
