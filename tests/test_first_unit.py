"""first_clause: the early first unit loses, duplicates, reorders nothing, however chunked."""

from __future__ import annotations

import regex
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fsm_agent.text.first_unit import _BREAK, _TERMINATOR, Early, FirstUnit, reply_segmenter
from fsm_agent.text.segmenter import Segmenter, split_sentences

TEXTS = [
    'Hi, my friend." It is good. Visit example.com today! Really?! Yes.',
    "こんにちは。」元気？！はい。",
    "Hello there, my friend. It is good to see you again today, really.",
    "Sure, it costs 3,000 yen (about 20 dollars, I think), so it is cheap: buy it.",
    "はい、今日はとても良い天気なので、午後から散歩に出かけます。楽しみですね！",
    "Mr. Smith, our guest; he said: hello. Bye",
    "今日は、「とても、良い」天気です。Well, see you, then!",
    "No clause break at all in this one.",
    "",
]
_SPACE = regex.compile(r"\s+")
_WORD = regex.compile(r"[\p{L}\p{N}]")


def run(
    text: str, cuts: list[int], min_chars: int, lang: str = "auto", at_once: bool = False
) -> list[str]:
    seg = reply_segmenter(lang, Early(min_chars, at_once))
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
    at_once=st.booleans(),
)
def test_units_are_the_text_in_order_whatever_the_chunking(
    text: str, cuts: list[int], min_chars: int, at_once: bool
) -> None:
    units = run(text, cuts, min_chars, at_once=at_once)
    if at_once:  # marks after a first sentence spoken at once may be left out, never a word
        assert _WORD.findall("".join(units)) == _WORD.findall(text)
    else:
        assert _SPACE.sub("", "".join(units)) == _SPACE.sub("", text)
    assert all(u == u.strip() and u for u in units)
    whole = split_sentences(text)
    if min_chars == 0 and not at_once:
        assert units == whole  # off: exactly the segmenter's sentences
    else:
        assert units[1:] == whole[1:] or units[2:] == whole[1:]  # only the first is split


def test_a_new_reply_may_start_with_a_clause_again() -> None:
    seg = reply_segmenter("en", Early(8))
    assert seg.feed("Hello there, my") == ["Hello there,"]
    assert seg.feed(" friend. Bye, bye, now") == ["my friend."]  # later sentences stay whole
    assert seg.flush() == ["Bye, bye, now"]
    assert seg.feed("Good morning, every") == ["Good morning,"]
    assert seg.flush() == ["every"]
    # A first sentence that comes whole in one chunk is split as if its tokens came one by one
    # (a replay of a host log sends what the live run did).
    assert seg.feed("Hello there, my friend. Bye") == ["Hello there,", "my friend."]


AT_ONCE = [
    ("en", "Hello there, my friend.", "Hello there, my friend."),
    ("en", "Hello there, my friend. ", "Hello there, my friend."),
    ("en", "Hi!", "Hi!"),
    ("en", "Really?", "Really?"),
    ("ru", "Он пришёл домой.", "Он пришёл домой."),
    ("ja", "こんにちは。", "こんにちは。"),
    ("en", "Hello Mr.", None),  # a title
    ("en", "I like it etc.", None),  # an abbreviation
    ("en", "See e.g.", None),
    ("en", "Is it in the U.S.", None),  # initials
    ("en", "It costs 3.", None),  # 3.5
    ("en", "Email me at bob@aol.", None),  # an address
    ("en", "I can't.", None),  # not an ordinary word on its own
    ("en", "Hello there, my friend. It", None),  # the next sentence has begun
    ("en", "(he said so.", None),  # inside a bracket
    ("en", 'He said "go home.', None),  # inside a quote
    ("ja", "「はい。", None),
    ("en", "**Hello.", None),  # inside emphasis
    ("en", "Hello there, my", None),
]


def test_ends_here_only_where_the_text_decides_the_end() -> None:
    from fsm_agent.text.segmenter import Segmenter

    for lang, text, want in AT_ONCE:
        seg = Segmenter(lang)
        out = seg.feed(text)
        assert seg.ends_here() == want, (lang, text)
        assert seg.ends_here() == want  # the segmenter's state is unchanged
        assert out + seg.flush() == split_sentences(text, lang)


def test_a_huge_first_sentence_is_held_once_patience_runs_out() -> None:
    """Past PATIENCE characters the first sentence is left to the segmenter, kept nowhere else."""
    from fsm_agent.text.first_unit import PATIENCE, FirstUnit

    seg = reply_segmenter("en", Early(8, True))
    assert isinstance(seg, FirstUnit)
    word = "word "
    out: list[str] = []
    for _ in range(3 * PATIENCE // len(word)):
        out += seg.feed(word)
    held = len(seg._text)
    for _ in range(1000):
        out += seg.feed(word)
    assert len(seg._text) == held <= PATIENCE + len(word)  # no copy of the rest is kept
    out += seg.feed("end. Hi, there, you") + seg.flush()
    assert out == split_sentences(word * (3 * PATIENCE // len(word) + 1000) + "end. Hi, there, you")


# ---- the incremental search for the early clause -----------------------------------------------

_PAIRS = ("()", "[]", "（）", "「」", "『』", "“”", "‘’", "«»")


def _balanced(clause: str) -> bool:
    if clause.count('"') % 2:
        return False
    return all(clause.count(a) <= clause.count(b) for a, b in _PAIRS)


class Rescanning(FirstUnit):
    """The clause search as it was before it went on where it left off: the whole reply.

    (``_early`` asks ``_clause`` only until a terminator has stopped the search; asking this one
    again after that finds the same terminator first.)
    """

    def _clause(self) -> list[str]:
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
    min_chars=st.integers(min_value=0, max_value=12),
    at_once=st.booleans(),
    lang=st.sampled_from(["auto", "en", "ja"]),
)
@example(text="Hello there, friend.", cuts=[], min_chars=4, at_once=False, lang="en")
@example(text="Hello there, my friend.", cuts=[12, 15], min_chars=4, at_once=False, lang="en")
@example(text="Hi there, you (and, me), ok", cuts=[11, 18], min_chars=4, at_once=True, lang="en")
def test_the_early_clause_is_what_a_search_of_the_whole_reply_finds(
    text: str, cuts: list[int], min_chars: int, at_once: bool, lang: str
) -> None:
    ours = FirstUnit(Segmenter(lang), min_chars, at_once)
    plain = Rescanning(Segmenter(lang), min_chars, at_once)
    for _ in range(2):  # and again after a flush: a new reply
        last = 0
        for cut in [*sorted(c % (len(text) + 1) for c in cuts), len(text)]:
            assert ours.feed(text[last:cut]) == plain.feed(text[last:cut])
            last = cut
        assert ours.flush() == plain.flush()


def test_a_long_first_sentence_without_a_clause_is_not_kept_for_the_search() -> None:
    seg = FirstUnit(Segmenter("en"), 10)
    chunks = ["(on and on, ", *["and on, "] * 40, ") and then, more."]  # within PATIENCE
    for chunk in chunks[:-1]:
        assert seg.feed(chunk) == []  # every comma inside the bracket is turned down
        assert len(seg._tail) <= 2 + len(chunk)  # only the new text is searched
    assert seg.feed(chunks[-1]) == ["".join(chunks)[: -len(" more.")]]
