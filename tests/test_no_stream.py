"""``--no-stream``: the whole reply arrives at once and is still spoken sentence by sentence."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from agent_cli import run_agent
from test_record import SYNTH, host_session

from fsm_agent.core.voices import widen_ascii
from fsm_agent.testing import FakeOpenAI

REPLY = "Good morning! It is 3.5 degrees outside.\n\nWear a coat, Mr. Sato. 気をつけてね。"
SENTENCES = [
    "Good morning!",
    "It is 3.5 degrees outside.",
    "Wear a coat, Mr. Sato.",
    "気をつけてね。",
]


def test_run_mode_asks_for_the_whole_reply_and_speaks_it_by_sentence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-fake")
    with FakeOpenAI(REPLY) as server:
        printed = host_session(
            ["--base-url", server.base_url, "--no-stream"], ["Good morning"], len(SENTENCES)
        )
        body = server.chat_requests[-1].body
    assert not body.get("stream")
    assert printed == [SYNTH + widen_ascii(s) for s in SENTENCES]  # a Japanese voice


def test_chat_with_no_stream() -> None:
    with FakeOpenAI(REPLY) as server:
        env = {**os.environ, "OPENAI_API_KEY": "sk-test-fake"}
        flags = ["--base-url", server.base_url, "--no-stream"]
        result = run_agent("chat", *flags, stdin="Good morning\n", env=env)
        body = server.chat_requests[-1].body
    assert result.returncode == 0, result.stderr
    assert not body.get("stream")
    assert result.stdout.splitlines() == ["you> Good morning", *(f"» {s}" for s in SENTENCES)]


def test_streaming_is_the_default() -> None:
    with FakeOpenAI(REPLY) as server:
        subprocess.run(
            [sys.executable, "-m", "fsm_agent", "chat", "--base-url", server.base_url],
            input=b"Good morning\n",
            capture_output=True,
            timeout=60,
            env={**os.environ, "OPENAI_API_KEY": "sk-test-fake"},
            check=False,
        )
        assert server.chat_requests[-1].body["stream"] is True
