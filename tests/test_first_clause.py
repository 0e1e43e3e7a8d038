"""first_clause: the early first unit loses, duplicates, reorders nothing, however chunked."""

from __future__ import annotations

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from fsm_agent.text.first_clause import reply_segmenter
from fsm_agent.text.segmenter import split_sentences

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
