"""The fake server's dialects against the real servers' captures (tests/data/server-wire).

Each captured stream is cut into its kinds of chunk (role, content, finish, usage); the fake's
stream in the same dialect must have chunks of the same shapes: the same keys at every level,
the same null, absent and empty values, and the same kinds present or missing (llama-cpp-python
sends no usage chunk). The text itself differs (the captures are word salad).
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

import pytest

from fsm_agent.backends.overflow import context_overflow
from fsm_agent.testing.dialects import Dialect
from fsm_agent.testing.fake_openai import FakeOpenAI

CAPTURES = Path(__file__).parent / "data" / "server-wire"
FILES = {
    "llama-server": "llama-server-stream.txt",
    "llama-cpp-python": "llama-cpp-python-stream.txt",
    "litellm": "litellm-mock-stream.txt",
    "vllm": "vllm-stream.txt",
}
_KEPT = ("role", "finish_reason", "object")  # values that are part of the shape


def _events(body: str) -> list[Any]:
    """The events' data; the captures were shortened in the middle ("[... middle cut ...]"),
    so a line cut there is left out."""
    out: list[Any] = []
    for line in body.splitlines():
        if line.startswith("data:"):
            data = line[5:].strip()
            try:
                out.append(data if data == "[DONE]" else json.loads(data))
            except ValueError:
                assert "middle cut" in body, line
    return out


def _shape(value: Any, key: str = "") -> Any:
    """Keys, types and nulls; text becomes "text", or "" when empty; numbers become "number"."""
    if isinstance(value, dict):
        return tuple(sorted((k, _shape(v, k)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_shape(v) for v in value)
    if key in _KEPT or value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return "" if value == "" else "text"
    return "number"


def _kind(event: Any) -> str:
    if event == "[DONE]":
        return "done"
    if event.get("usage"):
        return "usage"
    choice = (event.get("choices") or [{}])[0]
    if "role" in choice.get("delta", {}):
        return "role"
    return "finish" if choice.get("finish_reason") else "content"


def _shapes(events: list[Any]) -> dict[str, set[Any]]:
    out: dict[str, set[Any]] = {}
    for event in events:
        shape = "[DONE]" if event == "[DONE]" else _shape(event)
        out.setdefault(_kind(event), set()).add(shape)
    return out


def _fake_stream(dialect: str) -> tuple[str, dict[str, str], bool]:
    """One streamed answer of the fake: its body, its headers, whether it closed the socket."""
    with FakeOpenAI("Once upon a time, a cat.", dialect=dialect, chunk_chars=(3, 3)) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        body = {
            "model": "wordsalad",
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        conn.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "x"})
        response = conn.getresponse()
        text = response.read().decode()
        headers = {k.lower(): v for k, v in response.getheaders()}
        closed = False
        if dialect == "llama-server":  # a keep-alive server would leave recv waiting
            closed = conn.sock is None or conn.sock.recv(1) == b""
        conn.close()
    return text, headers, closed


@pytest.mark.parametrize("dialect", sorted(FILES))
def test_the_fake_writes_each_kind_of_chunk_as_the_real_server(dialect: str) -> None:
    real = _shapes(_events((CAPTURES / FILES[dialect]).read_text(encoding="utf-8")))
    fake = _shapes(_events(_fake_stream(dialect)[0]))
    assert sorted(fake) == sorted(real)
    for kind, shapes in real.items():
        assert fake[kind] == shapes, kind


def test_llama_server_closes_the_connection_after_each_stream() -> None:
    _, headers, closed = _fake_stream("llama-server")
    assert headers.get("keep-alive") == "timeout=5"  # it says keep-alive...
    assert closed  # ...and closes all the same


def _body_of(name: str) -> str:
    raw = (CAPTURES / name).read_text(encoding="utf-8")
    return raw[raw.index("\n{") + 1 :]


def test_the_context_overflow_of_llama_server_is_as_captured() -> None:
    real = json.loads(_body_of("llama-server-context-overflow-400.txt"))
    status, fake = Dialect("llama-server").overflow(877, 256)
    assert (status, fake) == (400, real)


class _StatusError(Exception):
    """Like ``openai.APIStatusError``: ``status_code``, ``body`` (the error object), message."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__("Error code")
        self.status_code = status
        self.body = body.get("error", body) if isinstance(body, dict) else body
        self.message = str(self.body)


@pytest.mark.parametrize(
    ("status", "body", "numbers"),
    [
        (400, Dialect("llama-server").overflow(877, 256)[1], (877, 256)),
        (400, Dialect("vllm").overflow(3000, 2048)[1], (3000, 2048)),
        (400, Dialect("litellm").overflow(3000, 2048)[1], (3000, 2048)),
        (400, Dialect("llama-cpp-python").overflow(3000, 2048)[1], (3000, 2048)),
        (
            400,
            {
                "error": {
                    "message": "This model's maximum context length is 128,000 tokens. However,"
                    " your messages resulted in 130,512 tokens. Please reduce the length of the"
                    " messages.",
                    "type": "invalid_request_error",
                    "param": "messages",
                    "code": "context_length_exceeded",
                }
            },
            (130512, 128000),
        ),
        (
            400,
            {
                "error": "Trying to keep the first 5000 tokens when context the overflows. "
                "However, the model is loaded with context length of only 4096 tokens"
            },
            (None, 4096),
        ),
        (
            400,
            {"error": {"message": "prompt is too long: 210000 tokens > 200000 maximum"}},
            (
                210000,
                200000,
            ),
        ),
        (413, {"error": {"message": "Too many tokens in the input"}}, (None, None)),
    ],
)
def test_context_overflows_are_recognised_in_each_wording(
    status: int, body: Any, numbers: tuple[int | None, int | None]
) -> None:
    found = context_overflow(_StatusError(status, body))
    assert found is not None
    assert (found.prompt_tokens, found.context_tokens) == numbers


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, json.loads(_body_of("litellm-bad-model-400.txt"))),
        (400, {"error": {"message": "Invalid value for 'temperature'", "code": None}}),
        (500, Dialect("llama-server").overflow(877, 256)[1]),
        (429, {"error": {"message": "Rate limit reached: too many tokens per minute"}}),
    ],
)
def test_other_failures_are_not_overflows(status: int, body: Any) -> None:
    assert context_overflow(_StatusError(status, body)) is None
