"""The shared interpreter of the controller's commands, on a simulated clock."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from fsm_agent.core.controller import Controller
from fsm_agent.core.events import (
    CancelStream,
    Chunk,
    Send,
    StartStream,
    StreamEnd,
    SynthEchoed,
    SynthStarted,
    SynthStopped,
    TurnDone,
    Utterance,
)
from fsm_agent.core.settings import Settings
from fsm_agent.runtime.interpreter import Effects, Interpreter, TurnTimes
from fsm_agent.runtime.loop import Runtime

# English text with the English voice (a Japanese, Open JTalk, voice would get it widened)
SETTINGS = replace(
    Settings(),
    voice="slt_voice_normal",
    synth_timeout=2.0,
    synth_seconds_per_char=0.0,
    stream_timeout=30.0,
)


class World(Effects):
    """Keeps every effect, in order."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.latency: list[TurnTimes] = []

    def send(self, command: Send) -> None:
        self.log.append(f"send {command.line}")

    def start_stream(self, command: StartStream) -> None:
        self.log.append(f"start {command.gen}")

    def cancel_stream(self, command: CancelStream) -> None:
        self.log.append(f"cancel {command.gen}")

    def turn_done(self, command: TurnDone) -> None:
        self.log.append(f"turn {command.outcome}")

    def state_changed(self, state: str) -> None:
        self.log.append(f"state {state}")

    def first_sentence(self, times: TurnTimes) -> None:
        self.latency.append(replace(times))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def rig() -> tuple[Interpreter, World, Clock]:
    clock = Clock()
    world = World()
    return Interpreter(Controller(SETTINGS), world, clock), world, clock


def test_the_commands_reach_the_world_in_order(rig: tuple[Interpreter, World, Clock]) -> None:
    interp, world, _ = rig
    interp.feed(Utterance("hi"))
    interp.feed(Chunk(1, "Hello there. How are"))
    interp.feed(StreamEnd(1))
    assert world.log == [
        "start 1",
        "state Generating",
        "send SYNTH_START|0|slt_voice_normal|Hello there.",
        "state Speaking",
        "state Draining",
    ]
    interp.feed(SynthStarted())
    interp.feed(SynthStopped())
    interp.feed(SynthStarted())
    interp.feed(SynthStopped())
    assert world.log[-3:] == [
        "send SYNTH_START|0|slt_voice_normal|How are",
        "turn done",
        "state Idle",
    ]


def test_a_deadline_fires_on_the_plugged_clock_and_not_before(
    rig: tuple[Interpreter, World, Clock],
) -> None:
    interp, world, clock = rig
    interp.feed(Utterance("hi"))
    interp.feed(Chunk(1, "One. Two. Three"))
    interp.feed(SynthEchoed("One."))  # the host echoes our line: its START gets synth_timeout
    assert interp.deadlines == {"stream": 130.0, "synth": 102.0}
    assert interp.next_deadline() == 102.0
    clock.now = 101.999
    interp.fire_due()
    assert world.log[-1] == "state Speaking"  # nothing happened
    clock.now = 102.0
    interp.fire_due()  # the synth deadline: the next sentence goes without its STOP
    assert world.log[-1] == "send SYNTH_START|0|slt_voice_normal|Two."
    interp.feed(SynthEchoed("Two."))
    assert interp.deadlines["synth"] == 104.0


def test_a_disarmed_deadline_never_fires(rig: tuple[Interpreter, World, Clock]) -> None:
    interp, world, clock = rig
    interp.feed(Utterance("hi"))
    interp.feed(Chunk(1, "One. Two. Three"))
    clock.now = 101.0
    interp.feed(SynthStarted())
    interp.feed(SynthStopped())  # disarms, then arms for "Two."
    assert world.log[-1] == "send SYNTH_START|0|slt_voice_normal|Two."
    interp.feed(SynthEchoed("Two."))
    clock.now = 102.5  # past the first sentence's deadline
    interp.fire_due()
    assert world.log[-1] == "send SYNTH_START|0|slt_voice_normal|Two."
    assert interp.deadlines["synth"] == 103.0


def test_deadlines_due_together_fire_earliest_first(rig: tuple[Interpreter, World, Clock]) -> None:
    interp, world, clock = rig
    interp.feed(Utterance("hi"))
    interp.feed(Chunk(1, "One. Two. Three"))
    interp.feed(SynthEchoed("One."))  # synth at 102, stream at 130
    clock.now = 500.0
    interp.fire_due()
    # the synth deadline first (Two. is sent), then the stream's: the reply is given up
    assert world.log[-3:] == [
        "send SYNTH_START|0|slt_voice_normal|Two.",
        "cancel 1",
        "state Draining",
    ]


def test_latency_is_timed_from_the_commands_alone(rig: tuple[Interpreter, World, Clock]) -> None:
    interp, world, clock = rig
    interp.feed(Utterance("hi"))
    clock.now = 100.25
    interp.feed(Chunk(1, "Hello"))
    clock.now = 100.5
    interp.feed(Chunk(1, " there. And"))
    assert world.latency == [TurnTimes(1, 100.0, 100.25, 100.5)]
    # a barge-in: the old generation's chunk does not count as the new turn's first token
    clock.now = 101.0
    interp.feed(Utterance("stop"))
    clock.now = 101.5
    interp.feed(Chunk(1, "Stale. Old"))
    assert interp.times == TurnTimes(2, 101.0)
    clock.now = 102.0
    interp.feed(Chunk(2, "Okay. Then"))
    assert world.latency[-1] == TurnTimes(2, 101.0, 102.0, 102.0)


def test_a_synth_stop_is_not_a_sentence(rig: tuple[Interpreter, World, Clock]) -> None:
    interp, _, _ = rig
    interp.feed(Utterance("hi"))
    commands = interp.feed(Chunk(1, "Hello there. And"))
    assert [c.sentence for c in commands if isinstance(c, Send)] == [True]
    commands = interp.feed(Utterance("wait"))
    sends = [c for c in commands if isinstance(c, Send)]
    assert [(c.line, c.sentence) for c in sends] == [("SYNTH_STOP|0", False)]


def test_the_runtime_logs_latency_on_its_clock(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    lines: list[str] = []

    class NoBackend:
        def open(self, messages: object) -> object:
            raise AssertionError("no stream is started in this test")

    runtime = Runtime(Controller(SETTINGS), NoBackend(), lines.append, clock)  # type: ignore[arg-type]
    runtime.start_stream = lambda command: None  # type: ignore[method-assign]
    with caplog.at_level(logging.INFO, logger="fsm_agent"):
        runtime.feed(Utterance("hi"))
        clock.now += 0.3
        runtime.feed(Chunk(1, "Hi. And"))
    assert lines == ["SYNTH_START|0|slt_voice_normal|Hi."]
    assert "latency: first token 300 ms, first SYNTH_START 300 ms" in caplog.text
