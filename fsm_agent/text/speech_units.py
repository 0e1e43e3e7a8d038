"""Speech units: a sentence cut into pieces that a synthesizer takes in one go.

The segmenter keeps sentences true to the language, however long. A synthesizer has its own
limit: MMDAgent-EX caps the lip-sync phoneme string of one SYNTH_START at about 2 KB
(the team's PROTOCOL.md, "Keep sentences short"). In the recorded runs of the real host the
Japanese voice wrote 8-11.3 bytes of lip-sync string per character of kana and kanji text, and
28 per full-width digit (digits are read out one by one). So a unit is kept under
``SPEECH_LIMIT`` weighted characters, a digit weighing 28 / 11.3 ≈ 2.5: 170 × 11.3 ≈ 1.9 KB.
(60 full-width digits, 1.7 KB of lip-sync string, were spoken whole on the real host.)
"""

from __future__ import annotations

import regex

from fsm_agent.text.ruleset import load

__all__ = ["SPEECH_LIMIT", "speech_units"]

SPEECH_LIMIT = 170
_DIGIT_WEIGHT = 2.5
_DIGITS = regex.compile(r"\p{Nd}")


def _weight(text: str) -> float:
    return len(text) + (_DIGIT_WEIGHT - 1) * len(_DIGITS.findall(text))


def _fits(text: str, limit: int) -> int:
    """How many characters of ``text`` fit within ``limit`` weighted characters."""
    if _weight(text) <= limit:
        return len(text)
    used = 0.0
    for i, ch in enumerate(text):
        used += _DIGIT_WEIGHT if ch.isdigit() else 1
        if used > limit:
            return i
    return len(text)


def speech_units(sentence: str, lang: str = "auto", limit: int = SPEECH_LIMIT) -> list[str]:
    """Cut a sentence into units short enough for one SYNTH_START each.

    A unit ends at the last soft break of the language (、，,;: or a spaced dash) that fits,
    else at the last space that fits, else where the limit falls. A sentence that fits is
    returned whole.

    Args:
        sentence: One sentence (as the segmenter and the speech cleanup made it).
        lang: The rule file whose soft breaks to prefer.
        limit: The most weighted characters in one unit (a digit weighs three).

    Returns:
        The units, stripped, none empty; joined with spaces they give the sentence's words.

    Raises:
        ValueError: If ``limit`` is below the weight of one character (3).

    """
    if limit < _DIGIT_WEIGHT:
        raise ValueError(f"limit must be at least {_DIGIT_WEIGHT}, got {limit}")
    soft_break = load(lang).soft_break
    # A character weighs at least one, so a unit is found within the next `window` characters:
    # a sentence of any length is cut in time proportional to its length.
    window = int(limit) + 2
    units: list[str] = []
    text = sentence.strip()
    at = 0
    while at < len(text):
        rest = text[at : at + window]
        n = _fits(rest, limit)
        if n == len(text) - at:
            units.append(rest)
            break
        head = rest[:n]  # the regex sees what the unit may hold, as if the rest were not there
        cut = 0
        for m in soft_break.finditer(head, 1, n):
            cut = m.end()
        if cut <= 0:
            cut = max(head.rfind(" ", 1, n), head.rfind("\t", 1, n))
        if cut <= 0:
            cut = n
        units.append(head[:cut].strip())
        at += cut
        while at < len(text) and text[at].isspace():
            at += 1
    return [u for u in units if u]
