"""A raw loopback HTTP server for hostile-stream tests: each answer is bytes the test writes.

Unlike ``FakeOpenAI`` it never fixes anything up: a test hands it a function that gets the
parsed request and returns the raw response bytes (status line, headers and body, possibly with
no end), and the server writes exactly those, then closes the connection. Only a ``GET`` (the
client warming its connection with ``/v1/models``) gets a fixed small model list.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

Answer = Callable[[dict[str, Any]], Iterable[bytes]]
"""Given the request's JSON body, the bytes to write, piece by piece."""


def sse_response(events: Iterable[str | bytes], *, end: bytes = b"") -> bytes:
    """An HTTP/1.1 ``text/event-stream`` response delimited by the connection's close.

    Args:
        events: Each an event's raw bytes or text (written as given, so the test decides the
            line ends).
        end: Bytes after the events.

    """
    body = b"".join(e.encode() if isinstance(e, str) else e for e in events) + end
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
    return head + body


def chunk_event(content: str, finish: str | None = None, total: int | None = None) -> str:
    """One ``data:`` event of a chat.completion.chunk, JSON with raw (unescaped) characters."""
    obj: dict[str, Any] = {
        "id": "chatcmpl-raw",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "raw",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}],
    }
    if total is not None:
        obj["choices"] = []
        obj["usage"] = {"prompt_tokens": total, "completion_tokens": 0, "total_tokens": total}
    return "data: " + json.dumps(obj, ensure_ascii=False) + "\n\n"


class RawServer:
    """Serve each request on 127.0.0.1 with ``answer``; remember the request bodies.

    Args:
        answer: Returns the response bytes for a request body.

    """

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.bodies: list[dict[str, Any]] = []
        self.done = False  # an answer has ended (written out, or the client hung up)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def base_url(self) -> str:
        """The ``/v1`` URL to give the client."""
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/v1"

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._listener.close()
        self._thread.join(5)

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._exchange, args=(conn,), daemon=True).start()

    def _exchange(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                piece = conn.recv(65536)
                if not piece:
                    return
                data += piece
            head, _, body = data.partition(b"\r\n\r\n")
            if head.startswith(b"GET "):  # a client warming its connection: a model list
                models = b'{"object":"list","data":[{"id":"raw","object":"model"}]}'
                length_line = b"Content-Length: %d\r\n" % len(models)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nConnection: close\r\n" + length_line + b"\r\n" + models
                )
                return
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(body) < length:
                piece = conn.recv(65536)
                if not piece:
                    return
                body += piece
            request = json.loads(body) if body else {}
            self.bodies.append(request)
            try:
                for piece in self.answer(request):
                    if self._stopping.is_set():
                        return
                    conn.sendall(piece)
            except OSError:
                return
            finally:
                self.done = True
