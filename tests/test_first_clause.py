"""first_clause: the early first unit loses, duplicates, reorders nothing, however chunked."""

from __future__ import annotations

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from fsm_agent.text.first_clause import _BREAK, _TERMINATOR, FirstClause, reply_segmenter
from fsm_agent.text.segmenter import Segmenter, split_sentences

TEXTS = [
    "Hello there, my friend. It is good to see you again today, really.",
    "Sure, it costs 3,000 yen (about 20 dollars, I think), so it is cheap: buy it.",
    "はい、今日はとても良い天気なので、午後から散歩に出かけます。楽しみですね！",
    "Mr. Smith, our guest; he said: hello. Bye",
    "今日は、「とても、良い」天気です。Well, see you, then!",
    "No clause break at all in this one.",
    "",
]
_SPACE = regex.compile(r"\s+")


def run(text: str, cuts: list[int], min_chars: int, lang: str = "auto") -> list[str]:
    seg = reply_segmenter(lang, min_chars)
    out: list[str] = []
    last = 0
    for cut in sorted(c % (len(text) + 1) for c in cuts):
        out += seg.feed(text[last:cut])
        last = cut
    out += seg.feed(text[last:])
    return out + seg.flush()


@settings(max_examples=300, deadline=None)
@given(
    text=st.sampled_from(TEXTS),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12),
    min_chars=st.integers(min_value=0, max_value=20),
)
def test_units_are_the_text_in_order_whatever_the_chunking(
    text: str, cuts: list[int], min_chars: int
) -> None:
    units = run(text, cuts, min_chars)
    assert _SPACE.sub("", "".join(units)) == _SPACE.sub("", text)
    assert all(u == u.strip() and u for u in units)
    whole = split_sentences(text)
    if min_chars == 0:
        assert units == whole  # off: exactly the segmenter's sentences
    else:
        assert units[1:] == whole[1:] or units[2:] == whole[1:]  # only the first is split


def test_a_new_reply_may_start_with_a_clause_again() -> None:
    seg = reply_segmenter("en", 8)
    assert seg.feed("Hello there, my") == ["Hello there,"]
    assert seg.feed(" friend. Bye, bye, now") == ["my friend."]  # later sentences stay whole
    assert seg.flush() == ["Bye, bye, now"]
    assert seg.feed("Good morning, every") == ["Good morning,"]
    assert seg.flush() == ["every"]
    assert seg.feed("Hello there, my friend. Bye") == ["Hello there, my friend."]  # complete


# ---- the incremental search for the early clause -----------------------------------------------

_PAIRS = ("()", "[]", "（）", "「」", "『』", "“”", "‘’", "«»")


def _balanced(clause: str) -> bool:
    if clause.count('"') % 2:
        return False
    return all(clause.count(a) <= clause.count(b) for a, b in _PAIRS)


class Rescanning(FirstClause):
    """The search as it was before it went on where it left off: the whole reply, every chunk."""

    def _early(self) -> list[str]:
        text, start = str(self._text), self._pos
        for match in _BREAK.finditer(text, start):
            clause = text[start : match.end()].strip()
            if _TERMINATOR.search(clause):
                return []
            if len(clause) < self.min_chars or not _balanced(clause):
                continue
            self._cut = match.end()
            return [clause]
        return []


CLAUSE_TEXTS = st.lists(
    st.sampled_from(
        [*'ab 9.!?。、，；：,;: \t\n\x1c\u3000"()[]「」“”«»', "Mr. ", "3,000", "http:", "a; b", "]"]
    ),
    max_size=60,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(
    text=CLAUSE_TEXTS,
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=15),
    min_chars=st.integers(min_value=1, max_value=12),
    lang=st.sampled_from(["auto", "en", "ja"]),
)
def test_the_early_clause_is_what_a_search_of_the_whole_reply_finds(
    text: str, cuts: list[int], min_chars: int, lang: str
) -> None:
    ours = FirstClause(Segmenter(lang), min_chars)
    plain = Rescanning(Segmenter(lang), min_chars)
    for _ in range(2):  # and again after a flush: a new reply
        last = 0
        for cut in [*sorted(c % (len(text) + 1) for c in cuts), len(text)]:
            assert ours.feed(text[last:cut]) == plain.feed(text[last:cut])
            last = cut
        assert ours.flush() == plain.flush()


def test_a_long_first_sentence_without_a_clause_is_not_kept_for_the_search() -> None:
    seg = FirstClause(Segmenter("en"), 10)
    chunks = ["(on and on, ", *["and on, "] * 2000, ") and then, more."]
    for chunk in chunks[:-1]:
        assert seg.feed(chunk) == []  # every comma inside the bracket is turned down
        assert len(seg._tail) <= 2 + len(chunk)  # only the new text is searched
    assert seg.feed(chunks[-1]) == ["".join(chunks)[: -len(" more.")]]
