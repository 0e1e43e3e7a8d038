"""``fsm-agent chat`` end to end: piped stdin, a pseudo-terminal for Ctrl-C, the fake server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from agent_cli import run_agent

from fsm_agent.modes import tts
from fsm_agent.testing import FakeOpenAI

ROOT = Path(__file__).resolve().parents[1]


def chat(
    stdin: str, *flags: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_agent("chat", "--token-delay", "0", *flags, stdin=stdin, env=env)


def test_piped_echo_commands_and_history() -> None:
    result = chat(
        "Hello there. How are you?\n/history\n日本語で話して。\n/reset\n/history\nQUIT\nnot read\n",
        "--backend",
        "echo",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "you> Hello there. How are you?",
        "» You said:",  # the reply's first clause goes first (first_clause = 8)
        "» Hello there.",
        "» How are you?",
        "you> /history",
        "you: Hello there. How are you?",
        "bot: You said: Hello there. How are you?",
        "you> 日本語で話して。",
        "» You said:",
        "» 日本語で話して。",
        "you> /reset",
        "(the conversation is forgotten)",
        "you> /history",
        "(no history yet)",
        "you> QUIT",
    ]


@pytest.mark.parametrize("word", ["/quit", "exit", None])
def test_leaves_on_quit_words_and_end_of_input(word: str | None) -> None:
    stdin = "one\n" + (f"{word}\ntwo\n" if word else "")
    result = chat(stdin, "--backend", "echo")
    assert result.returncode == 0
    assert "» You said:\n» one" in result.stdout
    assert "two" not in result.stdout


def test_real_client_against_the_fake_server_keeps_the_history() -> None:
    replies = {
        "Hi": "Hello! I am **fine**, thanks.\nAnd you?",
        "Tell me more": "東京は日本の首都です。人口は約千四百万人です。",
    }
    with FakeOpenAI(replies, token_delay=0.002) as server:
        env = {**os.environ, "OPENAI_API_KEY": "sk-test-fake"}
        result = chat("Hi\nTell me more\n", "--base-url", server.base_url, env=env)
        requests = server.chat_requests
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "you> Hi",
        "» Hello!",
        "» I am fine, thanks.",  # markdown is not read aloud
        "» And you?",
        "you> Tell me more",
        "» 東京は日本の首都です。",
        "» 人口は約千四百万人です。",
    ]
    second = requests[-1].body["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert second[2]["content"] == "Hello! I am fine, thanks. And you?"
    assert requests[-1].headers["authorization"] == "Bearer sk-test-fake"


def test_a_failed_reply_is_reported_and_the_chat_goes_on() -> None:
    with FakeOpenAI("Fine again.") as server:
        server.push(500)
        env = {**os.environ, "OPENAI_API_KEY": "sk-test-fake"}
        result = chat(
            "first\nsecond\n", "--base-url", server.base_url, "--max-retries", "0", env=env
        )
    assert result.returncode == 0
    assert "(the reply failed; see the warning above)" in result.stdout
    assert result.stdout.rstrip().endswith("» Fine again.")
    assert "HTTP 500" in result.stderr
    assert "sk-test-fake" not in result.stderr + result.stdout


def test_speak_waits_for_each_sentence(tmp_path: Path) -> None:
    log = tmp_path / "spoken.txt"
    tts = tmp_path / "tts.py"
    tts.write_text(
        "import sys, time\n"
        "from pathlib import Path\n"
        "log = Path(sys.argv[1])\n"
        "with log.open('a', encoding='utf-8') as f: f.write('start ' + sys.argv[2] + '\\n')\n"
        "time.sleep(0.2)\n"
        "with log.open('a', encoding='utf-8') as f: f.write('end ' + sys.argv[2] + '\\n')\n",
        encoding="utf-8",
    )
    command = f"{Path(sys.executable).as_posix()} {tts.as_posix()} {log.as_posix()}"
    result = chat("One. Two. Three.\n", "--backend", "echo", "--speak", "--tts-command", command)
    assert result.returncode == 0, result.stderr
    assert log.read_text(encoding="utf-8").splitlines() == [
        "start You said:",
        "end You said:",
        "start One.",
        "end One.",
        "start Two.",
        "end Two.",
        "start Three.",
        "end Three.",
    ]


def test_speak_without_any_tts_program_is_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}
    result = chat("hi\n", "--backend", "echo", "--speak", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"fsm-agent: error: {tts.NOT_FOUND}"]


OVERLAP_TTS = """\
import os, sys, time
from pathlib import Path
import psutil
log, text = Path(sys.argv[1]), sys.argv[2]
lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
with log.open("a", encoding="utf-8") as f:
    f.write(f"start {os.getpid()} {text}\\n")
    for line in lines:  # is an earlier sentence still being said?
        pid = int(line.split()[1])
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                f.write(f"overlap {pid} {text}\\n")
        except psutil.NoSuchProcess:
            pass
