"""Issue 13, the runtime's share: the real ``fsm-agent`` process against a hostile host.

Broken bytes and over-long utterances (item 6), a key pasted with white space (7), SIGTERM
while the host does not read our output (8), a burst of utterances (9), stdout closed by the
host (11) and one huge reply chunk (3). Waits are bounded only to avoid hangs; how fast things
happen is measured in ``benchmarks/hostile.py``, not asserted here.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_cli import clean_env

from fsm_agent.sim.host_process import HostProcess
from fsm_agent.sim.host_sim import HostSim
from fsm_agent.testing.fake_openai import FakeOpenAI

KEY = "sk-test-HOSTILE-0123456789abcdef"
WAIT = 30.0


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(reply="Fine. Thank you.", token_delay=0.001) as srv:
        yield srv


def agent_args(*flags: str) -> list[str]:
    return [sys.executable, "-m", "fsm_agent", "--synth-timeout", "1", *flags]


def start_host(
    base_url: str, *flags: str, key: str = KEY, log_file: Path | None = None
) -> HostProcess:
    if log_file is not None:
        flags = (*flags, "--log-file", str(log_file))
    env = clean_env(OPENAI_API_KEY=key, OPENAI_BASE_URL=base_url)
    sim = HostSim(chars_per_second=500.0, min_seconds=0.02)
    return HostProcess(agent_args(*flags), sim, env=env).start()


def user_texts(server: FakeOpenAI) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in server.requests]


def spoken(host: HostProcess) -> list[str]:
    return [line.split("|", 3)[3] for line in host.child_lines if line.startswith("SYNTH_START|")]


# ---- item 6: broken bytes never drop what the user said ---------------------------------------


@pytest.mark.parametrize(
    ("raw", "heard", "repair"),
    [
        (b"hello \xff there", "hello \ufffd there", "not valid UTF-8"),
        ("今日は晴れですね".encode("cp932"), "今日は晴れですね", "CP932"),
        ("おはよう".encode()[:-1], "おはよ", "cut inside its last character"),
        (("長い" * 1500).encode(), ("長い" * 1500)[: (4096 - 17) // 3], "longer than 4096 bytes"),
    ],
    ids=["invalid-utf8", "cp932", "cut-utf8", "over-long"],
)
def test_a_broken_utterance_is_answered_with_one_warning(
    server: FakeOpenAI, tmp_path: Path, raw: bytes, heard: str, repair: str
) -> None:
    host = start_host(server.base_url, log_file=tmp_path / "log.txt")
    for _ in range(2):
        host.send_bytes(b"RECOG_EVENT_STOP|" + raw)
        count = len(server.requests) + 1
        assert host.wait_until(lambda n=count: len(server.requests) == n, WAIT)
        assert host.wait_idle(timeout=WAIT)
    assert host.close() == 0
    assert user_texts(server)[0] == heard
    assert spoken(host)[:2] == ["Fine.", "Thank you."]
    log = (tmp_path / "log.txt").read_text(encoding="utf-8")
    assert len(re.findall("WARNING .*utterance from the host was .*" + repair, log)) == 1
