"""Issue 14: the connection to the LLM server is ready when the user stops talking.

The real ``openai`` client against the loopback fake server. Pauses of minutes are not slept:
the HTTP library's clock (the one that ages idle connections) is moved forward instead.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import httpcore2._async.http11 as http11
import pytest
from agent_cli import clean_env
from stream_text import text_of

from fsm_agent.backends import warm
from fsm_agent.backends.openai_compat import OpenAIBackend
from fsm_agent.core.controller import Controller
from fsm_agent.core.settings import Settings
from fsm_agent.runtime.loop import QUIT, Runtime
from fsm_agent.testing.fake_openai import FakeOpenAI

REPLY = "Hello there."
HELLO = [{"role": "user", "content": "hello"}]
WAIT = 20.0


class Clock:
    """The HTTP library's monotonic clock, plus seconds the test says have passed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        shim = SimpleNamespace(monotonic=lambda: time.monotonic() + self.offset)
        monkeypatch.setattr(http11, "time", shim)

    def pause(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-warm-0123456789")
    return Clock(monkeypatch)


def backend_for(server: FakeOpenAI, **changes: object) -> OpenAIBackend:
    settings = replace(Settings(), base_url=server.base_url, lang="en", **changes)  # type: ignore[arg-type]
    return OpenAIBackend(settings)


def gets(server: FakeOpenAI) -> int:
    return sum(1 for r in server.requests if r.method == "GET")


@pytest.mark.parametrize(("keepalive", "expected"), [(300.0, 1), (5.0, 4)])
def test_turns_minutes_apart_share_one_connection(
    clock: Clock, keepalive: float, expected: int
) -> None:
    # 5 s was the pool's own limit: the same pauses then cost a new connection every turn.
    with FakeOpenAI(reply=REPLY) as server:
        backend = backend_for(server, keepalive=keepalive, no_prewarm=True)
        try:
            for pause in (0.0, 7.0, 15.0, 240.0):
                clock.pause(pause)
                assert text_of(backend.open(HELLO)) == REPLY
            assert server.connections_opened == expected
            assert gets(server) == 0  # no_prewarm: nothing but the turns
        finally:
            backend.close()


class Host:
    """A runtime with the real backend, fed host lines; SYNTH_STARTs are spoken at once."""

    def __init__(self, backend: OpenAIBackend) -> None:
        self.runtime = Runtime(Controller(backend.settings), backend, self._write)
        self.done = threading.Semaphore(0)
        self.thread = threading.Thread(target=self.runtime.run)
        self.thread.start()

    def _write(self, line: str) -> None:
        if line.startswith("SYNTH_START|"):
            alias = line.split("|")[1]
            self.runtime.post(f"SYNTH_EVENT_START|{alias}".encode())
            self.runtime.post(f"SYNTH_EVENT_STOP|{alias}".encode())
            self.done.release()

    def say(self, text: str) -> None:
        self.runtime.post(f"RECOG_EVENT_STOP|{text}".encode())
        assert self.done.acquire(timeout=WAIT)

    def close(self) -> None:
        self.runtime.post(QUIT)
        self.thread.join(WAIT)


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(reply=REPLY) as srv:
        yield srv


def test_start_up_and_speech_start_open_the_connection_before_the_utterance(
    clock: Clock, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(warm, "MIN_GAP", 0.0)  # the test's minutes pass in no time
    host = Host(backend_for(server))
    try:
        assert server.wait_until(lambda: gets(server) == 1, WAIT)  # warmed at start-up
        assert server.connections_opened == 1
        host.say("hello")
        assert server.connections_opened == 1  # the first turn found it ready
        clock.pause(400.0)  # past keepalive: the pool drops the connection
        host.runtime.post(b"RECOG_EVENT_START")
        assert server.wait_until(lambda: gets(server) == 2, WAIT)
        assert server.connections_opened == 2  # opened while the user speaks
        host.say("again")
        assert server.connections_opened == 2  # ... and used by the utterance
        assert len(server.chat_requests) == 2
    finally:
        host.close()


def test_a_connection_the_server_closed_is_replaced_after_the_reply(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(warm, "MIN_GAP", 0.0)
    # Like llama.cpp, the server closes the connection after every streamed reply.
    opened_at_request: list[int] = []
    with FakeOpenAI(reply=lambda _: record() or REPLY, framing="close") as server:

        def record() -> None:
            opened_at_request.append(server.connections_opened)

        backend = backend_for(server)
        try:
            assert server.wait_until(lambda: gets(server) == 1, WAIT)
            for turn in range(1, 4):
                assert text_of(backend.open(HELLO)) == REPLY
                # The server closed it; a fresh one is opened (and checked) for the next turn.
                assert server.wait_until(lambda t=turn: gets(server) == t + 1, WAIT)
        finally:
            backend.close()
    # Each request went out on a connection opened before it: none waited for a handshake.
    assert opened_at_request == [1, 2, 3]
    assert server.connections_opened == 4


def test_speech_starts_in_a_burst_send_no_storm(server: FakeOpenAI) -> None:
    host = Host(backend_for(server))
    try:
        assert server.wait_until(lambda: gets(server) == 1, WAIT)
        for _ in range(50):
            host.runtime.post(b"RECOG_EVENT_START")
        host.say("hello")
        # One warm-up at a time and at most one a second: the burst adds one at most.
        assert gets(server) <= 2
        assert server.connections_opened == 1
    finally:
        host.close()


def test_no_warm_up_while_a_reply_streams(server: FakeOpenAI) -> None:
    backend = backend_for(server)
    try:
        assert server.wait_until(lambda: gets(server) == 1, WAIT)
        time.sleep(1.1)  # past the one-a-second limit: only the stream can stop a warm-up now
        server.push(delay_first=0.5)
        stream = iter(backend.open(HELLO))
        while not isinstance(next(stream), str):  # the reply is streaming
            pass
        backend.prewarm()
        assert text_of(stream)
        # Asked for while the reply streamed: sent once it is over, on its connection.
        assert server.wait_until(lambda: gets(server) == 2, WAIT)
        assert server.connections_opened == 1
    finally:
        backend.close()


def test_a_server_that_is_down_fails_the_turn_as_before() -> None:
    from fsm_agent.testing.fake_openai import connection_refused_url

    settings = replace(Settings(), base_url=connection_refused_url(), max_retries=0)
    backend = OpenAIBackend(settings)
    try:
        backend.prewarm()
        with pytest.raises(Exception, match="Connection error"):
            text_of(backend.open(HELLO))
    finally:
        backend.close()


def test_a_warm_up_reads_a_few_bytes_of_the_model_list_at_most(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A server answering GET /models with an endless body must not fill the process's memory.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-warm-0123456789")
    sent: list[int] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
            with contextlib.suppress(OSError):
                for _ in range(256):  # 256 MiB if nobody hung up
                    conn.sendall(b"[" * (1 << 20))
                    sent.append(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    backend = OpenAIBackend(replace(Settings(), base_url=f"http://127.0.0.1:{port}/v1"))
    try:
        thread.join(WAIT)
        assert not thread.is_alive()  # the client hung up
        assert len(sent) < 64  # socket buffers aside, about 1 MiB was read
    finally:
        backend.close()
        listener.close()


class SilentServer:
    """A loopback server that reads each request and never answers; it sees the hang-ups."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/v1"
        self.requested = threading.Event()
        self.hung_up = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self._listener.accept()
                threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            while data := conn.recv(4096):
                if b"\r\n\r\n" in data:
                    self.requested.set()
        self.hung_up.set()

    def close(self) -> None:
        self._listener.close()


def test_end_of_input_does_not_wait_for_a_warm_up_the_server_never_answers(
    tmp_path: Path,
) -> None:
    """The real process: the start-up warm-up hangs; the host ends our input; we leave at once.

    Had the exit waited for the warm-up, the warm-up would have ended by its own timeout
    (``warm.TIMEOUT``) and said so in the debug log; cancelled, it says nothing.
    """
    log_file = tmp_path / "agent.log"
    server = SilentServer()
    env = clean_env(OPENAI_API_KEY="sk-test-warm-0123456789", OPENAI_BASE_URL=server.base_url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "fsm_agent", "--log-level", "debug", "--log-file", str(log_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert server.requested.wait(WAIT)  # the warm-up's GET /models waits for an answer
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(timeout=WAIT) == 0
        assert server.hung_up.wait(WAIT)
    finally:
        proc.kill()
        proc.wait()
        server.close()
    assert proc.stderr is not None
    assert b"Traceback" not in proc.stderr.read()
    log = log_file.read_text(encoding="utf-8")
    assert "fsm-agent ready" in log
    assert "warming the connection" not in log
