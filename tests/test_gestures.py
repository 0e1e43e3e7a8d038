"""The gestures file: checked at start, filled in with nothing but our alias and voice."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from agent_cli import clean_env, run_agent

from fsm_agent.config.load import load_settings
from fsm_agent.core.gestures import (
    FORBIDDEN_TYPES,
    THINKING,
    Gestures,
    GesturesError,
    load_gestures,
    parse_gestures,
    prompt_with_tags,
)
from fsm_agent.core.settings import ConfigError

HAPPY = "MOTION_ADD|{alias}|emotion|motions/happy.vmd|PART|ONCE"
FILE = f"""
[tags.happy]
describe = "when you are glad"
voice = "mei_voice_happy"
send = ["{HAPPY}"]

[tags.Bow]
describe = "to greet or thank"
send = ["MOTION_ADD|{{alias}}|action|motions/action/ojigi.vmd|PART|ONCE",
        "TEXTAREA_SET|caption|{{voice}}"]

[tags.thinking]
send = ["MOTION_ADD|{{alias}}|action|motions/action/thinking.vmd|PART|ONCE"]
"""


def gestures(text: str = FILE) -> Gestures:
    return parse_gestures(tomllib.loads(text), "g.toml")


def test_lines_are_filled_in_with_our_alias_and_the_sentence_voice() -> None:
    g = gestures()
    assert g.lines("happy", "0", "mei_voice_happy") == [
        "MOTION_ADD|0|emotion|motions/happy.vmd|PART|ONCE"
    ]
    assert g.lines("BOW", "mei", "mei_voice_normal") == [
        "MOTION_ADD|mei|action|motions/action/ojigi.vmd|PART|ONCE",
        "TEXTAREA_SET|caption|mei_voice_normal",
    ]
    assert g.lines("unknown", "0", "v") == []
    assert g.voice("Happy") == "mei_voice_happy"
    assert g.voice("bow") is None


def test_the_thinking_tag_is_there_for_the_filler_but_not_offered_to_the_model() -> None:
    g = gestures()
    assert g.lines(THINKING, "0", "mei_voice_normal") == [
        "MOTION_ADD|0|action|motions/action/thinking.vmd|PART|ONCE"
    ]
    assert [t.name for t in g.described()] == ["happy", "bow"]


def test_the_allow_list_is_speech_and_the_types_in_the_file() -> None:
    assert gestures().allowed_types() == {"SYNTH_START", "SYNTH_STOP", "MOTION_ADD", "TEXTAREA_SET"}
    assert Gestures().allowed_types() == {"SYNTH_START", "SYNTH_STOP"}


@pytest.mark.parametrize(
    "kind",
    [
        *sorted(FORBIDDEN_TYPES),
        *["SUBFST_START", "REMOTEKEY_DOWN", "RECOG_EVENT_STOP", "RECOG_MODIFY", "LOG_X"],
        *["PLUGIN_X", "SYNTH_PAUSE"],
        *["SYNTH_EVENT_STOP", "MOTION_EVENT_ADD", "TIMER_EVENT_STOP", "EVENT_X"],
    ],
)
def test_a_forbidden_message_type_is_refused(kind: str) -> None:
    with pytest.raises(GesturesError, match=f"never sends {kind}") as info:
        gestures(f'[tags.x]\nsend = ["{kind}|a|b"]')
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[tags.x]\nsend = ["MOTION_ADD|{alias}|{text}|a.vmd"]', "{text}"),
        ('[tags.x]\nsend = ["MOTION_ADD|{alias|a.vmd"]', "lone brace"),
        ('[tags.x]\nsend = ["MOTION_ADD|0|a\\nEXECUTE|calc"]', "line break"),
        ('[tags.x]\nsend = ["MOTION_ADD|0|a\\u0000b"]', "control character"),
        ('[tags.x]\nsend = ["motion_add|0"]', "message type"),
        ('[tags.x]\nsend = [" "]', "non-empty"),
        ("[tags.x]\nsend = [1]", "non-empty"),
        ('[tags.x]\nsend = ["MOTION_ADD|' + "a" * 2000 + '"]', "longer"),
        ('[tags.x]\nvoice = "a|b"', "voice"),
        ('[tags.x]\nvoice = "two words"', "voice"),
        ('[tags.x]\nmotion = "a.vmd"', "unknown key 'motion'"),
        ('[tags."a b"]\nvoice = "v"', "tag name"),
        ("[tags.a]\n[tags.A]", "defined twice"),
        ('tags = "x"', "tables"),
        ('[happy]\nvoice = "v"', "unknown key 'happy'"),
        ("[tags]\nx = 1", "must be a table"),
    ],
)
def test_an_entry_that_cannot_work_is_a_one_line_error(text: str, says: str) -> None:
    with pytest.raises(GesturesError, match=re.escape(says)) as info:
        gestures(text)
    assert "\n" not in str(info.value)


def test_a_notepad_file_with_bom_and_crlf_loads(tmp_path: Path) -> None:
    path = tmp_path / "gestures.toml"
    path.write_bytes(b"\xef\xbb\xbf" + FILE.replace("\n", "\r\n").encode("utf-8"))
    assert load_gestures(path).voice("happy") == "mei_voice_happy"


def test_a_missing_or_broken_file_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(GesturesError, match="cannot read"):
        load_gestures(tmp_path / "nope.toml")
    (tmp_path / "bad.toml").write_text("[tags.x\n", encoding="utf-8")
    with pytest.raises(GesturesError, match="not valid TOML"):
        load_gestures(tmp_path / "bad.toml")


def test_the_setting_is_relative_to_the_config_file_and_checked(tmp_path: Path) -> None:
    (tmp_path / "g.toml").write_text('[tags.x]\nsend = ["EXECUTE|calc.exe"]', encoding="utf-8")
    (tmp_path / "agent.toml").write_text('gestures = "g.toml"', encoding="utf-8")
    with pytest.raises(ConfigError, match="never sends EXECUTE"):
        load_settings(tmp_path / "agent.toml", environ={})


# ---- the system prompt -------------------------------------------------------------------------


def test_the_prompt_lists_the_described_tags() -> None:
    prompt = prompt_with_tags("You are Mei.", gestures())
    assert prompt.startswith("You are Mei.\n\n")
    assert "[happy]: when you are glad" in prompt
    assert "[bow]: to greet or thank" in prompt
    assert "thinking" not in prompt


def test_the_prompt_is_left_alone_when_it_already_names_the_tags_or_when_told() -> None:
    own = "You are Mei. Start a glad sentence with [happy] and a greeting with [Bow]."
    assert prompt_with_tags(own, gestures()) == own
    assert prompt_with_tags(own, gestures(), "always") != own
    assert prompt_with_tags("You are Mei.", gestures(), "never") == "You are Mei."
    assert prompt_with_tags("You are Mei.", Gestures()) == "You are Mei."


# ---- at start, the real command ------------------------------------------------------------------


def test_the_command_refuses_a_forbidden_type_at_start_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "g.toml").write_text(
        '[tags.open]\ndescribe = "x"\nsend = ["KEYVALUE_SET|_RequestedURL|https://x.example"]\n',
        encoding="utf-8",
    )
    result = run_agent(
        "--backend", "echo", "--gestures", "g.toml", stdin="", cwd=tmp_path, env=clean_env()
    )
    assert result.returncode == 2
    assert result.stdout == ""  # nothing reached the host
    assert result.stderr.strip().count("\n") == 0
    assert "never sends KEYVALUE_SET" in result.stderr
    assert "Traceback" not in result.stderr


# ---- the example for MMDAgent-EX's example content ---------------------------------------------


def test_the_example_file_loads_and_the_readme_shows_it() -> None:
    from fsm_agent.modes.demo import example_gestures
    from fsm_agent.sim.host_sim import DEFAULT_VOICES

    path = example_gestures()
    g = load_gestures(path)
    assert {t.voice for t in g.tags.values() if t.voice} <= DEFAULT_VOICES
    assert g.lines(THINKING, "0", "mei_voice_normal")
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert path.read_text(encoding="utf-8").rstrip() in readme


def test_the_controller_prints_nothing_off_the_allow_list(caplog: pytest.LogCaptureFixture) -> None:
    from fsm_agent.core.controller import Controller
    from fsm_agent.core.events import Send
    from fsm_agent.core.settings import Settings

    controller = Controller(Settings(), gestures=gestures())
    assert controller.allowed_types == gestures().allowed_types()
    controller._out = []
    controller._emit(Send("EXECUTE|calc.exe"))
    controller._emit(Send("MOTION_ADD|0|a|b.vmd|PART|ONCE"))
    assert controller._out == [Send("MOTION_ADD|0|a|b.vmd|PART|ONCE")]
    assert "not sent" in caplog.text


def test_the_tags_are_added_once_also_to_a_history_given_to_the_controller() -> None:
    from fsm_agent.core.controller import Controller
    from fsm_agent.core.history import History
    from fsm_agent.core.settings import Settings

    once = prompt_with_tags("You are Mei.", gestures(), "always")
    assert prompt_with_tags(once, gestures(), "always") == once
    history = History("You are Mei.")
    controller = Controller(Settings(describe_tags="always"), history, gestures())
    assert controller.history.system_prompt == once
    assert Controller(Settings(), history, gestures()).history.system_prompt == once
