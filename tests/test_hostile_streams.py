"""Issue 13, the backend's share: hostile bytes from a server, through the real ``openai`` client.

The server is a raw loopback one (``raw_server``) that writes exactly the bytes a test gives it.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from subprocess import PIPE

import psutil
import pytest
from agent_cli import clean_env, run_agent
from raw_server import RawServer, chunk_event, sse_response
from stream_text import text_of

from fsm_agent.backends.openai_compat import OpenAIBackend, StreamFailed
from fsm_agent.backends.sse import EventTooLarge, SSEDecoder
from fsm_agent.core.settings import Settings

HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-hostile-0123456789")


def reply_of(server: RawServer, **changes: object) -> str:
    backend = OpenAIBackend(replace(Settings(), base_url=server.base_url, max_retries=0, **changes))  # type: ignore[arg-type]
    try:
        return text_of(backend.open(HELLO))
    finally:
        backend.close()


# ---- 1. lines end only at CR, LF or CRLF ------------------------------------------------------

SEPARATORS = ["\u2028", "\u2029", "\u0085"]  # str.splitlines ends lines there; SSE does not


@pytest.mark.parametrize("sep", SEPARATORS, ids=[f"U+{ord(c):04X}" for c in SEPARATORS])
def test_a_raw_line_separator_inside_a_json_string_stays_in_the_text(sep: str) -> None:
    raw = chunk_event(f"one{sep}two")  # JSON may hold these raw; ensure_ascii=False does
    assert sep in raw
    events = [raw, chunk_event(" three.", "stop"), "data: [DONE]\n\n"]
    with RawServer(lambda _: [sse_response(events)]) as server:
        assert reply_of(server) == f"one{sep}two three."


@pytest.mark.parametrize("end", ["\n", "\r", "\r\n"], ids=["LF", "CR", "CRLF"])
def test_every_line_end_of_the_specification_is_one(end: str) -> None:
    events = [chunk_event("Hi."), chunk_event(" Bye.", "stop"), "data: [DONE]\n\n"]
    body = "".join(events).replace("\n", end).encode()
    # CRLF cut between its CR and LF, and every other byte boundary too: one byte per write.
    with RawServer(
        lambda _: [sse_response([]), *(body[i : i + 1] for i in range(len(body)))]
    ) as srv:
        assert reply_of(srv) == "Hi. Bye."


def test_data_lines_of_one_event_are_joined_and_comments_skipped() -> None:
    event = (
        ': keep-alive\n\ndata: {"choices": [{"index": 0,\ndata: "delta": {"content": "Hi."}}]}\n\n'
    )
    events = [event, chunk_event("", "stop"), "data:[DONE]\n\n"]
    with RawServer(lambda _: [sse_response(events)]) as server:
        assert reply_of(server) == "Hi."


def test_decoder_splits_only_at_cr_lf_crlf_however_the_bytes_are_cut() -> None:
    text = "data: a\u2028b\x0bc\x0c\x1c\r\n\r\ndata: c\u0085d\u2029\r\rdata: e\n\n"
    raw = text.encode()
    whole = SSEDecoder()
    expected = whole.feed(raw) + whole.finish()
    assert expected == ["a\u2028b\x0bc\x0c\x1c", "c\u0085d\u2029", "e"]
    for cut in range(len(raw) + 1):
        decoder = SSEDecoder()
        got = decoder.feed(raw[:cut]) + decoder.feed(raw[cut:]) + decoder.finish()
        assert got == expected, cut


# ---- 4. the bytes held for one line/event are bounded -------------------------------------------


def test_a_line_with_no_end_fails_the_turn_at_the_bound() -> None:
    head = b'data: {"choices":[{"index":0,"delta":{"content":"'

    def endless(_: object) -> Iterator[bytes]:
        yield sse_response([]) + head
        for _ in range(64):  # 64 MiB if nothing stopped it; the bound is 8
            yield b"A" * (1 << 20)

    with RawServer(endless) as server, pytest.raises(StreamFailed, match="over 8388608 bytes"):
        reply_of(server)


def test_the_decoder_holds_at_most_its_bound_for_an_event_of_many_lines() -> None:
    decoder = SSEDecoder(max_bytes=1000)
    decoder.feed(b"data: " + b"x" * 400 + b"\n")
    decoder.feed(b"data: " + b"x" * 400 + b"\n")
    with pytest.raises(EventTooLarge):
        decoder.feed(b"data: " + b"x" * 400 + b"\n")
    assert decoder.feed(b"\ndata: ok\n\n") == ["ok"]  # the next event starts afresh


def test_the_process_stays_small_on_an_endless_line() -> None:
    """The real process, sent up to 200 MiB on one line, fails the turn and stays small."""
    head = b'data: {"choices":[{"index":0,"delta":{"content":"'
    sent: list[int] = []

    def endless(_: object) -> Iterator[bytes]:
        yield sse_response([]) + head
        for _ in range(200):
            sent.append(1)
            yield b"A" * (1 << 20)

    with RawServer(endless) as server:
        env = clean_env(OPENAI_API_KEY="sk-test-raw", OPENAI_BASE_URL=server.base_url)
        cmd = [sys.executable, "-m", "fsm_agent", "chat", "--max-retries", "0"]
        proc = psutil.Popen(cmd, stdin=PIPE, stdout=PIPE, stderr=PIPE, env=env)
        assert proc.stdin is not None
        proc.stdin.write(b"hi\n")
        proc.stdin.flush()
        peak = 0
        end = time.monotonic() + 60
        while not server.done and time.monotonic() < end:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, proc.memory_info().rss)
            time.sleep(0.02)
        _, err = proc.communicate(b"", timeout=30)
    assert proc.returncode == 0, err
    assert "over 8388608 bytes" in err.decode()
    assert len(sent) < 200  # the client hung up: the rest was never read
    assert peak < 120 * 2**20


# ---- 5. absurd usage numbers do not wipe the history ---------------------------------------------


def test_absurd_usage_keeps_the_conversation() -> None:
    def answer(_: object) -> list[bytes]:
        events = [chunk_event("Noted."), chunk_event("", "stop"), chunk_event("", total=10**9)]
        return [sse_response([*events, "data: [DONE]\n\n"])]

    with RawServer(answer) as server:
        env = clean_env(OPENAI_API_KEY="sk-test-raw", OPENAI_BASE_URL=server.base_url)
        result = run_agent("chat", stdin="My name is Ada.\nI like tea.\nWho am I?\n", env=env)
        bodies = server.bodies
    assert result.returncode == 0, result.stderr
    assert len(bodies) == 3
    said = [m["content"] for m in bodies[-1]["messages"] if m["role"] == "user"]
    assert said == ["My name is Ada.", "I like tea.", "Who am I?"]
    assert result.stderr.count("usage not believed") == 1
