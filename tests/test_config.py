from __future__ import annotations

from pathlib import Path

import pytest

from fsm_agent.config.load import load_settings
from fsm_agent.core.settings import ConfigError


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


def test_the_history_file_is_relative_to_the_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "agent.toml"
    cfg.write_text('history_file = "memory/mei.jsonl"\nsummarize = true\n', encoding="utf-8")
    s = load_settings(cfg, environ={})
    assert s.history_file == tmp_path / "memory" / "mei.jsonl"
    assert s.summarize is True


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("voise = 'x'", "unknown setting 'voise'"),
        ("barge_in = 'sometimes'", "barge_in must be one of"),
        ("barge_in_mark = 'stars'", "barge_in_mark must be one of"),
        ("summary_tokens = 5", "summary_tokens must be at least"),
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


@pytest.mark.parametrize("name", ["synth_timeout", "stream_timeout", "synth_seconds_per_char"])
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), 1e300, -1.0])
def test_non_finite_huge_or_negative_seconds_are_rejected(name: str, value: float) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings(overrides={name: value}, environ={})
    with pytest.raises(ConfigError, match=name):
        load_settings(environ={f"FSM_AGENT_{name.upper()}": str(value)})


def test_the_largest_sane_seconds_are_accepted() -> None:
    s = load_settings(
        overrides={"synth_timeout": 3600, "stream_timeout": 3600, "synth_seconds_per_char": 60},
        environ={},
    )
    assert (s.synth_timeout, s.stream_timeout, s.synth_seconds_per_char) == (3600, 3600, 60)


@pytest.mark.parametrize(
    "toml", ["history_turns = 1.7", "history_tokens = 2.5", "max_retries = true"]
)
def test_integer_settings_reject_fractions_and_booleans(tmp_path: Path, toml: str) -> None:
    cfg = tmp_path / "agent.toml"
    cfg.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=toml.split()[0]):
        load_settings(cfg, environ={})


def test_a_whole_float_is_an_integer(tmp_path: Path) -> None:
    cfg = tmp_path / "agent.toml"
    cfg.write_text("history_turns = 3.0", encoding="utf-8")
    assert load_settings(cfg, environ={}).history_turns == 3


