"""One way to join spoken sentences back into a text, for every script (history, replay)."""

from __future__ import annotations

import pytest

from fsm_agent.core.controller import Controller
from fsm_agent.core.events import Chunk, StreamEnd, SynthStarted, SynthStopped, TurnDone, Utterance
from fsm_agent.core.settings import Settings
from fsm_agent.modes.replay_transcript import read_transcript, spoken_replies
from fsm_agent.text.join import join_sentences


@pytest.mark.parametrize(
    ("sentences", "text"),
    [
        (["Hello.", "How are you?"], "Hello. How are you?"),
        (["こんにちは。", "元気ですか？"], "こんにちは。元気ですか？"),
        (["你好。", "今天很好。"], "你好。今天很好。"),
        (["Hello.", "こんにちは。"], "Hello. こんにちは。"),  # English then Japanese: a space
        (["こんにちは。", "Hello."], "こんにちは。 Hello."),
        (["안녕하세요.", "반가워요."], "안녕하세요. 반가워요."),  # Korean is written with spaces
        (["そうですね…", "「はい」と言った。"], "そうですね…「はい」と言った。"),
        (["Well…", "「はい」"], "Well… 「はい」"),
        (["Bonjour !", "Ça va ?"], "Bonjour ! Ça va ?"),
        (["Hi 😀", "元気？"], "Hi 😀 元気？"),
        (["長い文の前半、", "後半。"], "長い文の前半、後半。"),  # a piece split at a soft break
        (["", "One.", "", "Two."], "One. Two."),
        ([], ""),
    ],
)
def test_join_sentences(sentences: list[str], text: str) -> None:
    assert join_sentences(sentences) == text


def _speak_turn(replies: str) -> TurnDone:
    """Run one turn whose reply is ``replies``, every sentence heard to its end."""
    c = Controller(Settings(voice="mei_voice_normal"))
    out = c.handle(Utterance("hi"))
    out += c.handle(Chunk(c.gen, replies))
    out += c.handle(StreamEnd(c.gen))
    while c.state != "Idle":
        out += c.handle(SynthStarted())
        out += c.handle(SynthStopped())
    return next(cmd for cmd in out if isinstance(cmd, TurnDone))


def test_the_history_and_the_replay_join_alike() -> None:
    """What the history keeps of a mixed reply is what a replay reads back from the host log."""
    done = _speak_turn("Hello there. こんにちは。元気？ Fine.")
    assert done.heard == "Hello there. こんにちは。元気？ Fine."
    lines = [b"RECOG_EVENT_STOP|hi"] + [
        f"SYNTH_START|0|mei_voice_normal|{s}".encode()
        for s in ("Hello there.", "こんにちは。", "元気？", "Fine.")
    ]
    spoken = spoken_replies(read_transcript(lines), "0")
    assert spoken.replies == [("hi", done.heard)]
