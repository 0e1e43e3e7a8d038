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


def _fits(prefix: str, text: str) -> bool:
    return len((prefix + text).encode("utf-8")) <= MAX_LINE_BYTES


def split_to_fit(prefix: str, text: str) -> list[str]:
    """Split sanitized text into pieces that each fit on one line after ``prefix``.

    A piece ends at the last soft break (、，,;: or a space) that fits; a text with no soft
    break is cut at a character boundary.

    Args:
        prefix: The start of the line that each piece follows (``SYNTH_START|0|voice|``).
        text: Sanitized text.

    Returns:
        Non-empty pieces whose concatenation (minus the white space at the cuts) is ``text``.

    """
    pieces: list[str] = []
    budget = MAX_LINE_BYTES - len(prefix.encode("utf-8"))
    if budget <= 0:
        raise ValueError("the message prefix alone is too long for one line")
    while text and not _fits(prefix, text):
        # the longest character prefix within the byte budget
        cut = len(text.encode("utf-8")[:budget].decode("utf-8", errors="ignore"))
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


def speakable_pieces(alias: str, voice: str, text: str) -> list[str]:
    """Sanitize ``text`` and cut it into pieces that each fit one ``SYNTH_START`` line.

    Args:
        alias: Model alias the lines will carry.
        voice: Voice alias the lines will carry.
        text: What to say, e.g. one sentence from the LLM.

    Returns:
        No pieces when nothing speakable is left after sanitizing, else one piece per line.

    """
    return split_to_fit(_prefix(alias, voice), sanitize_field(text))


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
