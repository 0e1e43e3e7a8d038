"""Joining sentences back into one text, the way each script is written.

Chinese and Japanese put no space between sentences (``こんにちは。元気？``); every other script,
Korean included, puts one (``Hello. How are you?``, ``안녕하세요. 반가워요.``). Where the two
meet, a space keeps them apart (``Hello. こんにちは。``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import regex

_HANGUL = regex.compile(r"\p{Hangul}")
# The letters or digits that decide: punctuation (。…!「」) and emoji belong to either side.
_FIRST_WORD = regex.compile(r"[\p{L}\p{N}]")
_LAST_WORD = regex.compile(r"(?r)[\p{L}\p{N}]")


def is_unspaced(ch: str) -> bool:
    """Whether ``ch`` belongs to writing that puts no space between sentences.

    Wide and full-width characters are (Han, kana, CJK punctuation such as 。「」, full-width
    forms such as ！？), except Hangul: Korean is written with spaces.
    """
    return unicodedata.east_asian_width(ch) in "WF" and not _HANGUL.match(ch)


def join_sentences(sentences: Iterable[str]) -> str:
    """Join sentences into one text: no space between two CJK ones, one space otherwise.

    What decides is the last letter or digit before the join and the first one after it, so
    ``そうですね…`` and ``「はい」`` still count as Japanese.

    Args:
        sentences: The sentences (or pieces of a sentence split at a soft break), in order;
            empty ones are skipped.

    Returns:
        The text, e.g. ``"Hello. こんにちは。元気？"``.

    """
    out = ""
    for sentence in sentences:
        if not sentence:
            continue
        if out and not (is_unspaced(_edge(out, last=True)) and is_unspaced(_edge(sentence))):
            out += " "
        out += sentence
    return out


def _edge(text: str, *, last: bool = False) -> str:
    match = (_LAST_WORD if last else _FIRST_WORD).search(text)
    if match is not None:
        return match.group()
    return text[-1] if last else text[0]
