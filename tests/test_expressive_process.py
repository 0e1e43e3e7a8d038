"""Issue 16 through the real ``fsm-agent`` process: gestures, the greeting and idle talk.

The process runs as MMDAgent-EX's AnyScript child against the host simulator, which flags any
message type not on the allow-list, and the fake OpenAI server on loopback through the real
``openai`` client. Waits are bounded only to avoid hangs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_cli import clean_env

from fsm_agent.sim.host_process import HostProcess
from fsm_agent.sim.host_sim import HostSim
from fsm_agent.testing.fake_openai import FakeOpenAI

WAIT = 30.0
HAPPY = "MOTION_ADD|0|emotion|motions/happy.vmd|PART|ONCE"
GESTURES = """\
[tags.happy]
describe = "when you are glad"
voice = "mei_voice_happy"
send = ["MOTION_ADD|{alias}|emotion|motions/happy.vmd|PART|ONCE"]
"""
ALLOWED = ("SYNTH_START", "SYNTH_STOP", "MOTION_ADD")
IDLE_PROMPT = "(Say something to the quiet user.)"


@pytest.fixture
def gestures(tmp_path: Path) -> Path:
    path = tmp_path / "gestures.toml"
    path.write_text(GESTURES, encoding="utf-8")
    return path


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    replies = {
        "こんにちは": "[happy]こんにちは！[unknown]よろしくね。",
        "Greet the user.": "[happy]いらっしゃい！",
        IDLE_PROMPT: "静かですね。",
        "うん": "よかった。",
    }
    with FakeOpenAI(reply=replies, token_delay=0.002) as srv:
        yield srv


def start(*flags: str, base_url: str | None = None, cwd: Path | None = None) -> HostProcess:
    args = [sys.executable, "-m", "fsm_agent", "--synth-timeout", "2", *flags]
    env = clean_env(OPENAI_API_KEY="sk-test-not-a-key")
    if base_url:
        env["OPENAI_BASE_URL"] = base_url
    sim = HostSim(chars_per_second=200.0, min_seconds=0.05, allowed_types=ALLOWED)
    return HostProcess(args, sim, env=env, cwd=cwd, startup=True).start()


def ours(host: HostProcess) -> list[str]:
    return [line for line in host.child_lines if line.split("|")[0] in ALLOWED]


def user_texts(server: FakeOpenAI) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in server.chat_requests if r.body]


def finish(host: HostProcess) -> None:
    assert host.wait_idle(quiet=0.3, timeout=WAIT)
    assert host.close() == 0
    assert host.sim.violations == []


def test_tags_become_the_gesture_and_the_voice(server: FakeOpenAI, gestures: Path) -> None:
    host = start("--gestures", str(gestures), base_url=server.base_url)
    host.say("こんにちは")
    assert host.wait_until(lambda: len(host.sim.spoken) == 2, WAIT)
    finish(host)
    assert ours(host) == [
        HAPPY,
        "SYNTH_START|0|mei_voice_happy|こんにちは！",
        "SYNTH_START|0|mei_voice_normal|よろしくね。",
    ]
    assert not any("[" in line for line in ours(host))
    system = server.chat_requests[0].body["messages"][0]["content"]
    assert "[happy]: when you are glad" in system
    assert [s.text for s in host.sim.spoken] == ["こんにちは！", "よろしくね。"]


def test_a_fixed_greeting_is_said_once_the_host_is_ready(gestures: Path) -> None:
    host = start(
        "--backend",
        "echo",
        "--gestures",
        str(gestures),
        "--greeting",
        "[happy]こんにちは、メイです。",
    )
    assert host.wait_until(lambda: host.sim.spoken, WAIT)
    host.chatter()  # the clock's next tick, another character: no second greeting
    finish(host)
    assert ours(host) == [HAPPY, "SYNTH_START|0|mei_voice_happy|こんにちは、メイです。"]


def test_a_greeting_prompt_asks_the_model(server: FakeOpenAI) -> None:
    host = start("--greeting-prompt", "Greet the user.", base_url=server.base_url)
    assert host.wait_until(lambda: host.sim.spoken, WAIT)
    finish(host)
    assert user_texts(server) == ["Greet the user."]
    assert ours(host) == ["SYNTH_START|0|mei_voice_normal|いらっしゃい！"]  # no gestures file


def test_idle_talk_remarks_at_most_idle_max_then_waits_for_the_user(server: FakeOpenAI) -> None:
    host = start(
        "--idle-after", "0.3", "--idle-max", "2", "--idle-prompt", IDLE_PROMPT,
        base_url=server.base_url,
    )  # fmt: skip
    assert host.wait_until(lambda: len(host.sim.spoken) == 2, WAIT)
    # Nothing more while nobody speaks (a third remark would be due 0.3 s after the second).
    assert host.wait_idle(quiet=1.5, timeout=WAIT)
    assert user_texts(server) == [IDLE_PROMPT, IDLE_PROMPT]
    # The first remark is in the history of the second request, like any reply.
    second = [(m["role"], m["content"]) for m in server.chat_requests[1].body["messages"][1:]]
    assert second == [("user", IDLE_PROMPT), ("assistant", "静かですね。"), ("user", IDLE_PROMPT)]
    host.speech_start()
    host.say("うん")
    # The user spoke: after the answer the clock runs again, for idle_max more remarks.
    assert host.wait_until(lambda: len(host.sim.spoken) == 5, WAIT)
    assert host.wait_idle(quiet=1.5, timeout=WAIT)
    finish(host)
    assert user_texts(server) == [IDLE_PROMPT, IDLE_PROMPT, "うん", IDLE_PROMPT, IDLE_PROMPT]
    spoken = [s.text for s in host.sim.spoken]
    assert spoken == ["静かですね。", "静かですね。", "よかった。", "静かですね。", "静かですね。"]
