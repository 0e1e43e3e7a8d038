"""The controller's debug log writes real state changes only (issue 11)."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from fsm_agent.core.controller import Controller
from fsm_agent.core.events import Chunk, StreamEnd, SynthStarted, SynthStopped, Utterance
from fsm_agent.core.settings import Settings


def test_state_lines_only_when_the_state_changes(caplog: pytest.LogCaptureFixture) -> None:
    c = Controller(replace(Settings(), lang="en", voice="slt_voice_normal"))
    with caplog.at_level(logging.DEBUG, logger="fsm_agent.core.controller"):
        c.handle(Utterance("hi"))
        c.handle(Chunk(c.gen, "One. "))
        for word in ("Then", "more", "words", "arrive", "while", "it", "is", "spoken."):
            c.handle(Chunk(c.gen, word + " "))  # chunk in Speaking: no change of state
        c.handle(SynthStarted())
        c.handle(StreamEnd(c.gen))
        c.handle(SynthStopped())
        c.handle(SynthStarted())
        c.handle(SynthStopped())
    states = [r.getMessage() for r in caplog.records if r.getMessage().startswith("state -> ")]
    assert states == [
        "state -> Generating",
        "state -> Speaking",
        "state -> Draining",
        "state -> Idle",
    ]
