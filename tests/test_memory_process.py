"""The real ``fsm-agent`` process keeps its conversation across a SIGKILL (issue 17).

MMDAgent-EX ends its children with SIGKILL when it quits or reloads the content: whatever the
next start should remember must already be on disk. The fake server records every request, so
the test reads what the restarted process sends.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from agent_cli import clean_env

from fsm_agent.sim.host_process import HostProcess
from fsm_agent.sim.host_sim import HostSim
from fsm_agent.testing.fake_openai import FakeOpenAI

SECRET = "sk-test-MEMORYSECRET-0123456789abcdef"
WAIT = 30.0


def start(server: FakeOpenAI, history: Path) -> HostProcess:
    args = [
        sys.executable,
        "-m",
        "fsm_agent",
        "--history-file",
        str(history),
        "--lang",
        "en",
        "--voice",
        "slt_voice_normal",
        "--synth-timeout",
        "1",
    ]
    env = clean_env(OPENAI_API_KEY=SECRET, OPENAI_BASE_URL=server.base_url)
    return HostProcess(args, HostSim(chars_per_second=400.0, min_seconds=0.02), env=env).start()


def turn_lines(path: Path) -> list[dict[str, object]]:
    """The whole turn records in the file (it may be read while the child rewrites it)."""
    out = []
    text = path.read_text(encoding="utf-8-sig") if path.exists() else ""
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if "user" in record:
            out.append(record)
    return out


def pairs(messages: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in messages if m["role"] != "system"]


def test_two_turns_a_sigkill_and_the_restart_remembers_them(tmp_path: Path) -> None:
    history = tmp_path / "conversation.jsonl"
    with FakeOpenAI(
        reply={"my name is Aki": "Nice to meet you, Aki.", "I like tea": "Tea is good."}
    ) as server:
        host = start(server, history)
        host.say("my name is Aki")
        # flushed at once: another process sees the turn while the child still runs
        assert host.wait_until(lambda: len(turn_lines(history)) == 1, WAIT)
        host.say("I like tea")
        assert host.wait_until(lambda: len(turn_lines(history)) == 2, WAIT)
        host.kill()  # SIGKILL, as MMDAgent-EX does: no chance to write anything more
        assert host.close() != 0

        again = start(server, history)
        again.say("what is my name?")
        assert again.wait_until(lambda: len(server.chat_requests) == 3, WAIT)
        request = server.chat_requests[2].body["messages"]
        assert pairs(request) == [
            ("user", "my name is Aki"),
            ("assistant", "Nice to meet you, Aki."),
            ("user", "I like tea"),
            ("assistant", "Tea is good."),
            ("user", "what is my name?"),
        ]
        assert again.wait_until(lambda: len(turn_lines(history)) == 3, WAIT)

        # the content's .fst makes it forget: consumed, never printed, the file emptied
        again.send("FSM_AGENT_FORGET")
        assert again.wait_until(lambda: history.read_bytes() == b"", WAIT)
        again.say("who am I?")
        assert again.wait_until(lambda: len(server.chat_requests) == 4, WAIT)
        assert pairs(server.chat_requests[3].body["messages"]) == [("user", "who am I?")]
        assert again.wait_until(lambda: len(turn_lines(history)) == 1, WAIT)
        assert again.close() == 0
        assert not any("FSM_AGENT_FORGET" in line for line in again.child_lines)
        assert again.sim.violations == []
    text = history.read_text(encoding="utf-8")
    assert "who am I?" in text and "Aki" not in text
    assert SECRET not in text


def test_a_file_cut_by_a_kill_mid_write_loads_with_a_warning(tmp_path: Path) -> None:
    history = tmp_path / "conversation.jsonl"
    whole = json.dumps({"n": 1, "user": "hello", "assistant": "Hi there."})
    cut = json.dumps({"n": 2, "user": "and the weather?", "assistant": "Sunny and"})[:30]
    history.write_bytes(b"\xef\xbb\xbf" + whole.encode() + b"\r\n" + cut.encode())  # Notepad, cut
    with FakeOpenAI(reply="Fine.") as server:
        host = start(server, history)
        host.say("still there?")
        assert host.wait_until(lambda: len(turn_lines(history)) == 2, WAIT)
        assert host.close() == 0
    assert pairs(server.chat_requests[0].body["messages"]) == [
        ("user", "hello"),
        ("assistant", "Hi there."),
        ("user", "still there?"),
    ]
    assert "line 2: cut off or not a record; skipped" in host.stderr_text
    # the cut line is gone: the file was rewritten whole before the new turn was added
    assert [line["user"] for line in turn_lines(history)] == ["hello", "still there?"]
