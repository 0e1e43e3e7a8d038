"""Issue 13, the runtime's share: the real ``fsm-agent`` process against a hostile host.

Broken bytes and over-long utterances (item 6), a key pasted with white space (7), SIGTERM
while the host does not read our output (8), a burst of utterances (9), stdout closed by the
host (11) and one huge reply chunk (3). Waits are bounded only to avoid hangs; how fast things
happen is measured in ``benchmarks/`` (huge_chunk.py, exit_time.py, burst.py), not asserted.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import subprocess
import sys
import time
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
    # an English voice: a Japanese one would speak English replies in full-width letters
    return [sys.executable, "-m", "fsm_agent", "--voice", "slt_voice_normal", *flags]


def start_host(
    base_url: str, *flags: str, key: str = KEY, log_file: Path | None = None
) -> HostProcess:
    if log_file is not None:
        flags = (*flags, "--log-file", str(log_file))
    env = clean_env(OPENAI_API_KEY=key, OPENAI_BASE_URL=base_url)
    sim = HostSim(chars_per_second=500.0, min_seconds=0.02)
    return HostProcess(agent_args(*flags), sim, env=env).start()


def user_texts(server: FakeOpenAI) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in server.chat_requests if r.body]


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
    for turn in (1, 2):
        host.send_bytes(b"RECOG_EVENT_STOP|" + raw)
        assert host.wait_until(lambda n=turn: len(spoken(host)) == 2 * n, WAIT)
    assert host.close() == 0
    assert user_texts(server)[0] == heard
    assert spoken(host) == ["Fine.", "Thank you."] * 2
    log = (tmp_path / "log.txt").read_text(encoding="utf-8")
    assert len(re.findall("WARNING .*utterance from the host was .*" + repair, log)) == 1


# ---- item 7: a key with white space or quotes around it -----------------------------------------


@pytest.mark.parametrize(
    "pasted", [f"{KEY} ", f"{KEY}\n", f"{KEY}\r\n", f'"{KEY}"', f" '{KEY}'\t"], ids=repr
)
def test_a_key_with_white_space_or_quotes_is_used_without_them(
    server: FakeOpenAI, tmp_path: Path, pasted: str
) -> None:
    host = start_host(server.base_url, key=pasted, log_file=tmp_path / "log.txt")
    for turn, text in enumerate(("hello", "again"), 1):
        host.say(text)
        assert host.wait_until(lambda n=turn: len(spoken(host)) == 2 * n, WAIT)
    assert host.close() == 0
    assert [r.headers["authorization"] for r in server.chat_requests] == [f"Bearer {KEY}"] * 2
    assert spoken(host) == ["Fine.", "Thank you."] * 2
    log = (tmp_path / "log.txt").read_text(encoding="utf-8")
    assert len(re.findall("WARNING .*OPENAI_API_KEY has white space or quotes", log)) == 1
    for text in (log, host.stderr_text):
        assert "HOSTILE" not in text  # the warning never shows the key


def test_a_key_with_a_space_inside_is_pointed_at() -> None:
    result = subprocess.run(
        [*agent_args(), "--base-url", "http://127.0.0.1:9/v1"],
        input="",
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=clean_env(OPENAI_API_KEY="sk-test-HOSTILE 0123"),
        timeout=WAIT,
        check=False,
    )
    assert result.returncode == 0
    assert "OPENAI_API_KEY has white space, control or non-ASCII characters inside" in result.stderr
    assert "HOSTILE" not in result.stderr


# ---- item 11: stdout closed by the host ---------------------------------------------------------


def spawn(
    base_url: str, *flags: str, stdout: int | None = subprocess.PIPE
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*agent_args(*flags), "--base-url", base_url],
        stdin=subprocess.PIPE,
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=clean_env(OPENAI_API_KEY=KEY),
    )


def tell(proc: subprocess.Popen[bytes], line: str) -> None:
    """Write a host line; a child that has exited no longer reads."""
    assert proc.stdin is not None
    with contextlib.suppress(OSError):
        proc.stdin.write(line.encode() + b"\n")
        proc.stdin.flush()


# Where the platform can watch a pipe (not Windows), closing it stops us before any request;
# elsewhere the next write notices it, after one request.
REQUESTS_AFTER_CLOSE = 0 if hasattr(select, "poll") else 1


def test_stdout_closed_at_once_stops_with_status_0(server: FakeOpenAI) -> None:
    proc = spawn(server.base_url)
    assert proc.stdout is not None
    proc.stdout.close()
    for text in ("hello", "are you there?", "hello?"):
        tell(proc, f"RECOG_EVENT_STOP|{text}")
    assert proc.wait(WAIT) == 0  # although our stdin is still open
    assert len(server.chat_requests) <= REQUESTS_AFTER_CLOSE
    assert b"the host closed our output" in proc.stderr.read()  # type: ignore[union-attr]


def test_stdout_closed_mid_conversation_stops_with_status_0(server: FakeOpenAI) -> None:
    proc = spawn(server.base_url, "--synth-timeout", "0.05")
    assert proc.stdout is not None
    tell(proc, "RECOG_EVENT_STOP|hello")
    assert proc.stdout.readline().startswith(b"SYNTH_START|0|")
    assert proc.stdout.readline().startswith(b"SYNTH_START|0|")  # the reply is over
    assert server.wait_until(lambda: server.active_streams == 0, WAIT)
    proc.stdout.close()
    for text in ("and now?", "hello?", "anyone?"):
        tell(proc, f"RECOG_EVENT_STOP|{text}")
    assert proc.wait(WAIT) == 0
    assert len(server.chat_requests) <= 1 + REQUESTS_AFTER_CLOSE


# ---- item 8: SIGTERM while the host does not read our output -----------------------------------


def full_pipe() -> tuple[int, int]:
    """A pipe whose buffer is already full: the child's first write to it blocks."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    for size in (4096, 1):  # to the last byte: a short line must not fit either
        with contextlib.suppress(BlockingIOError):
            while True:
                os.write(write_end, b"x" * size)
    os.set_blocking(write_end, True)  # the child inherits a blocking pipe, as from the host
    return read_end, write_end


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is TerminateProcess on Windows")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_quit_signal_ends_us_while_our_output_pipe_is_full(
    server: FakeOpenAI, tmp_path: Path, signum: int
) -> None:
    read_end, write_end = full_pipe()
    log_file = tmp_path / "log.txt"
    try:
        proc = spawn(server.base_url, "--log-file", str(log_file), stdout=write_end)
        os.close(write_end)
        tell(proc, "RECOG_EVENT_STOP|hello")
        said = re.compile(r"INFO .*say: Fine\.")
        waited = 0.0
        while not (log_file.exists() and said.search(log_file.read_text(encoding="utf-8"))):
            assert waited < WAIT and proc.poll() is None
            time.sleep(0.05)
            waited += 0.05
        time.sleep(0.2)  # well inside the write to the full pipe
        proc.send_signal(signum)
        assert proc.wait(WAIT) == 0  # never reading the pipe
    finally:
        os.close(read_end)
    assert "exiting now" in log_file.read_text(encoding="utf-8")


