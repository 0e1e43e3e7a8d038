"""Trying the AnyScript mode by hand: the terminal says what to type; piped input says why it
printed nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from agent_cli import clean_env, run_agent


def test_piped_input_that_ends_mid_turn_says_to_use_replay() -> None:
    out = run_agent("--backend", "echo", stdin="RECOG_EVENT_STOP|Hello there. How are you?\n")
    assert out.returncode == 0
    assert "input ended in the middle of a turn" in out.stderr
    assert "use `fsm-agent replay FILE`" in out.stderr


def test_a_pipe_that_ends_between_turns_is_told_nothing() -> None:  # as MMDAgent-EX's pipes
    out = run_agent("--backend", "echo", stdin="")
    assert out.returncode == 0, out.stderr
    assert "middle of a turn" not in out.stderr
    assert "from this terminal" not in out.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal needs POSIX")
def test_a_terminal_is_told_what_to_type_and_to_answer_the_stop_itself() -> None:
    primary, secondary = os.openpty()
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "fsm_agent", "--backend", "echo", "--alias", "7"],
            stdin=secondary,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=clean_env(without_proxies=True),
        )
        os.close(secondary)
        os.write(primary, b"\x04")  # Ctrl-D at the start of a line: end of input
        _, err = child.communicate(timeout=60)
    finally:
        os.close(primary)
    assert child.returncode == 0
    text = err.decode("utf-8")
    assert "Type RECOG_EVENT_STOP|Hello there." in text
    assert "answer each SYNTH_START as the avatar would: SYNTH_EVENT_START|7, then" in text
    assert "SYNTH_EVENT_STOP|7" in text
