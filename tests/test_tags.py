"""Gesture tags in a streamed reply: taken out, tied to their sentence, for any chunking."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsm_agent.text.tags import Said, Tag, TaggedSegmenter, TagScanner, split_tagged


def _chunks(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def _merged(items: list[str | Tag]) -> list[str | Tag]:
    """Adjacent text pieces joined: chunking may cut text anywhere."""
    out: list[str | Tag] = []
    for item in items:
        if isinstance(item, str) and out and isinstance(out[-1], str):
            out[-1] += item
        elif item != "":
            out.append(item)
    return out


def scan_whole(text: str) -> list[str | Tag]:
    scanner = TagScanner()
    return _merged(scanner.feed(text) + scanner.flush())


# ---- examples --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[happy]こんにちは", [Tag("happy"), "こんにちは"]),
        ("［happy］こんにちは", [Tag("happy"), "こんにちは"]),  # full-width brackets
        ("[Happy]", [Tag("happy")]),  # names compare without case
        ("a[嬉しい]b", ["a", Tag("嬉しい"), "b"]),
        ("[see below] and [x y]", ["[see below] and [x y]"]),  # a space: text
        ("[link](http://a.b) [ok]", ["[link](http://a.b) ", Tag("ok")]),  # markdown link
        ("[]", ["[]"]),
        ("[" + "a" * 33 + "]", ["[" + "a" * 33 + "]"]),  # too long for a name
        ("[a[b]", ["[a", Tag("b")]),
        ("x[a]]", ["x", Tag("a"), "]"]),
        ("[1] note", [Tag("1"), " note"]),
        ("[happy", ["[happy"]),  # never closed: text at the end
    ],
)
def test_scanner_examples(text: str, expected: list[str | Tag]) -> None:
    assert scan_whole(text) == expected


def test_a_tag_split_across_chunks_is_held_until_it_is_complete() -> None:
    scanner = TagScanner()
    assert scanner.feed("こんにちは[ha") == ["こんにちは"]
    assert scanner.feed("pp") == []
    assert scanner.feed("y]") == []  # a "(" next would make it a link
    assert scanner.feed("元気") == [Tag("happy"), "元気"]
    assert scanner.flush() == []


def test_text_that_cannot_be_a_tag_is_let_through_at_once() -> None:
    scanner = TagScanner()
    assert scanner.feed("[see") == []
    assert scanner.feed(" below") == ["[see below"]


def test_the_issue_example() -> None:
    assert split_tagged("[happy]こんにちは！[unknown]よろしくね。") == [
        Said("こんにちは！", ("happy",)),
        Said("よろしくね。", ("unknown",)),
    ]


def test_a_tag_belongs_to_the_sentence_whose_text_follows_it() -> None:
    assert split_tagged("Nice to meet you.[wave] How are you?[bow]") == [
        Said("Nice to meet you."),
        Said("How are you?", ("wave",)),
        Said("", ("bow",)),  # after the last sentence: stands alone
    ]
    assert split_tagged("今日は[happy]いい天気！") == [Said("今日はいい天気！", ("happy",))]


def test_a_removed_tag_keeps_words_and_sentences_apart() -> None:
    assert split_tagged("Hello.[happy]World.") == [Said("Hello."), Said("World.", ("happy",))]
    assert split_tagged("Hi[wave]there.") == [Said("Hi there.", ("wave",))]
    assert split_tagged("こんにちは[wave]メイです。") == [Said("こんにちはメイです。", ("wave",))]


def test_tags_alone() -> None:
    assert split_tagged("[happy][wave]") == [Said("", ("happy", "wave"))]
    assert split_tagged("") == []


def test_a_long_reply_keeps_tags_in_place() -> None:
    text = "".join(f"[t{i}]文{i}です。" for i in range(800))  # past the compaction point
    said = split_tagged(text, "ja")
    assert said == [Said(f"文{i}です。", (f"t{i}",)) for i in range(800)]


# ---- properties ------------------------------------------------------------------------------

PLAIN = st.sampled_from(
    [*"aZ .!?。！？、 \n()（）1", "Hello. ", "こんにちは！", "[see me]", "[", "]", "［", "(x)"]
)
NAMES = st.sampled_from(["happy", "wave", "Sad", "嬉しい", "a-b_c", "1"])
TEXTS = st.lists(st.one_of(PLAIN, NAMES.map(lambda n: f"[{n}]")), max_size=30).map("".join)
CUTS = st.lists(st.integers(min_value=0, max_value=10_000), max_size=30)


@settings(max_examples=400, deadline=None)
@given(text=TEXTS, cuts=CUTS)
def test_scanner_streamed_equals_whole(text: str, cuts: list[int]) -> None:
    scanner = TagScanner()
    streamed: list[str | Tag] = []
    for chunk in _chunks(text, cuts):
        streamed += scanner.feed(chunk)
    streamed += scanner.flush()
    assert _merged(streamed) == scan_whole(text)


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(
        st.one_of(
            st.text(alphabet="ab .!?。こ\n", max_size=6),
            NAMES.map(lambda n: Tag(n.casefold())),
        ),
        max_size=20,
    ),
    cuts=CUTS,
)
def test_scanner_finds_exactly_the_tags_written(parts: list[str | Tag], cuts: list[int]) -> None:
    text = "".join(f"[{p.name}]" if isinstance(p, Tag) else p for p in parts)
    scanner = TagScanner()
    found: list[str | Tag] = []
    for chunk in _chunks(text, cuts):
        found += scanner.feed(chunk)
    found += scanner.flush()
    assert _merged(found) == _merged(parts)


@settings(max_examples=400, deadline=None)
@given(text=TEXTS, cuts=CUTS, lang=st.sampled_from(["auto", "ja", "en"]))
def test_tagged_sentences_streamed_equal_whole(text: str, cuts: list[int], lang: str) -> None:
    segmenter = TaggedSegmenter(lang)
    streamed: list[Said] = []
    for chunk in _chunks(text, cuts):
        streamed += segmenter.feed(chunk)
    streamed += segmenter.flush()
    whole = split_tagged(text, lang)
    assert streamed == whole
    # Every tag once, in order; every other character once, in order.
    tags = [t.name for t in scan_whole(text) if isinstance(t, Tag)]
    assert [name for said in whole for name in said.tags] == tags
    clean = "".join(t for t in scan_whole(text) if isinstance(t, str))
    assert "".join("".join(s.text.split()) for s in whole) == "".join(clean.split())
    # Only the last item may be tags without a sentence.
    assert all(said.text for said in whole[:-1])


LONG_PARTS = st.sampled_from(
    ["x" * 1500, "word " * 300, "文" * 900, "。", ". ", "\n", " ", "[happy]", "[wave]", "Hi."]
)


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(LONG_PARTS, max_size=14), cuts=CUTS)
def test_long_sentences_keep_their_tags_however_chunked(parts: list[str], cuts: list[int]) -> None:
    # Thousands of characters between sentence ends: the text before the last one is dropped
    # while tags keep coming, and a tag may follow a drop that left nothing.
    text = "".join(parts)
    segmenter = TaggedSegmenter("auto")
    streamed: list[Said] = []
    for chunk in _chunks(text, [c * 4 for c in cuts]):
        streamed += segmenter.feed(chunk)
    streamed += segmenter.flush()
    assert streamed == split_tagged(text)
    tags = [t.name for t in scan_whole(text) if isinstance(t, Tag)]
    assert [name for said in streamed for name in said.tags] == tags
