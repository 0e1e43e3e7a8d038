"""The runtime asks the LLM only for the last utterance of a burst, and at once otherwise.

The loop runs on its own thread with a clock the test moves by hand: a stream that waits for a
burst to end can only start when the test lets time pass, so "at once" and "after the burst"
are told apart without measuring time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest

from fsm_agent.core.backend import Messages
from fsm_agent.core.controller import Controller
from fsm_agent.core.events import Utterance
from fsm_agent.core.settings import Settings
from fsm_agent.runtime.loop import COALESCE_SECONDS, QUIT, Runtime

WAIT = 10.0


class Silent:
    """A reply that sends nothing until it is closed (the turn stays open)."""

    total_tokens = None

    def __init__(self) -> None:
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[str]:
        self.closed.wait()
        return iter(())

    def close(self) -> None:
        self.closed.set()


class Backend:
    def __init__(self) -> None:
        self.asked: list[str] = []
        self.changed = threading.Condition()

    def open(self, messages: Messages) -> Silent:
        with self.changed:
            self.asked.append(messages[-1]["content"])
            self.changed.notify_all()
        return Silent()

    def wait_for(self, count: int, timeout: float = WAIT) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.asked) >= count, timeout)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Rig:
    """A runtime whose loop runs on a thread of its own, on a clock moved by hand."""

    def __init__(self) -> None:
        self.backend, self.clock = Backend(), Clock()
        settings = replace(Settings(), stream_timeout=3600.0)
        self.runtime = Runtime(
            Controller(settings),
            self.backend,  # type: ignore[arg-type]
            lambda line: None,
            self.clock,
        )
        self.loop = threading.Thread(target=self.runtime.run, name="test-loop", daemon=True)
        self._seen: list[str] = []
        self._saw = threading.Condition()
        self.runtime.observers.append(self._observe)

    def _observe(self, direction: str, line: str) -> None:
        with self._saw:
            self._seen.append(line)
            self._saw.notify_all()

    def say(self, text: str, at: float | None = None) -> None:
        """The user says ``text`` at time ``at``; returns once the loop has handled it."""
        if at is not None:
            self.clock.now = at
        self.runtime.post(Utterance(text))
        if self.loop.is_alive():
            self.sync()

    def tick(self, at: float) -> None:
        """Let time pass; returns once the loop has woken up and looked at the time."""
        self.clock.now = at
        self.sync()

    def sync(self) -> None:
        """Wait until the loop has handled everything posted so far."""
        mark = f"CURRENT_TIME|{len(self._seen)}|0"
        self.runtime.post(mark.encode() + b"\n")
        with self._saw:
            assert self._saw.wait_for(lambda: mark in self._seen, WAIT)


@pytest.fixture
def rig() -> Iterator[Rig]:
    rig = Rig()
    yield rig
    rig.runtime.post(QUIT)
    if rig.loop.is_alive():
        rig.loop.join(WAIT)


def test_a_burst_waiting_in_the_queue_asks_only_for_the_last(rig: Rig) -> None:
    for n in range(1, 21):
        rig.say(f"number {n}")
    rig.loop.start()
    assert not rig.backend.wait_for(1, timeout=0.3)  # a burst: it waits for a quiet moment
    rig.tick(COALESCE_SECONDS)
    assert rig.backend.wait_for(1)
    rig.tick(2 * COALESCE_SECONDS)
    assert not rig.backend.wait_for(2, timeout=0.3)
    assert rig.backend.asked == ["number 20"]


def test_a_barge_in_seconds_later_is_asked_for_at_once(rig: Rig) -> None:
    rig.loop.start()
    rig.say("tell me a story")
    assert rig.backend.wait_for(1)
    rig.say("no, a poem", at=5.0)  # the clock now stands still: only "at once" can ask
    assert rig.backend.wait_for(2)
    assert rig.backend.asked == ["tell me a story", "no, a poem"]


def test_utterances_in_quick_succession_wait_for_the_burst_to_end(rig: Rig) -> None:
    rig.loop.start()
    rig.say("one")
    assert rig.backend.wait_for(1)
    for n, text in enumerate(("two", "three", "four"), 1):
        rig.say(text, at=n * 0.01)
    rig.tick(0.03 + COALESCE_SECONDS * 0.9)  # inside the window of the last one
    assert not rig.backend.wait_for(2, timeout=0.3)
    rig.tick(0.03 + COALESCE_SECONDS)  # the window is over
    assert rig.backend.wait_for(2)
    assert rig.backend.asked == ["one", "four"]