time.sleep(60)  # far longer than the synth deadline: the controller gives up on each
"""


def test_speak_cuts_a_sentence_off_when_the_next_one_starts(tmp_path: Path) -> None:
    """After a speech deadline, as with MMDAgent-EX, the late sentence is cut off: no overlap.

    Before, the old sentence went on under the new one, and its late SYNTH_EVENT_STOP released
    the sentence after that early.
    """
    log = tmp_path / "spoken.txt"
    tts_script = tmp_path / "tts.py"
    tts_script.write_text(OVERLAP_TTS, encoding="utf-8")
    replies = tmp_path / "replies.txt"
    replies.write_text("One here. Two here. Three here. Four.\n", encoding="utf-8")
    command = f"{Path(sys.executable).as_posix()} {tts_script.as_posix()} {log.as_posix()}"
    result = chat(
        "go\n",
        *("--backend", f"script:{replies}", "--tts-command", command),
        *("--synth-timeout", "1", "--synth-seconds-per-char", "0"),
    )
    assert result.returncode == 0, result.stderr
    rows = [line.split(" ", 2) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [text for kind, _pid, text in rows if kind == "start"] == [
        "One here.",
        "Two here.",
        "Three here.",
        "Four.",
    ]
    assert [row for row in rows if row[0] == "overlap"] == []
    for _kind, pid, _text in rows:  # the last sentence was ended when the chat left
        assert not running(int(pid))


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_chat_record_replays_the_same(tmp_path: Path) -> None:
    record = tmp_path / "chat.jsonl"
    result = chat("A. B.\n", "--backend", "echo", "--record", str(record))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    assert {"dir": "in", "line": "RECOG_EVENT_STOP|A. B."}.items() <= rows[1].items()
    replayed = run_agent("replay", str(record))
    assert "# the same lines as in the recording" in replayed.stdout


# ---- a real terminal: typewriter and Ctrl-C -----------------------------------------------

pty = pytest.importorskip("pty") if sys.platform != "win32" else None


class Terminal:
    """``fsm-agent chat`` on a pseudo-terminal that is its controlling terminal."""

    def __init__(self, *args: str) -> None:
        import pty as pty_module

        self.pid, self.fd = pty_module.fork()
        if self.pid == 0:  # the child
            os.chdir(ROOT)
            os.execv(sys.executable, [sys.executable, "-m", "fsm_agent", "chat", *args])
        self.seen = b""
        self.pos = 0
        self.status: int | None = None

    def read_until(self, text: str, timeout: float = 20.0) -> str:
        """Read until ``text`` appears after the previous match; return what came up to it."""
        import select

        wanted = text.encode()
        end = time.monotonic() + timeout
        while (at := self.seen.find(wanted, self.pos)) < 0:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} never came; seen: {self.seen[-1500:]!r}")
            if select.select([self.fd], [], [], min(left, 0.1))[0]:
                try:
                    self.seen += os.read(self.fd, 4096)
                except OSError:
                    time.sleep(0.05)
        before = self.seen[self.pos : at]
        self.pos = at + len(wanted)
        return before.decode("utf-8", errors="replace")

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def wait(self, timeout: float = 20.0) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                return self.status
            time.sleep(0.05)
        raise AssertionError("the chat did not end")

    def kill(self) -> None:
        if self.status is None:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


@pytest.mark.skipif(sys.platform == "win32", reason="no pseudo-terminals on Windows")
def test_terminal_typewriter_and_ctrl_c_barge_in(tmp_path: Path) -> None:
    script = tmp_path / "replies.txt"
    script.write_text(
        "First sentence here. Second sentence comes now. " + "Word " * 200 + "end.\n---\n"
        "短い返事です。ありがとう。\n",
        encoding="utf-8",
    )
    term = Terminal("--backend", f"script:{script}", "--token-delay", "0.02")
    try:
        term.read_until("you> ")
        term.type(b"hello\r")
        term.read_until("… First sentence")  # the typewriter line, while it streams
        term.read_until("» \x1b[0m\x1b[1mFirst sentence here.")
        term.read_until("» \x1b[0m\x1b[1mSecond sentence comes now.")
        term.read_until("Word Word Word")
        term.type(b"\x03")  # Ctrl-C: the user starts to speak
        term.read_until("interrupted")
        term.read_until("you> ")
        term.type(b"/history\r")
        term.read_until("bot: ")
        heard = term.read_until("\r\n")
        # only what was heard, and the mark of the interruption (barge_in_mark = "ellipsis")
        assert heard == "First sentence here. Second sentence comes now. …"
        term.read_until("you> ")
        term.type(b"next\r")
        term.read_until("ありがとう。\x1b[0m")
        term.read_until("you> ")
        # input() writes the prompt before it reads: a signal in between is only seen once the
        # read returns, so a person (not a test) can never hit that window. Wait past it.
        time.sleep(0.5)
        term.type(b"\x03")
        term.read_until("Ctrl-C again")
        time.sleep(0.5)
        term.type(b"\x03")
        assert term.wait() == 0
    finally:
        term.kill()


def test_the_greeting_comes_first_and_tags_are_not_shown() -> None:
    example = ROOT / "fsm_agent" / "modes" / "gestures.example.toml"
    result = chat(
        "hi\n/history\n",
        "--backend", "echo", "--gestures", str(example),
        "--greeting", "[bow]こんにちは、メイです。",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "» こんにちは、メイです。",
        "you> hi",
        "» You said:",
        "» hi",
        "you> /history",
        "you: (The user has just arrived.)",
        "bot: [bow]こんにちは、メイです。",  # the model sees its tags in the history
        "you: hi",
        "bot: You said: hi",
    ]


def test_history_file_carries_the_chat_over_and_reset_empties_it(tmp_path: Path) -> None:
    memory = tmp_path / "chat.jsonl"
    first = chat("Hello there.\n", "--backend", "echo", "--history-file", str(memory))
    assert first.returncode == 0, first.stderr
    second = chat(
        "/history\n/reset\n/history\n", "--backend", "echo", "--history-file", str(memory)
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == [
        "you> /history",
        "you: Hello there.",
        "bot: You said: Hello there.",
        "you> /reset",
        "(the conversation is forgotten)",
        "you> /history",
        "(no history yet)",
    ]
    assert memory.read_bytes() == b""
