"""``max_reply_chars`` holds whatever the chunking (issue 13, item 2).

A reply that arrives as one huge chunk (``--no-stream``, or one enormous SSE event) is cut at
the limit like a reply streamed in small pieces: at most ``max_reply_chars`` characters are
spoken, and the stream is cancelled.
"""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
from agent_cli import run_agent

from fsm_agent.core.controller import Controller
from fsm_agent.core.events import (
    CancelStream,
    Chunk,
    Command,
    Send,
    StreamEnd,
    SynthStarted,
    SynthStopped,
    Utterance,
)
from fsm_agent.core.settings import Settings
from fsm_agent.testing import FakeOpenAI

SENTENCE = "This is sentence number {n} of a reply that goes on and on. "
REPLY = "".join(SENTENCE.format(n=n) for n in range(400))  # about 25,000 characters
CJK = "これはとても長い返事の一文です。" * 800  # 12,800 characters, no spaces


def _spoken(commands: list[Command]) -> list[str]:
    return [c.line.split("|", 3)[3] for c in commands if isinstance(c, Send)]


def speak_all(controller: Controller, chunks: list[str]) -> tuple[list[str], bool]:
    """Feed the chunks, then play the host until the reply is over; return what was said."""
    spoken: list[str] = []
    cancelled = False
    commands = controller.handle(Utterance("talk"))
    gen = controller.gen
    for chunk in chunks:
        commands += controller.handle(Chunk(gen, chunk))
    commands += controller.handle(StreamEnd(gen))
    while True:
        cancelled |= any(isinstance(c, CancelStream) for c in commands)
        said = _spoken(commands)
        spoken += said
        if not said:
            break
        commands = controller.handle(SynthStarted()) + controller.handle(SynthStopped())
    assert controller.state == "Idle"
    return spoken, cancelled


@pytest.mark.parametrize("text", [REPLY[:12_000], REPLY, CJK], ids=["12000", "25000", "cjk"])
@pytest.mark.parametrize("pieces", [1, 3, 1000], ids=["one-chunk", "three", "small"])
def test_at_most_max_reply_chars_are_spoken(text: str, pieces: int) -> None:
    size = -(-len(text) // pieces)
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    settings = replace(Settings(), lang="auto", voice="slt_voice_normal", max_reply_chars=4000)
    spoken, cancelled = speak_all(Controller(settings), chunks)
    total = sum(len(s) for s in spoken)
    assert total <= 4000
    assert total > 3800  # the reply up to the limit is spoken, not dropped
    assert cancelled
    assert "".join(spoken).replace(" ", "") in text.replace(" ", "")


def test_a_short_reply_is_not_cut() -> None:
    settings = replace(Settings(), lang="en", voice="slt_voice_normal", max_reply_chars=4000)
    text = REPLY[:3000]
    spoken, cancelled = speak_all(Controller(settings), [text])
    assert not cancelled
    assert " ".join(spoken) == text.strip()


def test_no_stream_process_speaks_at_most_the_limit() -> None:
    """The real process with ``--no-stream``: one 12,000-character reply, limit 4,000."""
    with FakeOpenAI(REPLY[:12_000]) as server:
        env = {**os.environ, "OPENAI_API_KEY": "sk-test-fake"}
        flags = ["--base-url", server.base_url, "--no-stream", "--max-reply-chars", "4000"]
        result = run_agent("chat", *flags, "--lang", "en", stdin="talk\n", env=env)
    assert result.returncode == 0, result.stderr
    said = [line[2:] for line in result.stdout.splitlines() if line.startswith("» ")]
    total = sum(len(s) for s in said)
    assert 3800 < total <= 4000, total
