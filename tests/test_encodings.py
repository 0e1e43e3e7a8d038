"""Files as Windows editors save them: UTF-8 with a BOM and CRLF is read; Shift_JIS is refused
with what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_cli import clean_env, run_agent

from fsm_agent.backends.offline import ScriptedReplies
from fsm_agent.config.load import load_settings
from fsm_agent.core.settings import ConfigError
from fsm_agent.modes.replay import _read_bytes
from fsm_agent.text.files import TextFileError, read_text_file

BOM = b"\xef\xbb\xbf"
PROMPT = "あなたは優しい案内係です。\n短く答えてください。"


def notepad(path: Path, text: str) -> Path:
    """Write ``text`` as Notepad's "UTF-8 with BOM" does: a BOM and CRLF line ends."""
    path.write_bytes(BOM + text.replace("\n", "\r\n").encode("utf-8"))
    return path


def test_a_notepad_toml_and_prompt_file_are_read_without_the_bom(tmp_path: Path) -> None:
    notepad(tmp_path / "prompt.txt", PROMPT + "\n")
    config = notepad(
        tmp_path / "agent.toml",
        'model = "llama3.2"\nvoice = "mei_voice_normal"\nprompt_file = "prompt.txt"\n',
    )
    settings = load_settings(config, environ={})
    assert settings.model == "llama3.2"
    assert settings.resolved_prompt() == PROMPT  # no BOM, no CR


def test_a_notepad_reply_script_and_transcript_are_read_without_the_bom(tmp_path: Path) -> None:
    script = notepad(tmp_path / "replies.txt", "こんにちは。\n---\nさようなら。\n")
    assert ScriptedReplies(script).replies == ["こんにちは。", "さようなら。"]
    transcript = notepad(tmp_path / "talk.txt", "RECOG_EVENT_STOP|こんにちは\n")
    assert _read_bytes(transcript)[0] == "RECOG_EVENT_STOP|こんにちは".encode()


@pytest.mark.parametrize(
    ("data", "seems"),
    [
        (PROMPT.encode("cp932"), "it looks like Shift_JIS"),
        ("日本語と①".encode("cp932"), "it looks like Shift_JIS"),
        (PROMPT.encode("utf-16"), "is UTF-16"),
    ],
)
def test_a_file_in_another_encoding_says_save_it_as_utf8(
    tmp_path: Path, data: bytes, seems: str
) -> None:
    path = tmp_path / "prompt.txt"
    path.write_bytes(data)
    with pytest.raises(TextFileError) as caught:
        read_text_file(path, "the prompt file")
    message = str(caught.value)
    assert message.startswith(f"the prompt file {path} ")
    assert seems in message
    assert "save it as UTF-8" in message


def test_a_shift_jis_prompt_file_is_one_line_at_start(tmp_path: Path) -> None:
    (tmp_path / "prompt.txt").write_bytes(PROMPT.encode("cp932"))
    (tmp_path / "agent.toml").write_text('prompt_file = "prompt.txt"\n', encoding="utf-8")
    out = run_agent("--backend", "echo", "--config", "agent.toml", cwd=tmp_path, env=clean_env())
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "is not UTF-8 (it looks like Shift_JIS)" in lines[0]
    assert "save it as UTF-8" in lines[0]


def test_a_shift_jis_toml_file_is_refused_not_misread(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_bytes('error_reply = "ごめんなさい"\n'.encode("cp932"))
    with pytest.raises(ConfigError, match=r"the config file .* is not UTF-8 .*save it as UTF-8"):
        load_settings(config, environ={})


def test_a_notepad_toml_and_transcript_run_the_real_process(tmp_path: Path) -> None:
    notepad(tmp_path / "agent.toml", 'backend = "echo"\nvoice = "mei_voice_normal"\n')
    notepad(tmp_path / "talk.txt", "RECOG_EVENT_STOP|こんにちは\n")
    out = run_agent("replay", "talk.txt", "--config", "agent.toml", cwd=tmp_path, env=clean_env())
    assert out.returncode == 0, out.stderr
    said = [line for line in out.stdout.splitlines() if "agent>  SYNTH_START|0|" in line]
    # "You said:" first (the first clause), then the echo
    assert len(said) == 2 and said[1].endswith("こんにちは"), out.stdout  # no BOM, no mojibake
