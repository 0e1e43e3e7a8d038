"""ThinkFilter: a reasoning model's thinking is split from the reply, however the stream cuts it."""

from __future__ import annotations

import itertools

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from fsm_agent.text.think import ThinkFilter


def run(pieces: list[str], *, starts_inside: bool = False) -> tuple[str, bool, bool]:
    """Feed the pieces; return the spoken text, whether any thinking was seen, any retract."""
    f = ThinkFilter(starts_inside=starts_inside)
    out: list[str] = []
    thought = retract = False
    for piece in pieces:
        split = f.feed(piece)
        if split.retract:
            out.clear()  # what the controller does: the reply so far was thinking
        out.append(split.visible)
        thought |= split.thought
        retract |= split.retract
    out.append(f.flush())
    return "".join(out), thought, retract


@pytest.mark.parametrize(
    ("reply", "spoken"),
    [
        ("<think>The user greets me.</think>こんにちは！", "こんにちは！"),
        ("<think>\nA.\n</think>\n\nHello.", "\n\nHello."),
        ("<THINK>x</THINK>Hi.", "Hi."),
        ("<thinking>x</thinking>Hi.", "Hi."),
        ("Hi.<think>an aside</think> Bye.", "Hi. Bye."),
        ("The user greets me.</think>Hello!", "Hello!"),  # the template opened it
        ("a < b and <b>bold</b> and <thin air.", "a < b and <b>bold</b> and <thin air."),
        ("Ends with <thi", "Ends with <thi"),  # not a tag after all: nothing lost
        ("<think>never closed", ""),
        ("", ""),
    ],
)
def test_only_the_reply_is_spoken(reply: str, spoken: str) -> None:
    assert run([reply])[0] == spoken
    assert run(list(reply))[0] == spoken  # one character at a time


def test_a_bare_closing_tag_retracts_what_came_before() -> None:
    text, thought, retract = run(["The user greets me. ", "I greet.</th", "ink>Hello!"])
    assert (text, thought, retract) == ("Hello!", True, True)
    # a closing tag after a block that was opened is no retract
    assert run(["<think>a</think>b</think>c"])[2] is False


def test_a_reply_taken_to_begin_inside_a_thought() -> None:
    assert run(["thinking...", "</think>Hi."], starts_inside=True) == ("Hi.", True, False)
    # no closing tag ever: it was no thinking, and nothing is lost
    assert run(["Hi there. ", "All good."], starts_inside=True)[0] == "Hi there. All good."


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(
        st.sampled_from(
            [
                "<think>",
                "</think>",
                "<thinking>",
                "</thinking>",
                "<",
                ">",
                "a",
                "。",
                " ",
                "<b>",
                "x",
            ]
        ),
        max_size=30,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=10),
    inside=st.booleans(),
)
def test_any_cut_of_the_stream_gives_the_same_speech(
    parts: list[str], cuts: list[int], inside: bool
) -> None:
    text = "".join(parts)
    bounds = sorted({c for c in cuts if c < len(text)} | {0, len(text)})
    pieces = [text[a:b] for a, b in itertools.pairwise(bounds)]
    whole = run([text], starts_inside=inside)
    cut = run(pieces, starts_inside=inside)
    assert cut[0] == whole[0]
    assert "<think>" not in cut[0].lower() and "</think>" not in cut[0].lower()


def test_the_filler_sends_the_gestures_thinking_tag() -> None:
    """With a gestures file that defines ``thinking``, the filler sends its lines (issue 16)."""
    import tomllib

    from fsm_agent.core.controller import Controller
    from fsm_agent.core.events import Deadline, Send, Utterance
    from fsm_agent.core.gestures import parse_gestures
    from fsm_agent.core.settings import Settings

    gestures = parse_gestures(
        tomllib.loads(
            '[tags.thinking]\nsend = ["MOTION_ADD|{alias}|think|motions/think.vmd|PART|ONCE"]\n'
        ),
        "g.toml",
    )
    c = Controller(Settings(filler="auto"), gestures=gestures)
    c.handle(Utterance("むずかしい質問"))
    sent = [cmd.line for cmd in c.handle(Deadline("filler")) if isinstance(cmd, Send)]
    assert sent == [
        "MOTION_ADD|0|think|motions/think.vmd|PART|ONCE",
        "SYNTH_START|0|mei_voice_normal|えーと。",
    ]
    assert c.state == "Speaking"
