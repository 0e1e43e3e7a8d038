"""Mistakes in flags, variables and TOML keys: one line, naming the fix, never silently accepted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from agent_cli import clean_env, run_agent

from fsm_agent import cli
from fsm_agent.config.load import load_settings
from fsm_agent.core.settings import ConfigError


def error_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one line ``fsm-agent ARGV`` stops with (status 2)."""
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err  # no usage block before it
    assert err.startswith("fsm-agent: error: ")
    return err.strip().removeprefix("fsm-agent: error: ")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--history-turns", "2.5"], "argument --history-turns: '2.5' is not a whole number"),
        (["--synth-timeout", "soon"], "argument --synth-timeout: 'soon' is not a number"),
        (["--modle", "x"], "unknown option --modle (did you mean --model?)"),
        (["chat", "--spek"], "unknown option --spek (did you mean --speak?)"),
        (["demo", "--model", "x"], "fsm-agent demo has no --model; see fsm-agent demo --help"),
        (["diagram", "--voice", "x"], "fsm-agent diagram has no --voice"),
        (["chta"], "invalid choice: 'chta'"),
        (["--model", ""], "model must not be empty"),
        (["--model", "  "], "model must not be empty"),
        (["--max-tokens", "0"], "max_tokens must be at least 1"),
        (["--max-tokens", "-5"], "max_tokens must be at least 1"),
    ],
)
def test_a_command_line_mistake_is_one_line_that_names_it(
    argv: list[str],
    expected: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.startswith("FSM_AGENT_"):
            monkeypatch.delenv(name)
    assert expected in error_of([*argv, "--backend", "echo"] if argv[0] != "chta" else argv, capsys)


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("FSM_AGENT_MODLE", "unknown variable FSM_AGENT_MODLE (did you mean FSM_AGENT_MODEL?)"),
        (
            "FSM_AGENT_LOGFILE",
            "unknown variable FSM_AGENT_LOGFILE (did you mean FSM_AGENT_LOG_FILE?)",
        ),
        ("FSM_AGENT_XYZZY", "unknown variable FSM_AGENT_XYZZY"),
    ],
)
def test_a_misspelt_variable_is_an_error_not_ignored(variable: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={variable: "x"})
    assert str(caught.value).endswith(expected)


def test_the_chat_s_own_variable_for_its_speech_program_is_not_a_setting() -> None:
    assert load_settings(environ={"FSM_AGENT_SENTENCE": "hello"}).model == "gpt-4o-mini"


def test_a_misspelt_toml_key_says_which_it_may_be(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text('modle = "llama3.2"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown setting 'modle' \(did you mean model\?\)"):
        load_settings(config, environ={})


def test_demo_help_offers_no_server_settings() -> None:
    out = run_agent("demo", "--help").stdout
    for flag in ("--model", "--base-url", "--api-key-env", "--max-tokens", "--temperature"):
        assert flag not in out
    assert "--voice" in out and "--backend" in out


def test_the_ready_line_names_the_backend_in_use(tmp_path: Path) -> None:
    env = clean_env(without_proxies=True)
    echo = run_agent("--backend", "echo", env=env).stderr
    assert "fsm-agent ready: backend echo, voice mei_voice_normal, alias 0" in echo
    assert "gpt-4o-mini" not in echo
    served = run_agent("--base-url", "http://127.0.0.1:9/v1", "--model", "llama3.2", env=env)
    assert "fsm-agent ready: model llama3.2 at http://127.0.0.1:9/v1" in served.stderr
