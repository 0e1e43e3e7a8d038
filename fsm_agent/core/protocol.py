"""MMDAgent-EX message lines: parsing what the host sends, building what we print.

The host executes every line a child prints and knows no escaping (PROTOCOL.md): a ``|`` ends a
field and a newline starts a new message. So every outgoing field is sanitized here, and only the
two message types this controller means to send can be built.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import regex

MAX_LINE_BYTES = 2000
"""An outgoing line never exceeds this (the host cuts lines at about 2048 bytes)."""

MAX_INPUT_BYTES = 4096
"""Incoming lines are cut to this; of a cut line only a recognizer result is taken."""

TAKEN_WHEN_REPAIRED = "RECOG_EVENT_STOP"
"""The one message taken from a line that had to be repaired (cut or not UTF-8): what the user
said must not be lost, but no other message of a damaged line is trusted."""

# Repairs, as :attr:`Message.repair` names them; each reads well after "the line was".
CUT = f"longer than {MAX_INPUT_BYTES} bytes; cut to that length"
CUT_CHARACTER = "cut inside its last character; dropped that character"
CP932 = "not UTF-8 but CP932 (Shift_JIS); read as that"
REPLACED = "not valid UTF-8; the broken bytes were replaced by U+FFFD"

# Control and format characters (Cc, Cf, Zl, Zp, surrogates, private use, unassigned) and the
# field separator. Tabs and other spaces become a plain space so that words stay apart.
_UNSAFE = regex.compile(r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Cn}|]")
_SPACES = regex.compile(r"[\s\u00a0]+")

# What CP932 text from a recognizer has (kana, kanji, full-width forms, the ideographic space),
# and what a clean CP932 decoding of other bytes gives: C1 controls (0x80), private use (0xA0,
# 0xFD-0xFF and the user-defined area).
_IS_JAPANESE = regex.compile(r"[\p{Hiragana}\p{Katakana}\p{Han}\u3000-\u303f\uff01-\uffef]")
_NOT_TEXT = regex.compile(r"[\p{Cc}\p{Co}]")

# Soft breaks, best first, for splitting a sentence too long for one line.
_SOFT_BREAKS = ("、", "，", ",", "；", ";", "：", ":", " ")


@dataclass(frozen=True, slots=True)
class Message:
    """One parsed host line: its type and its arguments."""

    type: str
    args: tuple[str, ...]
    repair: str = ""
    """What had to be done to read the line (:data:`CUT`, :data:`CP932`...), or empty."""

    def arg(self, index: int, default: str = "") -> str:
        """Return argument ``index`` or ``default`` when the message has fewer."""
        return self.args[index] if index < len(self.args) else default


def parse_line(raw: bytes) -> Message | None:
    """Parse one line read from the host.

    A line longer than :data:`MAX_INPUT_BYTES` is cut to it; bytes that are not UTF-8 are read
    as CP932 when the line is clearly that (a Japanese Windows recognizer), else replaced. Of
    such a repaired line only a recognizer result is taken (its :attr:`Message.repair` says
    what was done), so that what the user said is never lost and nothing else is misread.

    Args:
        raw: The line as bytes, with or without its line ending.

    Returns:
        The message, or None for an empty or malformed line, a line with a NUL byte (the host's
        C strings cannot carry one), or a repaired line that is not a recognizer result (these
        are normal traffic to skip, never errors).

    """
    raw = raw.rstrip(b"\r\n")
    repair = ""
    if len(raw) > MAX_INPUT_BYTES:
        raw, repair = raw[:MAX_INPUT_BYTES], CUT
    text, how = decode_host_bytes(raw)
    repair = repair or how
    if not text or "\x00" in text:
        return None
    if text.startswith("["):
        text = _strip_alllog(text)
        if not text:
            return None
    kind, *args = text.split("|")
    if not kind or not kind.replace("_", "").isalnum() or not kind.isascii():
        return None
    if repair and kind != TAKEN_WHEN_REPAIRED:
        return None
    return Message(kind, tuple(args), repair)


def decode_host_bytes(raw: bytes) -> tuple[str, str]:
    """Decode a host line without losing what can be read.

    UTF-8 first; a character cut off at the very end is dropped; a line that is not UTF-8 but
    decodes cleanly as CP932, with more broken UTF-8 sequences than good non-ASCII characters,
    is CP932 (valid UTF-8 Japanese also decodes as CP932, as mojibake, so UTF-8 with a few broken
    bytes must stay UTF-8); anything else is UTF-8 with the broken bytes replaced.

    Returns:
        The text and the repair made (empty, :data:`CUT_CHARACTER`, :data:`CP932` or
        :data:`REPLACED`).

    """
    try:
        return raw.decode("utf-8"), ""
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.end == len(raw):
            try:
                return raw[: exc.start].decode("utf-8"), CUT_CHARACTER
            except UnicodeDecodeError:
                pass
    replaced = raw.decode("utf-8", errors="replace")
    try:
        shift_jis = raw.decode("cp932")
    except UnicodeDecodeError:
        return replaced, REPLACED
    broken = replaced.count("\ufffd")
    good = sum(1 for ch in replaced if ch > "\x7f" and ch != "\ufffd")
    if broken > good and _IS_JAPANESE.search(shift_jis) and not _NOT_TEXT.search(shift_jis):
        return shift_jis, CP932
    return replaced, REPLACED


def _strip_alllog(text: str) -> str:
    """Turn an ``AllLog`` line (``[time] [tick] Module: Sent: TYPE|ARGS``) into ``TYPE|ARGS``."""
    marker = "Sent: "
    at = text.find(marker)
    return text[at + len(marker) :] if at >= 0 else ""


def sanitize_field(text: str) -> str:
    """Make text safe as one field of an outgoing message.

    Removes line breaks, ``|``, NUL and every other control or format character, folds runs of
    white space into one space and strips the ends.

    Args:
        text: Any text, e.g. from the LLM.

    Returns:
        The text with nothing in it that the host could read as a separator or a new message.

    """
    text = _UNSAFE.sub("", _SPACES.sub(" ", text))  # line breaks become spaces, not glue
    return _SPACES.sub(" ", text).strip()


def _cost(ch: str, widen: bool) -> int:
    """Bytes ``ch`` takes on the line (an ASCII character widened to full-width takes 3)."""
    return 3 if widen and "!" <= ch <= "~" else len(ch.encode("utf-8"))


def split_to_fit(prefix: str, text: str, *, widen: bool = False) -> list[str]:
    """Split sanitized text into pieces that each fit on one line after ``prefix``.

    A piece ends at the last soft break (、，,;: or a space) that fits; a text with no soft
    break is cut at a character boundary.

    Args:
        prefix: The start of the line that each piece follows (``SYNTH_START|0|voice|``).
        text: Sanitized text.
        widen: Measure each piece as it will be sent with its ASCII widened to full-width
            (three bytes a character), for an Open JTalk voice.

    Returns:
        Non-empty pieces whose concatenation (minus the white space at the cuts) is ``text``.

    """
    pieces: list[str] = []
    budget = MAX_LINE_BYTES - len(prefix.encode("utf-8"))
    if budget <= 0:
        raise ValueError("the message prefix alone is too long for one line")
    if len(text) * 4 <= budget:  # no character takes more than 4 bytes: it fits, as most do
        return [text] if text else []
    while text:
        used, cut = 0, 0
        for ch in text:
            used += _cost(ch, widen)
            if used > budget:
                break
            cut += 1
        if cut == len(text):
            break
        head = text[:cut]
        best = max(head.rfind(mark) for mark in _SOFT_BREAKS)
        if best > cut // 4:
            cut = best + 1
        piece, text = text[:cut].strip(), text[cut:].strip()
        if piece:
            pieces.append(piece)
    if text:
        pieces.append(text)
    return pieces


@lru_cache(maxsize=64)  # a few aliases and voices, asked for on every sentence
def _prefix(alias: str, voice: str) -> str:
    return f"SYNTH_START|{sanitize_field(alias)}|{sanitize_field(voice)}|"


def speakable_pieces(alias: str, voice: str, text: str, *, widen: bool = False) -> list[str]:
    """Sanitize ``text`` and cut it into pieces that each fit one ``SYNTH_START`` line.

    Args:
        alias: Model alias the lines will carry.
        voice: Voice alias the lines will carry.
        text: What to say, e.g. one sentence from the LLM.
        widen: The pieces will be sent with their ASCII widened (an Open JTalk voice): each
            must still fit once widened.

    Returns:
        No pieces when nothing speakable is left after sanitizing, else one piece per line.

    """
    return split_to_fit(_prefix(alias, voice), sanitize_field(text), widen=widen)


def synth_start(alias: str, voice: str, piece: str) -> str:
    """Build the ``SYNTH_START`` line that makes model ``alias`` speak ``piece``.

    Args:
        alias: Model alias (sanitized here).
        voice: Voice alias (sanitized here).
        piece: One piece from :func:`speakable_pieces`; sanitized again, so any text is safe.

    Returns:
        One line, without a line ending.

    Raises:
        ValueError: If the piece is empty or too long for one line.

    """
    line = _prefix(alias, voice) + sanitize_field(piece)
    if line.endswith("|") or len(line.encode("utf-8")) > MAX_LINE_BYTES:
        raise ValueError("a SYNTH_START piece must be non-empty and fit on one line")
    return line


def synth_stop(alias: str) -> str:
    """Build the ``SYNTH_STOP`` line that interrupts model ``alias``."""
    return f"SYNTH_STOP|{sanitize_field(alias)}"


GESTURE_TYPES: frozenset[str] = frozenset(
    {
        "MOTION_ADD",
        "MOTION_CHANGE",
        "MOTION_ACCELERATE",
        "MOTION_DELETE",
        "MOVE_START",
        "MOVE_STOP",
        "TURN_START",
        "TURN_STOP",
        "ROTATE_START",
        "ROTATE_STOP",
        "CAPTION_START",
        "CAPTION_STOP",
        "TEXTAREA_SET",
        "NOTIFY_SHOW",
    }
)
"""Configured host messages may have these types only: the avatar moves or shows text. None of
them opens a file, a URL or a program, loads a script or speaks (PROTOCOL.md lists the others)."""


def host_message(template: str, alias: str, voice: str) -> str:
    """Build a configured host message: ``{alias}`` and ``{voice}`` are filled in.

    Nothing the LLM writes ever enters it; the author's own template is checked all the same.

    Args:
        template: E.g. ``MOTION_ADD|{alias}|think|motions/think.vmd|PART|ONCE``.
        alias: Our model alias.
        voice: Our voice alias.

    Returns:
        One line, without a line ending.

    Raises:
        ValueError: If the type is not one of :data:`GESTURE_TYPES`, or the line is too long.

    """
    fields = template.split("|")
    kind = fields[0].strip()
    if kind not in GESTURE_TYPES:
        allowed = ", ".join(sorted(GESTURE_TYPES))
        raise ValueError(f"a host message must be one of {allowed}, not {kind or '(empty)'!r}")
    filled = [f.replace("{alias}", alias).replace("{voice}", voice) for f in fields[1:]]
    line = "|".join([kind, *(sanitize_field(f) for f in filled)])
    if len(line.encode("utf-8")) > MAX_LINE_BYTES:
        raise ValueError(f"a host message must fit in {MAX_LINE_BYTES} bytes")
    return line