# ---- item 9: a burst of utterances --------------------------------------------------------------


@pytest.mark.parametrize("spacing", [None, 0.002], ids=["one-write", "2ms-apart"])
def test_a_burst_of_utterances_asks_the_llm_only_for_the_last(spacing: float | None) -> None:
    with FakeOpenAI(token_delay=0.001) as server:
        host = start_host(server.base_url)
        host.say("hello")  # the client is ready and its connection open: the burst comes after
        assert host.wait_until(lambda: len(spoken(host)) == 4, WAIT)
        lines = [f"RECOG_EVENT_STOP|number {n}" for n in range(1, 51)]
        if spacing is None:
            host.send_bytes("\n".join(lines).encode())
        else:
            for line in lines:
                host.send(line)
                time.sleep(spacing)
        assert host.wait_until(lambda: len(spoken(host)) >= 6, WAIT)
        assert host.wait_idle(timeout=WAIT)
        assert host.close() == 0
        # the first turn's, one at most for an utterance that was replaced at once, the last's
        assert server.connections_opened <= 3
        assert len(server.chat_requests) <= 3
        assert user_texts(server)[-1] == "number 50"
        assert spoken(host)[-4:] == [
            "You said:",  # the reply's first clause goes first (first_clause = 8)
            "number 50.",
            "That is interesting!",
            "Tell me more?",
        ]


# ---- item 3: one huge reply chunk ---------------------------------------------------------------

HUGE = "".join(f"This is sentence {n} of a reply that never seems to end. " for n in range(6000))


@pytest.mark.parametrize("stream", [True, False], ids=["one-300k-event", "no-stream"])
def test_a_barge_in_is_answered_while_a_huge_chunk_is_worked_through(stream: bool) -> None:
    replies = {"tell me everything": HUGE, "stop please": "Okay."}
    with FakeOpenAI(reply=replies, chunk_chars=(10**7, 10**7)) as server:
        flags = ["--max-reply-chars", "1000000", "--barge-in", "final"]
        host = start_host(server.base_url, *flags, *([] if stream else ["--no-stream"]))
        host.say("tell me everything")
        assert host.wait_until(lambda: len(spoken(host)) >= 2, WAIT)
        host.say("stop please")
        assert host.wait_until(lambda: "Okay." in spoken(host), WAIT)
        assert host.wait_idle(timeout=WAIT)
        assert host.close() == 0
    lines = host.child_lines
    stop = lines.index("SYNTH_STOP|0")
    assert [line.split("|", 3)[3] for line in lines[stop + 1 :]] == ["Okay."]
    assert user_texts(server) == ["tell me everything", "stop please"]
    assert host.sim.violations == []
