from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fsm_agent.core.protocol import (
    CP932,
    CUT,
    CUT_CHARACTER,
    MAX_INPUT_BYTES,
    MAX_LINE_BYTES,
    REPLACED,
    Message,
    parse_line,
    sanitize_field,
    speakable_pieces,
    split_to_fit,
    synth_start,
    synth_stop,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"RECOG_EVENT_STOP|hello\n", Message("RECOG_EVENT_STOP", ("hello",))),
        (b"RECOG_EVENT_STOP|\xe3\x81\x93\xe3\x82\x93\r\n", Message("RECOG_EVENT_STOP", ("こん",))),
        (b"SYNTH_EVENT_STOP|0", Message("SYNTH_EVENT_STOP", ("0",))),
        (b"RECOG_EVENT_START\n", Message("RECOG_EVENT_START", ())),
        (
            b"[2024-01-01 10:00:00] [123] Plugin_Julius: Sent: RECOG_EVENT_STOP|hi\n",
            Message("RECOG_EVENT_STOP", ("hi",)),
        ),
    ],
)
def test_parse_line_reads_host_messages(raw: bytes, expected: Message) -> None:
    assert parse_line(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\n",
        b"\xff\xfeRECOG\n",
        b"RECOG_EVENT_STOP|a\x00b\n",
        b" SYNTH_START|0|v|x",
        b"|x",
        b"A" * 5000,
        b"[log line without marker]",
    ],
)
def test_parse_line_ignores_junk(raw: bytes) -> None:
    assert parse_line(raw) is None


@pytest.mark.parametrize(
    ("text", "expected", "repair"),
    [
        (b"hello \xff there", "hello \ufffd there", REPLACED),
        (b"caf\xe9 au lait", "caf\ufffd au lait", REPLACED),
        ("テストです。".encode("cp932"), "テストです。", CP932),
        ("ｶﾀｶﾅ、漢字".encode("cp932"), "ｶﾀｶﾅ、漢字", CP932),
        ("hello あ there".encode("cp932"), "hello あ there", CP932),
        # UTF-8 Japanese also decodes as CP932 (mojibake): a broken byte keeps it UTF-8
        ("今日は\udcff晴れ".encode("utf-8", "surrogateescape"), "今日は\ufffd晴れ", REPLACED),
        # 0xFF decodes "cleanly" as CP932, to a private-use character: not text
        (b"ok \xff\xfd", "ok \ufffd\ufffd", REPLACED),
        ("はい".encode()[:-2], "は", CUT_CHARACTER),
        (("あ" * 1400).encode(), "あ" * ((MAX_INPUT_BYTES - 17) // 3), CUT),
        (b"a" * 5000, "a" * (MAX_INPUT_BYTES - 17), CUT),
    ],
)
def test_a_damaged_utterance_is_read_as_well_as_it_can_be(
    text: bytes, expected: str, repair: str
) -> None:
    assert parse_line(b"RECOG_EVENT_STOP|" + text + b"\r\n") == Message(
        "RECOG_EVENT_STOP", (expected,), repair
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"SYNTH_EVENT_STOP|0\xff",
        b"SYNTH_EVENT_STOP|0|" + b"x" * 5000,
        "SYNTH_EVENT_STOP|0|あ".encode()[:-1],
        b"RECOG_EVENT_START|\x82\xa0",
    ],
)
def test_a_damaged_line_gives_nothing_but_an_utterance(raw: bytes) -> None:
    assert parse_line(raw) is None


def test_a_line_of_exactly_the_limit_is_not_cut() -> None:
    text = "a" * (MAX_INPUT_BYTES - 17)
    assert parse_line(f"RECOG_EVENT_STOP|{text}\r\n".encode()) == Message(
        "RECOG_EVENT_STOP", (text,)
    )


def test_sanitize_removes_everything_that_could_make_a_second_message() -> None:
    text = "Hi|there\nSYNTH_START|0|v|x\r\x00\x1b[31m\u2028end\u202e\tok"
    clean = sanitize_field(text)
    assert clean == "Hithere SYNTH_START0vx [31m end ok"
    assert not any(c in clean for c in "|\n\r\x00\x1b\u2028\u202e\t")


@given(st.text())
def test_sanitized_text_never_has_separators_or_controls(text: str) -> None:
    clean = sanitize_field(text)
    assert "|" not in clean
    assert all(ord(c) >= 0x20 and c not in "\x7f\u2028\u2029\x85" for c in clean)
    assert clean == clean.strip()


@given(st.text(min_size=1, max_size=3000))
def test_every_piece_fits_one_line_and_nothing_visible_is_lost(text: str) -> None:
    pieces = speakable_pieces("0", "mei_voice_normal", text)
    for piece in pieces:
        line = synth_start("0", "mei_voice_normal", piece)
        assert len(line.encode("utf-8")) <= MAX_LINE_BYTES
        assert line.count("|") == 3
        assert piece
    assert "".join(pieces).replace(" ", "") == sanitize_field(text).replace(" ", "")


def test_long_sentence_is_split_at_soft_breaks() -> None:
    text = "、".join(["これは長い文の一部です"] * 120) + "。"
    pieces = speakable_pieces("0", "mei_voice_normal", text)
    assert len(pieces) > 1
    assert all(p.endswith("、") for p in pieces[:-1])
    assert "".join(pieces) == text


def test_empty_or_unspeakable_text_gives_no_line() -> None:
    assert speakable_pieces("0", "v", " \n\t|\x00 ") == []
    with pytest.raises(ValueError):
        synth_start("0", "v", "\n")


def test_alias_and_voice_are_sanitized_too() -> None:
    assert synth_start("0|x", "mei\nvoice", "hi") == "SYNTH_START|0x|mei voice|hi"
    assert synth_stop("0\nKEY|x") == "SYNTH_STOP|0 KEYx"


@pytest.mark.parametrize("char", ["😀", "字", "a"])
@pytest.mark.parametrize("widen", [False, True])
def test_a_text_is_one_piece_exactly_while_it_fits(char: str, widen: bool) -> None:
    prefix = "SYNTH_START|0|mei_voice_normal|"
    budget = MAX_LINE_BYTES - len(prefix)
    size = 3 if widen and char == "a" else len(char.encode())
    for n in range(budget // size - 3, budget // size + 3):
        pieces = split_to_fit(prefix, char * n, widen=widen)
        assert (pieces == [char * n]) == (n * size <= budget)
        assert "".join(pieces) == char * n
