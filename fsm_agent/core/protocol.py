"""MMDAgent-EX message lines: parsing what the host sends, building what we print.

The host executes every line a child prints and knows no escaping (PROTOCOL.md): a ``|`` ends a
field and a newline starts a new message. So every outgoing field is sanitized here, and only the
two message types this controller means to send can be built.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

MAX_LINE_BYTES = 2000
"""An outgoing line never exceeds this (the host cuts lines at about 2048 bytes)."""

MAX_INPUT_BYTES = 4096
"""Incoming lines longer than this are not host messages; they are ignored."""

# Control and format characters (Cc, Cf, Zl, Zp, surrogates, private use, unassigned) and the
# field separator. Tabs and other spaces become a plain space so that words stay apart.
_UNSAFE = regex.compile(r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Cn}|]")
_SPACES = regex.compile(r"[\s\u00a0]+")

# Soft breaks, best first, for splitting a sentence too long for one line.
_SOFT_BREAKS = ("、", "，", ",", "；", ";", "：", ":", " ")


@dataclass(frozen=True, slots=True)
class Message:
    """One parsed host line: its type and its arguments."""

    type: str
    args: tuple[str, ...]

    def arg(self, index: int, default: str = "") -> str:
        """Return argument ``index`` or ``default`` when the message has fewer."""
        return self.args[index] if index < len(self.args) else default


def parse_line(raw: bytes) -> Message | None:
    """Parse one line read from the host.

    Args:
        raw: The line as bytes, with or without its line ending.

    Returns:
        The message, or None for an empty, over-long, non-UTF-8 or malformed line (these are
        normal traffic to skip, never errors).

    """
    if len(raw) > MAX_INPUT_BYTES:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    text = text.rstrip("\r\n")
    if not text or "\x00" in text:
        return None
    if text.startswith("["):
        text = _strip_alllog(text)
        if not text:
            return None
    kind, *args = text.split("|")
    if not kind or not kind.replace("_", "").isalnum() or not kind.isascii():
        return None
    return Message(kind, tuple(args))


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
