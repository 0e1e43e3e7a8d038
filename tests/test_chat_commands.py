"""The chat's small manners: unknown commands, and log lines that stay out of the live line."""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path

import pytest
from agent_cli import run_agent

from fsm_agent.modes.chat import unknown_command
from fsm_agent.modes.chat_screen import Screen, ScreenLog
from fsm_agent.modes.term import Palette


def chat(stdin: str, *flags: str) -> tuple[str, str]:
    result = run_agent("chat", "--backend", "echo", "--token-delay", "0", *flags, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stderr


def test_a_mistyped_command_is_not_sent_to_the_model() -> None:
    out, _ = chat("/qiut\n/histroy please\nhello\n/quit\nnot read\n")
    assert out.splitlines() == [
        "you> /qiut",
        "(unknown command /qiut; did you mean /quit? commands: /reset, /history, /quit)",
        "you> /histroy please",
        "(unknown command /histroy; did you mean /history? commands: /reset, /history, /quit)",
        "you> hello",
        "» You said:",  # the reply's first clause goes first (first_clause = 8)
        "» hello",
        "you> /quit",
    ]


@pytest.mark.parametrize("text", ["/ a path", "/3 of them", "//"])
def test_a_slash_that_starts_no_word_is_said_to_the_model(text: str) -> None:
    out, _ = chat(text + "\n")
    assert out.splitlines()[1] == "» You said:"  # the model's echo, not "(unknown command"


def test_unknown_command_without_a_close_one() -> None:
    expected = "(unknown command /zzz; commands: /reset, /history, /quit)"
    assert unknown_command("/zzz now") == expected


def test_with_a_log_file_debug_lines_go_there_not_on_the_chat_screen(tmp_path: Path) -> None:
    log = tmp_path / "chat.log"
    out, err = chat("hello\n", "--log-level", "debug", "--log-file", str(log))
    assert out.splitlines() == ["you> hello", "» You said:", "» hello"]
    assert "DEBUG" not in err and "INFO" not in err
    assert "DEBUG fsm_agent.core.controller: state -> Generating" in log.read_text("utf-8")


def test_a_log_line_clears_the_live_line_and_draws_it_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    screen = Screen(out, live=True, paint=Palette(False))
    screen.active = True
    screen.piece("Hello the")
    handler = ScreenLog(screen)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.emit(logging.makeLogRecord({"msg": "state -> Speaking", "levelname": "DEBUG"}))
    assert err.getvalue() == "DEBUG state -> Speaking\n"
    # the live line was erased before the log line went out, and drawn again after it
    assert out.getvalue().endswith("\r\x1b[K… Hello the\r\x1b[K\r\x1b[K… Hello the")
