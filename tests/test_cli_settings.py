"""Settings as the ``fsm-agent`` command line builds them: flags over environment over TOML."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from agent_cli import run_agent

from fsm_agent.cli import build_parser
from fsm_agent.config.flags import settings_from_args


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("FSM_AGENT_", "OPENAI_")):
            monkeypatch.delenv(name)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    prompt = tmp_path / "p.txt"
    prompt.write_text("prompt from the file", encoding="utf-8")
    cfg = tmp_path / "agent.toml"
    cfg.write_text('prompt_file = "p.txt"\n', encoding="utf-8")
    return cfg, prompt


def prompt_of(*argv: str) -> str:
    return settings_from_args(build_parser().parse_args(list(argv))).system_prompt


def test_system_prompt_flag_beats_a_prompt_file_in_the_toml(setup: tuple[Path, Path]) -> None:
    cfg, _ = setup
    assert prompt_of("--config", str(cfg)) == "prompt from the file"
    assert prompt_of("--config", str(cfg), "--system-prompt", "flag") == "flag"


def test_environment_prompt_beats_a_prompt_file_in_the_toml(
    setup: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, _ = setup
    monkeypatch.setenv("FSM_AGENT_SYSTEM_PROMPT", "env")
    assert prompt_of("--config", str(cfg)) == "env"
    assert prompt_of("--config", str(cfg), "--system-prompt", "flag") == "flag"


def test_prompt_file_flag_beats_an_environment_prompt(
    setup: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, prompt = setup
    monkeypatch.setenv("FSM_AGENT_SYSTEM_PROMPT", "env")
    assert prompt_of("--prompt-file", str(prompt)) == "prompt from the file"


def test_both_prompt_flags_is_a_one_line_error(setup: tuple[Path, Path]) -> None:
    _, prompt = setup
    env = {**os.environ, "OPENAI_API_KEY": "sk-unused"}
    out = run_agent("--prompt-file", str(prompt), "--system-prompt", "X", env=env)
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "fsm-agent: error: --system-prompt and --prompt-file are both given; give only one of them"
    )


def test_log_level_flag_in_any_case() -> None:
    args = build_parser().parse_args(["--log-level", "DEBUG"])
    assert settings_from_args(args).log_level == "debug"
