"""The wait for SYNTH_EVENT_STOP grows with the sentence: base + seconds per character."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fsm_agent.core.controller import Controller
from fsm_agent.core.events import (
    Arm,
    Chunk,
    Command,
    Send,
    StreamEnd,
    SynthStarted,
    SynthStopped,
    Utterance,
)
from fsm_agent.core.settings import Settings

SHORT, LONG = "Hi.", "This sentence is a good deal longer than the first one."


def sent(commands: list[Command]) -> list[str]:
    return [c.line.split("|", 3)[3] for c in commands if isinstance(c, Send)]


def synth_arms(commands: list[Command]) -> list[float]:
    return [c.seconds for c in commands if isinstance(c, Arm) and c.kind == "synth"]


@pytest.mark.parametrize(("base", "per_char"), [(1.0, 0.5), (5.0, 0.25), (0.2, 0.0)])
def test_each_sentence_gets_base_plus_per_character_seconds(base: float, per_char: float) -> None:
    settings = replace(Settings(), lang="en", synth_timeout=base, synth_seconds_per_char=per_char)
    controller = Controller(settings)
    controller.handle(Utterance("hello"))
    first = controller.handle(Chunk(controller.gen, f"{SHORT} {LONG}"))
    first += controller.handle(StreamEnd(controller.gen))
    assert [c.line for c in first if isinstance(c, Send)] == [
        f"SYNTH_START|0|mei_voice_normal|{SHORT}"
    ]
    assert synth_arms(first) == [pytest.approx(base + per_char * len(SHORT))]
    controller.handle(SynthStarted())
    second = controller.handle(SynthStopped())
    assert [c.line for c in second if isinstance(c, Send)] == [
        f"SYNTH_START|0|mei_voice_normal|{LONG}"
    ]
    assert synth_arms(second) == [pytest.approx(base + per_char * len(LONG))]
    if per_char:
        assert synth_arms(second)[0] > synth_arms(first)[0]
