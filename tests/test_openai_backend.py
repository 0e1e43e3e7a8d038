"""The OpenAI backend with the real ``openai`` client against the loopback fake server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from stream_text import text_of

from fsm_agent.backends.openai_compat import OpenAIBackend, StreamFailed
from fsm_agent.core.events import Event
from fsm_agent.core.settings import Settings
from fsm_agent.runtime.worker import Generation
from fsm_agent.testing.fake_openai import FakeOpenAI

REPLY = "Hello there. How are you today?"
HELLO = [{"role": "user", "content": "hello"}]
WAIT = 20.0


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    secret = "sk-test-backend-0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    return secret


def backend_for(server: FakeOpenAI, **changes: object) -> OpenAIBackend:
    return OpenAIBackend(replace(Settings(), base_url=server.base_url, **changes))  # type: ignore[arg-type]


@pytest.fixture(params=["chunked", "close"])
def server(request: pytest.FixtureRequest, key: str) -> Iterator[FakeOpenAI]:
    with FakeOpenAI(reply=REPLY, framing=request.param) as srv:
        yield srv


def test_a_whole_stream_is_the_reply_with_usage(server: FakeOpenAI) -> None:
    backend = backend_for(server)
    try:
        stream = backend.open(HELLO)
        assert text_of(stream) == REPLY
        assert stream.total_tokens
    finally:
        backend.close()


def test_a_finish_reason_without_done_is_a_complete_reply(server: FakeOpenAI) -> None:
    # Older llama.cpp builds (and forks like ik_llama.cpp) end a stream without [DONE].
    backend = backend_for(server)
    try:
        server.push("omit_done")
        stream = backend.open(HELLO)
        assert text_of(stream) == REPLY
        assert stream.total_tokens
    finally:
        backend.close()


def test_a_stream_cut_midway_is_a_failure_whatever_the_framing(server: FakeOpenAI) -> None:
    backend = backend_for(server, max_retries=0)
    try:
        server.push(cut_after=len("Hello there. Ho"))
        received: list[str] = []
        with pytest.raises(Exception) as caught:
            text_of(backend.open(HELLO), received)
        assert "".join(received) == "Hello there. Ho"
        if server.framing == "close":  # only the missing [DONE] and finish_reason tell
            assert isinstance(caught.value, StreamFailed)
            assert "ended before the reply was complete" in str(caught.value)
    finally:
        backend.close()


def test_one_connection_serves_every_streamed_turn(server: FakeOpenAI) -> None:
    backend = backend_for(server)
    try:
        for _ in range(3):
            assert text_of(backend.open(HELLO)) == REPLY
        expected = 1 if server.framing == "chunked" else 3  # "close": the server ends each one
        assert server.connections_opened == expected
    finally:
        backend.close()


@pytest.mark.parametrize("no_stream", [False, True])
def test_cancel_while_waiting_for_headers_closes_the_request_at_once(
    key: str, no_stream: bool
) -> None:
    with FakeOpenAI(reply=REPLY) as srv:
        backend = backend_for(srv, max_retries=2, no_stream=no_stream)
        try:
            srv.push("no_answer")  # reads the request, never answers
            events: list[Event] = []
            generation = Generation(1, backend, HELLO, events.append)
            generation.start()
            assert srv.wait_until(lambda: len(srv.chat_requests) == 1, WAIT)
            generation.cancel()
            # The server sees the client hang up while it still holds back the headers.
            assert srv.wait_until(lambda: srv.closed_early == 1, WAIT)
            generation.thread.join(WAIT)
            assert not generation.thread.is_alive()
            assert events == []  # a cancelled generation posts nothing
            assert len(srv.chat_requests) == 1  # and is not retried
            assert text_of(backend.open(HELLO)) == REPLY  # the backend serves the next turn
        finally:
            backend.close()


def test_close_ends_the_backend_thread(server: FakeOpenAI) -> None:
    before = set(threading.enumerate())
    backend = backend_for(server)
    assert text_of(backend.open(HELLO)) == REPLY
    backend.close(timeout=WAIT)
    left = [t for t in set(threading.enumerate()) - before if not t.name.startswith("fake-")]
    assert left == []  # neither the loop thread nor its name-lookup executor
