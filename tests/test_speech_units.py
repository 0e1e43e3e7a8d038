"""Speech units: a long sentence cut for one SYNTH_START each, and the rule files' terminators."""

from __future__ import annotations

import sys

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from fsm_agent.text.ruleset import load
from fsm_agent.text.speech_units import SPEECH_LIMIT, speech_units


def test_a_sentence_that_fits_is_one_unit() -> None:
    text = "x" * SPEECH_LIMIT
    assert speech_units(text, "en") == [text]
    assert speech_units("  short one.  ", "en") == ["short one."]
    assert speech_units("", "en") == []


def test_cut_at_the_last_soft_break_that_fits() -> None:
    text = "one, two, three, four, five, six, seven, eight"
    got = speech_units(text, "en", limit=20)
    assert got == ["one, two, three,", "four, five, six,", "seven, eight"]
    assert " ".join(got) == text


def test_cut_at_a_space_when_there_is_no_soft_break() -> None:
    text = "alpha beta gamma delta epsilon zeta eta theta"
    got = speech_units(text, "en", limit=20)
    assert all(len(u) <= 20 for u in got)
    assert " ".join(got) == text


def test_japanese_cuts_at_the_ideographic_comma() -> None:
    text = "今日はとても良い天気なので、" * 20 + "散歩に出かけました。"
    got = speech_units(text, "ja")
    assert len(got) > 1
    assert all(u.endswith("、") for u in got[:-1])
    assert "".join(got) == text


def test_text_without_any_break_is_cut_at_the_limit() -> None:
    assert speech_units("あ" * 120, "ja", limit=50) == ["あ" * 50, "あ" * 50, "あ" * 20]


def test_a_digit_weighs_two_and_a_half_characters() -> None:
    # The host's lip-sync string grows 28 bytes per digit against 8-11 per kana (recorded runs).
    digits = "１２３４５６７８９０" * 8
    got = speech_units(digits, "ja")
    assert [len(u) for u in got] == [SPEECH_LIMIT * 2 // 5, 80 - SPEECH_LIMIT * 2 // 5]


def test_sixty_digits_the_real_host_spoke_whole_stay_one_unit() -> None:
    sentence = "１２３４５６７８９０" * 6 + "。"
    assert speech_units(sentence, "ja") == [sentence]


def test_a_limit_below_one_digit_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        speech_units("text", "en", limit=2)


def test_base_lists_every_unicode_sentence_terminal() -> None:
    # _base.toml spells out Unicode's Sentence_Terminal (looking it up costs start-up time):
    # it must match the Unicode data of the installed regex module.
    want = {
        chr(cp)
        for cp in range(0x80, sys.maxunicode + 1)
        if regex.match(r"\p{Sentence_Terminal}", chr(cp))
    }
    terminators = set(load("en").terminators)
    assert want <= terminators
    assert {"।", "؟", "።", "။", "۔"} <= set(load("ja").terminators)


def _reference_units(sentence: str, lang: str, limit: int) -> list[str]:
    """The cut as first written: weigh and copy the whole rest of the sentence for each unit."""
    soft_break = load(lang).soft_break

    def fits(text: str) -> int:
        if len(text) + 1.5 * len(regex.findall(r"\p{Nd}", text)) <= limit:
            return len(text)
        used = 0.0
        for i, ch in enumerate(text):
            used += 2.5 if ch.isdigit() else 1
            if used > limit:
                return i
        return len(text)

    units: list[str] = []
    text = sentence.strip()
    while text:
        n = fits(text)
        if n == len(text):
            units.append(text)
            break
        cut = 0
        for m in soft_break.finditer(text, 1, n):
            cut = m.end()
        if cut <= 0:
            cut = max(text.rfind(" ", 1, n), text.rfind("\t", 1, n))
        if cut <= 0:
            cut = n
        units.append(text[:cut].strip())
        text = text[cut:].strip()
    return [u for u in units if u]


@settings(max_examples=400, deadline=None)
@given(
    sentence=st.lists(
        st.sampled_from([*"ab 1２、,;: -—\t\u3000\x1c。", "word ", "文字", " - ", ", ", "12345"]),
        max_size=120,
    ).map("".join),
    lang=st.sampled_from(["en", "ja", "auto"]),
    limit=st.integers(min_value=3, max_value=40),
)
def test_units_are_cut_as_by_weighing_the_whole_rest(sentence: str, lang: str, limit: int) -> None:
    assert speech_units(sentence, lang, limit) == _reference_units(sentence, lang, limit)


def test_a_huge_sentence_is_cut_into_units_of_the_limit() -> None:
    units = speech_units("word, " * 200_000, "en")  # 1.2 MB: once weighed whole for each unit
    assert len(units) == len("word, " * 200_000) // 168 + 1
    assert all(len(u) <= SPEECH_LIMIT and u.endswith(",") for u in units)
