"""The fake OpenAI server, checked with the real ``openai`` client.

These tests also pin down what the client does on each fault, which the backend must handle:
status errors raise their ``APIStatusError`` subclass; a cut chunked stream raises
``APIConnectionError`` after yielding what arrived; a cut close-delimited stream just ends (no
exception, no finish_reason); a malformed event raises a bare ``json.JSONDecodeError``; an error
event raises plain ``APIError``.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import OpenAI

from fsm_agent.testing import FakeOpenAI, Fault, connection_refused_url
from fsm_agent.testing.wire import split_chunks

KEY = "sk-test-0123456789abcdef"
HELLO = [{"role": "user", "content": "hello there"}]
REPLY = "You said: hello there. That is interesting! Tell me more?"


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def client_for(server: FakeOpenAI, **kwargs: Any) -> OpenAI:
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 20.0)
    return OpenAI(api_key=KEY, base_url=server.base_url, **kwargs)


def stream(client: OpenAI, messages: list[dict[str, Any]] = HELLO, usage: bool = True) -> Any:
    options = {"include_usage": True} if usage else None
    return client.chat.completions.create(
        model="fake-model",
        messages=messages,  # type: ignore[arg-type]
        stream=True,
        stream_options=options,  # type: ignore[arg-type]
    )


def collect(client: OpenAI, received: list[str] | None = None) -> list[Any]:
    """Read a whole stream; content pieces go to ``received`` as they come (kept on errors)."""
    chunks = []
    for chunk in stream(client):
        chunks.append(chunk)
        if received is not None and chunk.choices and chunk.choices[0].delta.content:
            received.append(chunk.choices[0].delta.content)
    return chunks


def text_of(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


# ------------------------------------------------------------------ normal answers


def test_stream_with_usage_has_openai_chunk_shape(server: FakeOpenAI) -> None:
    chunks = collect(client_for(server))
    assert text_of(chunks) == REPLY
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" and c.model == "fake-model" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    finish = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finish[-1] == "stop" and set(finish[:-1]) == {None}
    last = chunks[-1]
    assert last.choices == []
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_without_usage_has_no_usage_chunk(server: FakeOpenAI) -> None:
    chunks = list(stream(client_for(server), usage=False))
    assert text_of(chunks) == REPLY
    assert all(c.choices for c in chunks)
    assert server.requests[-1].body["stream"] is True


def test_chunks_are_cut_within_bounds_and_deterministically() -> None:
    pieces = split_chunks(REPLY, (2, 5), seed=3)
    assert "".join(pieces) == REPLY
    assert all(2 <= len(p) <= 5 for p in pieces[:-1])
    assert pieces == split_chunks(REPLY, (2, 5), seed=3)


def test_non_streaming_answer(server: FakeOpenAI) -> None:
    completion = client_for(server).chat.completions.create(model="m", messages=HELLO)  # type: ignore[arg-type]
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == REPLY
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens > 0


def test_reply_as_dict_callable_and_japanese() -> None:
    table = {"hi": "こんにちは。元気ですか？"}
    with FakeOpenAI(reply=table, chunk_chars=(1, 1)) as fake:
        client = client_for(fake)
        chunks = collect(client)
        assert text_of(chunks) == REPLY  # not in the table: the default
        chunks = list(stream(client, [{"role": "user", "content": "hi"}]))
        assert text_of(chunks) == "こんにちは。元気ですか？"
    with FakeOpenAI(reply=lambda messages: f"{len(messages)} messages.") as fake:
        assert text_of(collect(client_for(fake))) == "1 messages."


def test_request_recorded_with_key_header(server: FakeOpenAI) -> None:
    collect(client_for(server))
    request = server.requests[-1]
    assert request.method == "POST" and request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body["messages"] == HELLO
    assert request.body["stream_options"] == {"include_usage": True}


def test_connection_reused_for_whole_answers(server: FakeOpenAI) -> None:
    client = client_for(server)
    for _ in range(20):
        client.chat.completions.create(model="m", messages=HELLO)  # type: ignore[arg-type]
    assert server.connections_opened == 1


def test_sync_client_does_not_reuse_a_streamed_connection(server: FakeOpenAI) -> None:
    # openai's sync Stream stops at [DONE] and closes the response before reading the last
    # (empty) chunk of the body, so the pool drops the connection: one per streamed turn.
    client = client_for(server)
    for _ in range(5):
        collect(client)
    assert server.connections_opened == 5


def test_models_and_unknown_path(server: FakeOpenAI) -> None:
    client = client_for(server)
    assert [m.id for m in client.models.list()] == ["fake-model"]
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="m", input="x")


# ------------------------------------------------------------------ HTTP status faults


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (403, openai.PermissionDeniedError),
        (404, openai.NotFoundError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
@pytest.mark.parametrize("streaming", [True, False])
def test_status_fault_raises_its_error(
    server: FakeOpenAI, status: int, error: type[Exception], streaming: bool
) -> None:
    client = client_for(server)
    server.push(status, retry_after=7)
    with pytest.raises(error) as caught:
        if streaming:
            collect(client)
        else:
            client.chat.completions.create(model="m", messages=HELLO)  # type: ignore[arg-type]
    assert caught.value.status_code == status  # type: ignore[attr-defined]
    assert caught.value.response.headers["retry-after"] == "7"  # type: ignore[attr-defined]
    body = caught.value.body  # type: ignore[attr-defined]
    assert set(body) == {"message", "type", "param", "code"}
    assert text_of(collect(client)) == REPLY  # one-shot: the next request is fine


def test_faults_are_fifo_and_retry_honours_them(server: FakeOpenAI) -> None:
    server.push(503, retry_after="0")
    server.push(Fault(status=429))
    client = client_for(server, max_retries=2)
    assert text_of(collect(client)) == REPLY
    assert len(server.requests) == 3


def test_echo_key_in_error_puts_the_key_in_the_exception_text(server: FakeOpenAI) -> None:
    server.push("echo_key_in_error")
    with pytest.raises(openai.AuthenticationError) as caught:
        collect(client_for(server))
    assert KEY in str(caught.value)


def test_connection_refused() -> None:
    client = OpenAI(api_key=KEY, base_url=connection_refused_url(), max_retries=0, timeout=20)
    with pytest.raises(openai.APIConnectionError):
        collect(client)


def test_no_answer_times_out_and_stop_does_not_hang(server: FakeOpenAI) -> None:
    server.push("no_answer")
    with pytest.raises(openai.APITimeoutError):
        collect(client_for(server, timeout=0.3))


# ------------------------------------------------------------------ faults inside the stream


@pytest.mark.parametrize("after", [0, 10, len("You said: hello there."), len(REPLY) - 3])
def test_cut_chunked_stream_raises_connection_error(server: FakeOpenAI, after: int) -> None:
    server.push(cut_after=after)
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        collect(client_for(server), received)
    assert "".join(received) == REPLY[:after]


def test_cut_close_delimited_stream_ends_silently() -> None:
    # Without chunked framing the client cannot tell a cut from the end: no exception, no
    # finish_reason, no usage. Only a missing finish_reason shows that the reply is incomplete.
    with FakeOpenAI(framing="close") as fake:
        fake.push(cut_after=10)
        chunks = collect(client_for(fake))
        assert text_of(chunks) == REPLY[:10]
        assert all(c.choices and c.choices[0].finish_reason is None for c in chunks)
        assert text_of(collect(client_for(fake))) == REPLY


@pytest.mark.parametrize("after", [0, 10])
def test_malformed_event_raises_bare_json_error(server: FakeOpenAI, after: int) -> None:
    server.push(malformed_after=after)
    received: list[str] = []
    with pytest.raises(json.JSONDecodeError):
        collect(client_for(server), received)
    assert "".join(received) == REPLY[:after]
    assert not isinstance(json.JSONDecodeError("x", "y", 0), openai.OpenAIError)


def test_error_event_raises_plain_api_error(server: FakeOpenAI) -> None:
    server.push(error_event_after=10, message="overloaded midway")
    received: list[str] = []
    with pytest.raises(openai.APIError) as caught:
        collect(client_for(server), received)
    assert type(caught.value) is openai.APIError  # no status code: the HTTP status was 200
    assert "overloaded midway" in str(caught.value)
    assert "".join(received) == REPLY[:10]


def test_delay_first_still_answers(server: FakeOpenAI) -> None:
    server.push(delay_first=0.2)
    assert text_of(collect(client_for(server))) == REPLY


def test_endless_stream_closed_by_client_is_counted(server: FakeOpenAI) -> None:
    server.push("endless")
    response = stream(client_for(server))
    received = ""
    for chunk in response:
        received += chunk.choices[0].delta.content or ""
        if len(received) > 3 * len(REPLY):
            break
    assert server.active_streams == 1
    response.close()
    assert received.startswith(REPLY + REPLY)
    assert server.wait_until(lambda: server.closed_early == 1 and server.active_streams == 0)


def test_no_answer_counts_a_client_that_hangs_up_while_waiting(server: FakeOpenAI) -> None:
    server.push("no_answer")
    with pytest.raises(openai.APITimeoutError):
        collect(client_for(server, timeout=0.3))
    assert server.wait_until(lambda: server.closed_early == 1)


def test_omit_done_ends_a_complete_stream_without_done(server: FakeOpenAI) -> None:
    server.push("omit_done")
    client = client_for(server)
    raw = client.chat.completions.with_raw_response.create(
        model="fake-model",
        messages=HELLO,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    body = raw.http_response.read().decode()
    assert "[DONE]" not in body
    assert '"finish_reason": "stop"' in body
    assert text_of(collect(client)) == REPLY  # the next one is normal again


def test_stop_returns_with_streams_and_waits_open() -> None:
    fake = FakeOpenAI(token_delay=0.01).start()
    fake.push("endless")
    fake.push("no_answer")
    client = client_for(fake)
    endless = stream(client)
    next(iter(endless))
    waiting = threading.Thread(target=lambda: _swallow(lambda: collect(client)), daemon=True)
    waiting.start()
    assert fake.wait_until(lambda: len(fake.requests) == 2)
    stopper = threading.Thread(target=fake.stop, daemon=True)
    stopper.start()
    stopper.join(20)
    assert not stopper.is_alive()
    waiting.join(20)
    assert not waiting.is_alive()
    assert fake.closed_early == 0  # the server closed these, not the client


def _swallow(func: Any) -> None:
    with contextlib.suppress(Exception):
        func()


def test_push_rejects_unknown_faults(server: FakeOpenAI) -> None:
    with pytest.raises(ValueError):
        server.push("explode")
    with pytest.raises(ValueError):
        server.push(cut_before=3)


def test_main_prints_base_url() -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "fsm_agent.testing.fake_openai", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        client = OpenAI(api_key=KEY, base_url=url, max_retries=0, timeout=20)
        assert text_of(collect(client)) == REPLY
    finally:
        child.kill()
        _, err = child.communicate(timeout=20)
    assert KEY not in err and "RuntimeWarning" not in err
