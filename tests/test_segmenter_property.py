"""Streaming equals splitting the whole text, for any text and any chunking."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from fsm_agent.text.segmenter import Segmenter, available_languages, split_sentences

# Pieces that exercise the rules: terminators, closers, quotes, abbreviations, lists, numbers.
PIECES = [
    *"aAz Z.!?。！？、，」「『』“”\"'()《》\n\t1290,:;…•-*#`",
    *["Mr.", "U.S.", "co.", "2.)", "3.14", "１．５", "Juni", "The", "How", "10:30"],
    *["http://a.b/c.d", "x@y.z", "file.py", "v1.2.3"],
    *["と", "라고", "然后"],
    *["**", "_", "。**", ".*", "« Oui. » ", "\u202f»", "\u00a0"],
    *["😀", "👍🏽", "\u200d", "🇯🇵", "TOML", "der 2.", "12. 6. 2020", ": 1."],
    *[" :-)", ";)", "<3", "pic's", "Mc.D", "a.Com", "?x=1", "гг.", "I.", "。”", "”他说", "।", "؟"],
    *["\x1b[31m", "\u200b", ' " ', "vs.", "...", "etc.", "No."],
    " . . .",
    "b. ",
    "\n- ",
    "\n# ",
]
texts = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=40).map("".join)


def _chunks(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=400, deadline=None)
@given(
    text=texts,
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=40),
    lang=st.sampled_from(available_languages()),
)
def test_streaming_equals_whole(text: str, cuts: list[int], lang: str) -> None:
    whole_seg = Segmenter(lang)
    whole = whole_seg.feed(text) + whole_seg.flush()
    seg = Segmenter(lang)
    streamed: list[str] = []
    for chunk in _chunks(text, cuts):
        streamed += seg.feed(chunk)
    streamed += seg.flush()
    assert streamed == whole
    # Every non-space character exactly once, in order; each sentence is an exact substring.
    assert "".join("".join(s.split()) for s in whole) == "".join(text.split())
    at = 0
    for sentence in whole:
        assert sentence and sentence == sentence.strip()
        assert "\n" not in sentence  # a newline is always a hard break
        found = text.find(sentence, at)
        assert found >= 0
        assert not text[at:found].strip()
        at = found + len(sentence)


@settings(max_examples=150, deadline=None)
@given(text=texts)
def test_split_sentences_matches_default_segmenter(text: str) -> None:
    seg = Segmenter()
    assert split_sentences(text) == seg.feed(text) + seg.flush()


@settings(max_examples=100, deadline=None)
@given(text=texts)
def test_segmenter_is_reusable_after_flush(text: str) -> None:
    seg = Segmenter("en")
    first = seg.feed(text) + seg.flush()
    assert seg.feed(text) + seg.flush() == first


# Long tokens with dots whose rules look far back, and sentences longer than the buffer keeps
# (their text moves to the segmenter's head): buffer trimming must not change what the rules see.
LONG_TOKENS = [
    "a long clause, (with [brackets] and **marks**) and more words " * 40,
    "https://www.example.com/" + "a" * 70 + ".html ",
    "x" * 90,
    "See https://" + "a" * 400 + ".Com more. ",
    "https://" + "b." * 160 + "Z ",
    "a.b@" + "c" * 350 + ".de. ",
    "U." * 160 + "S. ",
]
# About one piece in a hundred is long: enough to reach trimming, and still quick.
LONG_PIECES = PIECES * 16 + LONG_TOKENS


@settings(max_examples=20, deadline=None)
@given(
    words=st.lists(st.sampled_from(LONG_PIECES), min_size=800, max_size=1500),
    seed=st.integers(min_value=0, max_value=2**32),
    lang=st.sampled_from(available_languages()),
)
def test_long_streams_equal_whole(words: list[str], seed: int, lang: str) -> None:
    # Long enough for the buffer to be trimmed many times, sentences and tokens alike.
    text = "".join(words)
    whole_seg = Segmenter(lang)
    whole = whole_seg.feed(text) + whole_seg.flush()
    seg = Segmenter(lang)
    rng = random.Random(seed)
    streamed: list[str] = []
    i = 0
    while i < len(text):
        k = rng.randint(1, 6)
        streamed += seg.feed(text[i : i + k])
        i += k
    streamed += seg.flush()
    assert streamed == whole
    assert "".join("".join(s.split()) for s in whole) == "".join(text.split())


@settings(max_examples=40, deadline=None)
@given(
    token=st.sampled_from(LONG_TOKENS),
    filler=st.integers(min_value=1500, max_value=2600),
    seed=st.integers(min_value=0, max_value=2**32),
    lang=st.sampled_from(available_languages()),
)
def test_long_token_after_trimming(token: str, filler: int, seed: int, lang: str) -> None:
    # Enough text before the token that the buffer is trimmed while the token is read.
    text = "One. " * (filler // 5) + token * 3 + "Next."
    seg = Segmenter(lang)
    rng = random.Random(seed)
    streamed: list[str] = []
    i = 0
    while i < len(text):
        k = rng.randint(1, 3)
        streamed += seg.feed(text[i : i + k])
        i += k
    assert streamed + seg.flush() == split_sentences(text, lang)
