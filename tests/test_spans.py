"""Spans: the cleaner's markdown spans unwrapped exactly as the regular expressions did."""

from __future__ import annotations

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from fsm_agent.text.cleanup import _EMPHASIS, _STRIKE, _STRONG, _STRONG_EMPHASIS, SpeechCleaner
from fsm_agent.text.spans import unbracket

# The substitutions the cleaner made before (each rescans to the line's end from every opening
# mark that has no closing one).
PATTERNS = [
    (_STRONG_EMPHASIS, regex.compile(r"(\*\*\*|___)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (_STRONG, regex.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (
        _EMPHASIS,
        regex.compile(r"(?<![\p{LC}\p{N}*_])([*_])(?=\S)(.+?)(?<=\S)\1(?![\p{LC}\p{N}*_])"),
        r"\2",
    ),
    (_STRIKE, regex.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
]
MARKDOWN = st.lists(
    st.sampled_from([*"*_~`ab9文 \t\n\r\x85\u2028\u3000.", "**", "__", "~~", "***", "word "]),
    max_size=60,
).map("".join)


@settings(max_examples=1500, deadline=None)
@given(text=MARKDOWN)
def test_spans_unwrap_as_the_regular_expressions_did(text: str) -> None:
    for spans, pattern, inside in PATTERNS:
        assert spans.sub(text) == pattern.sub(inside, text)


LINKS = [
    (("![", 0, "()"), regex.compile(r"!\[([^\]]*)\]\([^)]*\)")),
    (("[", 1, "()"), regex.compile(r"\[([^\]]+)\]\([^)]*\)")),
    (("[", 1, "[]"), regex.compile(r"\[([^\]]+)\]\[[^\]]*\]")),
]
BRACKETS = st.lists(
    st.sampled_from([*"[]()!a \n", "](", "][", "![", "[a](b)", "[a][b]", "![a](b)"]), max_size=50
).map("".join)


@settings(max_examples=1500, deadline=None)
@given(text=BRACKETS)
def test_links_become_their_text_as_the_regular_expressions_made_them(text: str) -> None:
    for (opening, min_inside, suffix), pattern in LINKS:
        assert unbracket(text, opening, min_inside, suffix) == pattern.sub(r"\1", text)


def test_a_long_sentence_of_stray_marks_is_cleaned() -> None:
    # Each of these once took the square of the length: 100,000 characters, minutes.
    for unit in ("*a ", "_a ", "**a ", "__a ", "***a ", "~~a ", "a **", "[a ", "![a ", "[a]( "):
        sentence = unit * (100_000 // len(unit))
        words = SpeechCleaner().clean(sentence)
        assert regex.sub(r"[*_~\[\]!(]", "", words).split() == ["a"] * (100_000 // len(unit))
