from __future__ import annotations

from pathlib import Path

import pytest

from fsm_agent.config import ConfigError, load_settings


def test_defaults() -> None:
    s = load_settings(environ={})
    assert (s.voice, s.alias, s.lang, s.barge_in) == ("mei_voice_normal", "0", "auto", "final")
    assert s.base_url is None


def test_precedence_defaults_file_environment_flags(tmp_path: Path) -> None:
    cfg = tmp_path / "agent.toml"
    cfg.write_text(
        'voice = "from_file"\nalias = "1"\nmodel = "file-model"\nhistory-turns = 7\n',
        encoding="utf-8",
    )
    env = {"FSM_AGENT_VOICE": "from_env", "OPENAI_MODEL": "env-model"}
    s = load_settings(cfg, {"voice": "from_flag"}, env)
    assert s.voice == "from_flag"
    assert s.model == "env-model"
    assert s.alias == "1"
    assert s.history_turns == 7


def test_openai_environment_variables(tmp_path: Path) -> None:
    s = load_settings(
        environ={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "sk-x"}
    )
    assert s.base_url == "http://127.0.0.1:9/v1"
    assert s.api_key({"OPENAI_API_KEY": "sk-x"}) == "sk-x"


def test_relative_paths_in_the_file_are_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "prompt.txt").write_text("あなたはジェネです。", encoding="utf-8")
    cfg = tmp_path / "agent.toml"
    cfg.write_text('prompt_file = "prompt.txt"\n', encoding="utf-8")
    s = load_settings(cfg, environ={})
    assert s.resolved_prompt() == "あなたはジェネです。"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("voise = 'x'", "unknown setting 'voise'"),
        ("barge_in = 'sometimes'", "barge_in must be one of"),
        ("history_turns = 'many'", "history_turns"),
        ("synth_timeout = 0", "synth_timeout must be more than 0"),
        ("lang = 'xx'", "lang must be one of"),
        ("this is not toml", "not valid TOML"),
    ],
)
def test_bad_settings_give_one_clear_message(tmp_path: Path, toml: str, message: str) -> None:
    cfg = tmp_path / "agent.toml"
    cfg.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(cfg, environ={})


def test_environment_values_are_converted() -> None:
    s = load_settings(environ={"FSM_AGENT_SYNTH_TIMEOUT": "2.5", "FSM_AGENT_KEEP_EMOJI": "yes"})
    assert s.synth_timeout == 2.5
    assert s.keep_emoji is True
    with pytest.raises(ConfigError):
        load_settings(environ={"FSM_AGENT_KEEP_EMOJI": "perhaps"})
