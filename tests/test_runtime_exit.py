"""The runtime leaves no thread behind when it stops, also mid-stream with the real backend."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest

from fsm_agent.backends.openai_compat import OpenAIBackend
from fsm_agent.core.controller import Controller
from fsm_agent.core.settings import Settings
from fsm_agent.runtime.lineio import EOF_MARK
from fsm_agent.runtime.loop import QUIT, Runtime, describe_threads
from fsm_agent.testing.fake_openai import FakeOpenAI

WAIT = 20.0


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-runtime-exit")
    with FakeOpenAI(reply="word " * 2000, token_delay=0.02) as srv:
        yield srv


def ours(threads: set[threading.Thread]) -> list[str]:
    return sorted(t.name for t in threads if t.is_alive() and not t.name.startswith("fake-"))


@pytest.mark.parametrize("stop", [EOF_MARK, QUIT])
@pytest.mark.parametrize("fault", [None, "no_answer"])
def test_stopping_mid_turn_leaves_no_thread(
    server: FakeOpenAI, stop: object, fault: str | None
) -> None:
    before = set(threading.enumerate())
    if fault:
        server.push(fault)
    settings = replace(Settings(), base_url=server.base_url, max_retries=0)
    runtime = Runtime(Controller(settings), OpenAIBackend(settings), lambda line: None)
    runtime.post(b"RECOG_EVENT_STOP|talk forever\n")

    def stop_when_busy() -> None:
        if fault:
            server.wait_until(lambda: len(server.chat_requests) == 1, WAIT)
        else:
            server.wait_until(lambda: server.active_streams == 1, WAIT)
        runtime.post(stop)

    stopper = threading.Thread(target=stop_when_busy, name="fake-stopper")
    stopper.start()
    assert runtime.run() == 0
    stopper.join(WAIT)
    assert server.wait_until(lambda: server.closed_early == 1, WAIT)  # the request was closed
    assert ours(set(threading.enumerate()) - before) == []  # no llm-*, openai, asyncio_* thread
    assert all(t.daemon for t in set(threading.enumerate()) - before)


def test_describe_threads_names_non_daemon_threads_first() -> None:
    release = threading.Event()
    worker = threading.Thread(target=release.wait, name="lingering")
    worker.start()
    try:
        assert describe_threads().startswith("non-daemon: ")
        assert "lingering" in describe_threads().split(";")[0]
    finally:
        release.set()
        worker.join()
    assert "lingering" not in describe_threads()
