"""Gestures through the pure controller: the lines printed do not depend on the chunking.

Only the reply's first unit may (``first_clause``, and a first sentence spoken at its end without
waiting for the next token): with both off every line is the same however the reply is chunked;
with the defaults the same words are spoken in the same order.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from fsm_agent.config.load import load_settings
from fsm_agent.core.controller import Controller
from fsm_agent.core.events import Chunk, Send, StreamEnd, SynthStarted, SynthStopped, Utterance
from fsm_agent.core.settings import Settings

GESTURES = Path(__file__).parent / "data" / "gestures.toml"
DEFAULTS = load_settings(overrides={"gestures": GESTURES, "lang": "auto"}, environ={})
PLAIN = load_settings(
    overrides={"gestures": GESTURES, "lang": "auto", "first_clause": 0, "hold_first_end": True},
    environ={},
)
_WORD = regex.compile(r"[\p{L}\p{N}]")
ALLOWED = ("SYNTH_START", "SYNTH_STOP", "MOTION_ADD", "TEXTAREA_SET")


def play(chunks: list[str], settings: Settings = PLAIN) -> list[str]:
    """One turn: the chunks, the end, then every sentence acknowledged until Idle."""
    controller = Controller(settings)
    lines: list[str] = []

    def feed(event: object) -> None:
        lines.extend(c.line for c in controller.handle(event) if isinstance(c, Send))  # type: ignore[arg-type]

    feed(Utterance("hi"))
    for chunk in chunks:
        feed(Chunk(controller.gen, chunk))
    feed(StreamEnd(controller.gen))
    for _ in range(200):
        if controller.state == "Idle":
            break
        feed(SynthStarted())
        feed(SynthStopped())
    assert controller.state == "Idle"
    return lines


def _chunks(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    return [text[a:b] for a, b in itertools.pairwise([0, *points, len(text)])]


PARTS = st.sampled_from(
    ["[happy]", "[sad]", "[bow]", "[unknown]", "[Happy]", "こんにちは！", "元気です。",
     "Hi there. ", "How are you?", "[see me]", "[", "]", " ", "\n", "😀"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(PARTS, max_size=14), cuts=st.lists(st.integers(0, 10_000), max_size=20))
def test_streamed_equals_whole_and_no_tag_is_spoken(parts: list[str], cuts: list[int]) -> None:
    text = "".join(parts)
    whole = play([text])
    assert play(_chunks(text, cuts)) == whole
    for line in whole:
        assert line.split("|", 1)[0] in ALLOWED
        if line.startswith("SYNTH_START"):
            spoken = line.split("|", 3)[3]
            for name in ("happy", "sad", "bow", "unknown", "Happy"):
                assert f"[{name}]" not in spoken


def _words(lines: list[str]) -> str:
    spoken = (line.split("|", 3)[3] for line in lines if line.startswith("SYNTH_START"))
    return "".join(_WORD.findall("".join(spoken)))


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(PARTS, max_size=14), cuts=st.lists(st.integers(0, 10_000), max_size=20))
def test_with_the_defaults_the_same_words_are_spoken_whatever_the_chunking(
    parts: list[str], cuts: list[int]
) -> None:
    text = "".join(parts)
    whole = play([text], DEFAULTS)
    streamed = play(_chunks(text, cuts), DEFAULTS)
    assert _words(streamed) == _words(whole)
    for line in streamed:
        assert line.split("|", 1)[0] in ALLOWED