def test_log_level_in_any_case(tmp_path: Path) -> None:
    cfg = tmp_path / "agent.toml"
    cfg.write_text('log_level = "DEBUG"', encoding="utf-8")
    assert load_settings(cfg, environ={}).log_level.lower() == "debug"
    assert load_settings(environ={"FSM_AGENT_LOG_LEVEL": "Warning"}).log_level.lower() == "warning"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("alias", "a|b", "alias must be one word"),
        ("alias", "a b", "alias must be one word"),
        ("alias", "0\t", "alias must be one word"),
        ("alias", "0\n", "alias must be one word"),
        ("alias", "", "alias must not be empty"),
        ("voice", " ", "voice must not be empty"),
        ("voice", "v" * 101, "voice must be at most 100 bytes"),
        ("alias", "あ" * 34, "alias must be at most 100 bytes"),
        ("voice", "v" * 3000, "voice must be at most 100 bytes"),
    ],
)
def test_aliases_that_could_not_work_are_rejected(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(overrides={name: value}, environ={})


def test_the_longest_aliases_still_leave_room_for_a_sentence() -> None:
    from fsm_agent.core import protocol

    s = load_settings(overrides={"alias": "a" * 100, "voice": "v" * 100}, environ={})
    pieces = protocol.speakable_pieces(s.alias, s.voice, "長い文、" * 600)
    assert len(pieces) > 1
    for piece in pieces:
        assert (
            len(protocol.synth_start(s.alias, s.voice, piece).encode()) <= protocol.MAX_LINE_BYTES
        )


# ---- the system prompt and the prompt file are one setting ---------------------------------


@pytest.fixture
def prompt_file(tmp_path: Path) -> Path:
    path = tmp_path / "prompt.txt"
    path.write_text("from the file", encoding="utf-8")
    return path


def _prompt(cfg: Path | None, flags: dict[str, object], env: dict[str, str]) -> str:
    return load_settings(cfg, flags, env).resolved_prompt()


def test_a_later_source_wins_whichever_prompt_key_it_uses(
    tmp_path: Path, prompt_file: Path
) -> None:
    cfg = tmp_path / "agent.toml"
    cfg.write_text(f"prompt_file = '{prompt_file.name}'", encoding="utf-8")
    assert _prompt(cfg, {}, {}) == "from the file"
    assert _prompt(cfg, {"system_prompt": "flag"}, {}) == "flag"
    assert _prompt(cfg, {}, {"FSM_AGENT_SYSTEM_PROMPT": "env"}) == "env"
    assert _prompt(cfg, {"system_prompt": "flag"}, {"FSM_AGENT_SYSTEM_PROMPT": "env"}) == "flag"
    cfg.write_text("system_prompt = 'toml'", encoding="utf-8")
    env = {"FSM_AGENT_PROMPT_FILE": str(prompt_file)}
    assert _prompt(cfg, {}, env) == "from the file"
    assert _prompt(cfg, {"system_prompt": "flag"}, env) == "flag"
    assert _prompt(None, {"prompt_file": prompt_file}, {"FSM_AGENT_SYSTEM_PROMPT": "env"}) == (
        "from the file"
    )


@pytest.mark.parametrize("where", ["flags", "environment", "toml"])
def test_both_prompt_keys_in_one_source_is_an_error(
    tmp_path: Path, prompt_file: Path, where: str
) -> None:
    cfg, flags, env = None, {}, {}
    if where == "flags":
        flags = {"system_prompt": "x", "prompt_file": prompt_file}
        message = "--system-prompt and --prompt-file are both given"
    elif where == "environment":
        env = {"FSM_AGENT_SYSTEM_PROMPT": "x", "FSM_AGENT_PROMPT_FILE": str(prompt_file)}
        message = "FSM_AGENT_SYSTEM_PROMPT and FSM_AGENT_PROMPT_FILE are both given"
    else:
        cfg = tmp_path / "agent.toml"
        cfg.write_text(f"system_prompt = 'x'\nprompt_file = '{prompt_file.name}'", encoding="utf-8")
        message = "system_prompt and prompt_file are both given"
    with pytest.raises(ConfigError, match=message):
        load_settings(cfg, flags, env)


def test_a_file_written_by_notepad_bom_and_crlf_is_read(tmp_path: Path) -> None:
    prompt = tmp_path / "prompt.txt"
    prompt.write_bytes("\ufeffあなたはメイです。\r\n".encode())
    config = tmp_path / "agent.toml"
    text = (
        'voice = "mei_voice_happy"\r\nprompt_file = "prompt.txt"\r\n'
        'voices = { ja = "mei_voice_normal", en = "slt_voice_normal" }\r\n'
        'voice_engines = { my_en = "flite" }\r\n'
    )
    config.write_bytes(("\ufeff" + text).encode())
    s = load_settings(config, environ={})
    assert s.voice == "mei_voice_happy"
    assert s.voices == (("ja", "mei_voice_normal"), ("en", "slt_voice_normal"))
    assert s.voice_engines == (("my_en", "flite"),)
    assert s.resolved_prompt() == "あなたはメイです。"


@pytest.mark.parametrize(
    ("value", "pairs"),
    [
        (
            "ja=mei_voice_normal,en=slt_voice_normal",
            (("ja", "mei_voice_normal"), ("en", "slt_voice_normal")),
        ),
        (" ja = mei_voice_normal , ", (("ja", "mei_voice_normal"),)),
        ("", ()),
    ],
)
def test_voices_from_the_environment(value: str, pairs: tuple[tuple[str, str], ...]) -> None:
    s = load_settings(environ={"FSM_AGENT_VOICES": value})
    assert s.voices == pairs
