"""Which local text-to-speech program ``chat --speak`` uses, and how it is called."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fsm_agent.core.settings import ConfigError
from fsm_agent.modes.tts import NOT_FOUND, TEXT_VARIABLE, find_tts, tts_from_command


def on_path(*names: str) -> Callable[[str], str | None]:
    return lambda name: f"/bin/{name}" if name in names else None


def test_espeak_ng_first_with_a_voice_from_the_script() -> None:
    program = find_tts(on_path("espeak-ng", "espeak", "spd-say"), "linux")
    assert program.command("Hello.") == ["/bin/espeak-ng", "Hello."]
    assert program.command("こんにちは。") == ["/bin/espeak-ng", "-v", "ja", "こんにちは。"]
    assert program.command("你好。") == ["/bin/espeak-ng", "-v", "cmn", "你好。"]
    assert program.command("-5 degrees.") == ["/bin/espeak-ng", " -5 degrees."]
    assert program.environment("Hello.") is None and program.cancel == ()


def test_spd_say_waits_for_the_sentence_and_is_cancelled_in_the_daemon() -> None:
    program = find_tts(on_path("spd-say", "say"), "linux")
    assert program.command("안녕하세요.") == ["/bin/spd-say", "--wait", "-l", "ko", "안녕하세요."]
    assert program.cancel == ("/bin/spd-say", "--cancel")


def test_say_on_macos_only() -> None:
    assert find_tts(on_path("say"), "darwin").command("Hi.") == ["/bin/say", "Hi."]
    with pytest.raises(ConfigError, match="found no text-to-speech program"):
        find_tts(on_path("say"), "linux")


def test_powershell_on_windows_reads_the_sentence_from_its_environment() -> None:
    program = find_tts(on_path("powershell"), "win32")
    words = program.command('Say "this"; exit | 1.')
    assert words[0] == "/bin/powershell" and 'Say "this"' not in " ".join(words)
    assert "System.Speech" in words[-1] and f"$env:{TEXT_VARIABLE}" in words[-1]
    assert program.environment("こんにちは。")[TEXT_VARIABLE] == "こんにちは。"  # type: ignore[index]
    assert find_tts(on_path("pwsh"), "win32").argv[0] == "/bin/pwsh"
    with pytest.raises(ConfigError):
        find_tts(on_path("powershell"), "linux")


def test_nothing_found_is_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        find_tts(on_path(), "win32")
    assert str(caught.value) == NOT_FOUND and "\n" not in NOT_FOUND
    assert "espeak-ng" in NOT_FOUND and "--tts-command" in NOT_FOUND


def test_tts_command_is_split_without_a_shell() -> None:
    program = tts_from_command("espeak-ng -v en-us -s 160", on_path("espeak-ng"))
    assert program.command("Hi; rm -rf /.") == [
        "/bin/espeak-ng",
        *("-v", "en-us", "-s", "160"),
        "Hi; rm -rf /.",
    ]
    alone = tts_from_command("espeak-ng", on_path("espeak-ng"))
    assert alone.command("はい。") == ["/bin/espeak-ng", "-v", "ja", "はい。"]
    with pytest.raises(ConfigError, match="cannot find the program"):
        tts_from_command("nothing-here --fast", on_path())
