"""Speech cleanup: markdown and emoji reduced to what a person would read aloud."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsm_agent.text.cleanup import _PLAIN, _SPACES, _SPEAKABLE, SpeechCleaner, _markdown
from fsm_agent.text.segmenter import split_sentences

CASES = [
    ("**Note.**", "Note."),
    ("This is *very* important.", "This is very important."),
    ("This is __really__ _it_.", "This is really it."),
    ("~~old~~ new", "old new"),
    ("# Heading", "Heading"),
    ("### Step two", "Step two"),
    ("- first item", "first item"),
    ("* second item", "second item"),
    ("• third item", "third item"),
    ("- [x] done task", "done task"),
    ("1. First step", "1. First step"),
    ("> quoted words.", "quoted words."),
    ("Run `pip install fsm-agent` now.", "Run pip install fsm-agent now."),
    ("See [the docs](https://example.com/docs) please.", "See the docs please."),
    ("![a cat](cat.png)", "a cat"),
    ("Visit <https://example.com>.", "Visit example.com."),
    # Bare web addresses are said as a person would: the host name, without www.
    ("See https://www.example.com/a/b?c=1&d=2.", "See example.com."),
    ("Go to www.python.org today.", "Go to python.org today."),
    (
        "Log in at http://user@mail.example.co.uk:8080/x, then.",
        "Log in at mail.example.co.uk, then.",
    ),
    ("(https://docs.python.org/3/)", "(docs.python.org)"),
    ("ftp://files.example.net/pub", "files.example.net"),
    # Not speech: terminal escapes go; control characters and invisible separators are spaces.
    ("\x1b[31mRed\x1b[0m alert.", "Red alert."),
    ("\x1b]0;title\x07Hello.", "Hello."),
    ("Fifth\u200bfs are here.", "Fifth fs are here."),
    ("one\x00two\x07three\u2060four\ufeff.", "one two three four ."),
    ("soft\u00adhyphen", "softhyphen"),
    ("Rosemarie! :-)", "Rosemarie!"),
    ("Fine :) see you ;-) xD", "Fine see you"),
    ("Ratio 3:2 at 10:30.", "Ratio 3:2 at 10:30."),
    ("नमस्ते\u200d दोस्त", "नमस्ते\u200d दोस्त"),
    # Emphasis cut by a line break inside CJK text (これは**とても\n重要**です。).
    ("これは**とても", "これはとても"),
    ("重要**です。", "重要です。"),
    ("line<br>break", "line break"),
    ("I love it 😀!", "I love it !"),
    ("Flags 🇯🇵 and families 👨‍👩‍👧 go.", "Flags and families go."),
    ("👍", ""),
    ("---", ""),
    ("|---|:---:|", ""),
    ("| a | b |", "a, b"),
    ("**", ""),
    ("snake_case_name stays.", "snake_case_name stays."),
    ("5 * 3 = 15.", "5 * 3 = 15."),
    ("「はい。」と言った。", "「はい。」と言った。"),
    ("これは**重要**です。", "これは重要です。"),
    ("これは*重要*です。", "これは重要です。"),
    ("これは_重要_です。", "これは重要です。"),
    ("これは***とても***大事です。", "これはとても大事です。"),
    ("***very*** good", "very good"),
    ("**次**です。", "次です。"),
    ("2*3*4 is 24.", "2*3*4 is 24."),
    ("## Heading ##", "Heading"),
    ("# C#", "C#"),
    ("### Step ###   ", "Step"),
    ("1️⃣ Boil water.", "1 Boil water."),
    ("Press #️⃣ now.", "Press now."),
    ("Acme™ and © 2024 ®.", "Acme™ and © 2024 ®."),
    ("©️ 2024", "© 2024"),
    ("Wow‼ Really⁉", "Wow!! Really!?"),
]


@pytest.mark.parametrize(("raw", "spoken"), CASES)
def test_clean(raw: str, spoken: str) -> None:
    assert SpeechCleaner().clean(raw) == spoken


def test_keep_emoji() -> None:
    assert SpeechCleaner(keep_emoji=True).clean("Great 😀!") == "Great 😀!"
    assert SpeechCleaner(keep_emoji=True).clean("Step 1️⃣ ‼") == "Step 1️⃣ ‼"


def test_emphasis_after_a_cjk_sentence_end_is_cleaned() -> None:
    cleaner = SpeechCleaner()
    parts = split_sentences("はい。**次**です。", "ja")
    assert [cleaner.clean(p) for p in parts] == ["はい。", "次です。"]


def test_code_fence_is_not_read_across_sentences() -> None:
    reply = "Try this:\n```python\nprint('hi.')\nx = 1. y = 2.\n```\nThat prints hi."
    cleaner = SpeechCleaner()
    spoken = [cleaner.clean(s) for s in split_sentences(reply, "en")]
    assert [s for s in spoken if s] == ["Try this:", "That prints hi."]


def test_unclosed_fence_is_forgotten_on_reset() -> None:
    cleaner = SpeechCleaner()
    assert cleaner.clean("```") == ""
    assert cleaner.clean("code here") == ""
    cleaner.reset()
    assert cleaner.clean("Speech again.") == "Speech again."


def test_fence_inside_a_sentence() -> None:
    cleaner = SpeechCleaner()
    assert cleaner.clean("Look: ```x = 1``` done.") == "Look: done."
    assert cleaner.clean("Next.") == "Next."


def test_emphasis_split_across_sentences_leaves_no_marks() -> None:
    cleaner = SpeechCleaner()
    parts = split_sentences("**This is one. And two.** Three.", "en")
    assert [cleaner.clean(p) for p in parts] == ["This is one.", "And two.", "Three."]


def test_bold_across_a_line_break_in_cjk_text() -> None:
    parts = split_sentences("これは**とても\n重要**です。", "ja")
    assert parts == ["これは**とても", "重要**です。"]  # a newline is a hard break
    cleaner = SpeechCleaner()
    assert [cleaner.clean(p) for p in parts] == ["これはとても", "重要です。"]


# ---- plain sentences skip the patterns -------------------------------------------------------

PLAIN_CHARS = [
    chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000 and _PLAIN.fullmatch(chr(c))
]


def _spoken(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


@pytest.mark.parametrize("keep_emoji", [False, True])
def test_no_plain_character_is_changed_by_the_patterns(keep_emoji: bool) -> None:
    # Every character a plain sentence may hold, alone, doubled, between words, at the ends.
    for c in PLAIN_CHARS:
        for text in (c, f"{c}{c}", f"a {c} b{c}c {c}", f"{c}. {c}, x{c}!"):
            assert _spoken(_markdown(text, keep_emoji)) == _spoken(text), repr(c)


@settings(max_examples=800, deadline=None)
@given(
    text=st.lists(
        st.sampled_from([*"aZéß文ñ9٣ .,!?'\"\u0301\u093f", "www", "xD", "XD", "X", "com", "ok"]),
        max_size=40,
    ).map("".join),
    keep_emoji=st.booleans(),
)
def test_a_plain_sentence_is_cleaned_as_by_the_patterns(text: str, keep_emoji: bool) -> None:
    cleaner = SpeechCleaner(keep_emoji=keep_emoji)
    by_patterns = _spoken(_markdown(text, keep_emoji))
    assert cleaner.clean(text) == (by_patterns if _SPEAKABLE.search(by_patterns) else "")
