"""An error that stops fsm-agent at start is one line, and lands in the log file too.

Under MMDAgent-EX on Windows nobody sees stderr, so the log file (or, where it cannot be
written, ``fsm-agent-error.log`` beside the TOML file) is the only place such an error is found.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_cli import clean_env, run_agent

from fsm_agent.config.startup_log import FALLBACK_NAME, startup_log_targets


def start(tmp_path: Path, *flags: str, **env: str) -> tuple[int, str]:
    """Start the AnyScript mode in ``tmp_path`` as MMDAgent-EX would; (status, stderr)."""
    result = run_agent(*flags, cwd=tmp_path, env=clean_env(without_proxies=True, **env))
    return result.returncode, result.stderr


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fsm-agent: error: "), stderr
    return lines[0].removeprefix("fsm-agent: error: ")


def test_no_key_with_a_log_file_in_the_toml_lands_in_that_log_file(tmp_path: Path) -> None:
    (tmp_path / "agent.toml").write_text('log_file = "logs/agent.log"\n', encoding="utf-8")
    (tmp_path / "logs").mkdir()
    status, stderr = start(tmp_path, "--config", "agent.toml")
    assert status == 2
    error = one_error_line(stderr)
    assert "no API key" in error
    logged = (tmp_path / "logs" / "agent.log").read_text(encoding="utf-8")
    assert f"ERROR fsm_agent: could not start: {error}\n" in logged
    assert not (tmp_path / FALLBACK_NAME).exists()


@pytest.mark.parametrize(
    ("toml", "flags", "expected"),
    [
        ('log_file = "x.log"\nsynth_timeout = -1\n', [], "synth_timeout must be more than 0"),
        ('log_file = "x.log"\nbackend = "echo"\n', ["--history-turns", "2.5"], "whole number"),
        ('log_file = "x.log"\nbackend = "echo"\n', ["--modle", "x"], "did you mean --model?"),
        ('log_file = "x.log"\nprompt_file = "missing.txt"\n', [], "cannot read the prompt file"),
        ('log_file = "x.log"\nbackend = "script:none.txt"\n', [], "cannot read the reply script"),
        ('log_file = "x.log"\nbase_url = "localhost:11434/v1"\n', [], "http://localhost:11434/v1"),
    ],
)
def test_every_kind_of_start_up_error_lands_in_the_log_file(
    tmp_path: Path, toml: str, flags: list[str], expected: str
) -> None:
    (tmp_path / "agent.toml").write_text(toml, encoding="utf-8")
    status, stderr = start(tmp_path, "--config", "agent.toml", *flags)
    assert status == 2
    error = one_error_line(stderr)
    assert expected in error
    assert f"could not start: {error}\n" in (tmp_path / "x.log").read_text(encoding="utf-8")


def test_a_log_file_that_cannot_be_opened_sends_the_error_beside_the_toml(tmp_path: Path) -> None:
    (tmp_path / "agent.toml").write_text(
        'log_file = "no/such/dir/agent.log"\nbackend = "echo"\n', encoding="utf-8"
    )
    status, stderr = start(tmp_path, "--config", "agent.toml")
    assert status == 2
    error = one_error_line(stderr)
    assert error.startswith("cannot write the log file ")
    logged = (tmp_path / FALLBACK_NAME).read_text(encoding="utf-8")
    assert f"could not start: {error}\n" in logged


def test_a_toml_file_that_cannot_be_read_sends_the_error_beside_it(tmp_path: Path) -> None:
    (tmp_path / "agent.toml").write_text('log_file = "x.log"\nmodel = gpt\n', encoding="utf-8")
    status, stderr = start(tmp_path, "--config", "agent.toml")
    assert status == 2
    error = one_error_line(stderr)
    assert "is not valid TOML" in error
    assert error in (tmp_path / FALLBACK_NAME).read_text(encoding="utf-8")


def test_the_log_file_flag_and_variable_are_found_before_the_settings_load(tmp_path: Path) -> None:
    status, stderr = start(tmp_path, "--log-file", "flag.log", "--max-retries", "x")
    assert status == 2
    assert one_error_line(stderr) in (tmp_path / "flag.log").read_text(encoding="utf-8")
    status, stderr = start(tmp_path, "--alias", "a b", FSM_AGENT_LOG_FILE="env.log")
    assert status == 2
    assert one_error_line(stderr) in (tmp_path / "env.log").read_text(encoding="utf-8")


def test_an_error_is_appended_to_the_log_not_written_over_it(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    log.write_text("earlier session\n", encoding="utf-8")
    start(tmp_path, "--log-file", "agent.log")
    start(tmp_path, "--log-file", "agent.log")
    text = log.read_text(encoding="utf-8")
    assert text.startswith("earlier session\n")
    assert text.count("could not start: no API key") == 2


def test_without_a_log_file_or_toml_nothing_is_written(tmp_path: Path) -> None:
    status, _ = start(tmp_path)
    assert status == 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "env", "toml", "expected"),
    [
        (["--log-file", "a.log"], {}, None, ["a.log"]),
        (["--log-file=a.log", "--config", "c/x.toml"], {}, None, ["a.log", "c/" + FALLBACK_NAME]),
        ([], {"FSM_AGENT_LOG_FILE": "e.log"}, None, ["e.log"]),
        (["--config", "c/x.toml"], {}, 'log-file = "t.log"', ["c/t.log", "c/" + FALLBACK_NAME]),
        (["--config", "c/x.toml"], {}, 'model = "m"', []),
        (["--config", "c/x.toml"], {}, "model = ", ["c/" + FALLBACK_NAME]),
        (["--config", "c/missing.toml"], {}, None, ["c/" + FALLBACK_NAME]),
    ],
)
def test_where_a_start_up_error_goes(
    tmp_path: Path, argv: list[str], env: dict[str, str], toml: str | None, expected: list[str]
) -> None:
    (tmp_path / "c").mkdir()
    if toml is not None:
        (tmp_path / "c" / "x.toml").write_text(toml, encoding="utf-8")
    argv = [str(tmp_path / w) if w.startswith("c/") else w for w in argv]
    found = startup_log_targets(argv, env)
    assert [p.as_posix().removeprefix(tmp_path.as_posix() + "/") for p in found] == expected
