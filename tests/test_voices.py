"""Never crash the host: Open JTalk voices get no ASCII; a voice per language (issue 11).

MMDAgent-EX's Open_JTalk plugin overflows its heap on a sentence whose ASCII bytes outnumber its
other bytes (PROTOCOL.md, "HOST CRASH"). Widened to full-width the same sentence says the same
and cannot crash it; Flite's English voices (slt_*) must get the text as it is.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsm_agent.config.load import load_settings
from fsm_agent.core.controller import Controller
from fsm_agent.core.events import Chunk, Send, StreamEnd, SynthStarted, SynthStopped, Utterance
from fsm_agent.core.settings import ConfigError, Settings
from fsm_agent.core.voices import (
    VoiceBook,
    engine_of,
    is_safe_for_open_jtalk,
    sentence_language,
    widen_ascii,
)
from fsm_agent.text.cleanup import SpeechCleaner

CRASHERS = [
    "Hello! My name is Mei.",
    "See https://example.com/path?q=1&r=2 for more.",
    "1234567890" * 4,
    "番号は" + "0123456789" * 4 + "です。",
]


def say(settings: Settings, reply: str) -> tuple[list[tuple[str, str]], Controller]:
    """Play a whole reply; return (voice, text) of every SYNTH_START, and the controller."""
    c = Controller(settings)
    out = c.handle(Utterance("hi"))
    out += c.handle(Chunk(c.gen, reply)) + c.handle(StreamEnd(c.gen))
    lines: list[tuple[str, str]] = []
    while True:
        said = [cmd.line.split("|", 3) for cmd in out if isinstance(cmd, Send)]
        lines += [(f[2], f[3]) for f in said if f[0] == "SYNTH_START"]
        if not said:
            return lines, c
        out = c.handle(SynthStarted()) + c.handle(SynthStopped())


@pytest.mark.parametrize("text", CRASHERS)
def test_what_would_crash_open_jtalk_reaches_it_only_widened(text: str) -> None:
    assert not is_safe_for_open_jtalk(text)
    lines, c = say(replace(Settings(), lang="auto"), text)
    assert lines
    for voice, line in lines:
        assert voice == "mei_voice_normal"
        assert all(ch == " " or ch >= "\x80" for ch in line)
        assert is_safe_for_open_jtalk(line)
    spoken = SpeechCleaner().clean(text)  # a bare URL is said as its host (cleanup's rule)
    assert " ".join(line for _, line in lines) == widen_ascii(spoken)
    assert c.history.turns[-1].assistant == spoken  # the history keeps what was said


@pytest.mark.parametrize("text", CRASHERS)
def test_flite_voices_get_the_text_as_it_is(text: str) -> None:
    lines, _ = say(replace(Settings(), lang="auto", voice="slt_voice_normal"), text)
    spoken = SpeechCleaner().clean(text)
    assert "".join(line for _, line in lines).replace(" ", "") == spoken.replace(" ", "")


def test_a_content_says_which_engine_its_voices_belong_to() -> None:
    pairs = (("my_english", "flite"), ("slt_japanese", "open_jtalk"))
    assert engine_of("my_english", pairs) == "flite"
    assert engine_of("slt_japanese", pairs) == "open_jtalk"
    assert engine_of("slt_voice_normal") == "flite"
    assert engine_of("mei_voice_happy") == "open_jtalk"
    assert engine_of("anything_else") == "open_jtalk"  # the safe guess
    s = load_settings(overrides={"voice": "my_english", "voice_engines": "my_english=flite"})
    lines, _ = say(replace(s, lang="en"), "Hello there.")
    assert lines == [("my_english", "Hello there.")]


def test_a_voice_per_language_for_a_bilingual_avatar() -> None:
    s = load_settings(
        overrides={"voices": {"ja": "mei_voice_normal", "en": "slt_voice_normal"}, "lang": "auto"},
        environ={},
    )
    lines, c = say(s, "こんにちは。Nice to meet you. 今日は2024年です。Bye!")
    assert lines == [
        ("mei_voice_normal", "こんにちは。"),
        ("slt_voice_normal", "Nice to meet you."),
        ("mei_voice_normal", "今日は２０２４年です。"),
        ("slt_voice_normal", "Bye!"),
    ]
    heard = c.history.turns[-1].assistant  # as the LLM wrote it, not widened
    assert heard == "こんにちは。 Nice to meet you. 今日は2024年です。 Bye!"


def test_without_voices_every_sentence_takes_voice() -> None:
    lines, _ = say(replace(Settings(), lang="auto", voice="slt_voice_normal"), "はい。Yes.")
    assert [v for v, _ in lines] == ["slt_voice_normal", "slt_voice_normal"]


@pytest.mark.parametrize(
    ("text", "langs", "lang"),
    [
        ("こんにちは", ("ja", "en"), "ja"),
        ("漢字だけ", ("ja",), "ja"),
        ("你好", ("zh", "ja"), "zh"),
        ("你好", ("ja", "en"), "ja"),
        ("안녕하세요", ("ko", "en"), "ko"),
        ("Привет", ("ru",), "ru"),
        ("Bonjour", ("fr", "ja"), "fr"),
        ("Hello", ("ja",), None),
        ("123!", ("ja", "en"), None),
    ],
)
def test_the_language_of_a_sentence_is_its_script(
    text: str, langs: tuple[str, ...], lang: str | None
) -> None:
    assert sentence_language(text, langs) == lang
    book = VoiceBook("default", [(x, f"v_{x}") for x in langs])
    assert book.voice_for(text) == (f"v_{lang}" if lang else "default")


def test_bad_voice_settings_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="voices: 'xx' is not a language"):
        load_settings(overrides={"voices": "xx=v"}, environ={})
    with pytest.raises(ConfigError, match="the engine is one of"):
        load_settings(overrides={"voice_engines": "v=espeak"}, environ={})
    with pytest.raises(ConfigError, match="not KEY=VALUE"):
        load_settings(overrides={"voices": "ja"}, environ={})


def test_a_long_ascii_sentence_still_fits_each_line_once_widened() -> None:
    text = ("word " * 600).strip() + "."
    lines, _ = say(replace(Settings(), lang="en"), text)
    assert len(lines) > 1
    for voice, line in lines:
        assert len(f"SYNTH_START|0|{voice}|{line}".encode()) <= 2000
        assert is_safe_for_open_jtalk(line)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_no_text_ever_reaches_an_open_jtalk_voice_in_a_form_that_could_crash_it(text: str) -> None:
    lines, _ = say(replace(Settings(), lang="auto"), text)
    for _, line in lines:
        assert is_safe_for_open_jtalk(line)
        assert len(f"SYNTH_START|0|mei_voice_normal|{line}".encode()) <= 2000
