"""How long the host takes to say a sentence, and so how long to wait for its SYNTH_EVENT_STOP.

A lost STOP must be given up on soon after the sentence would have ended, and a slow voice must
never be cut (the next SYNTH_START cuts the sentence off). So the wait follows the speech:

1. :func:`estimate` reads the text: kana, Han, digits and Latin letters take different times,
   each pause mark adds a pause. The table is measured on the real host (Open JTalk's
   ``mei_voice_normal``: about 5-6 kana a second, 2.5 digits a second, see PROTOCOL.md), and
   Flite's English voices have their own.
2. :class:`SpeechTimer` learns each voice's real pace from the host's own
   SYNTH_EVENT_START -> SYNTH_EVENT_STOP durations: the ratio of what it took to the estimate,
   the largest of the last few sentences (an outlier only makes the wait longer, never shorter).
   Until a voice has been heard, ``synth_speed`` stands in for it.
3. The wait, from the sentence's SYNTH_EVENT_START, is
   ``synth_timeout + max(synth_seconds_per_char * characters, k * expected)``, with
   ``k`` = ``SLACK`` (1.25) for a voice heard before and ``UNHEARD_SLACK`` (2) for a new one.
   A lost STOP is so given up on ``synth_timeout + (k - 1) * expected`` after the sentence
   would have ended. The same wait is armed when the sentence is sent (a host slow to read it
   never makes us cut it); once the host echoes our line, its START gets ``synth_timeout``:
   the host sends it right after the echo, or never (an unknown voice, the synthesizer off).
"""

from __future__ import annotations

from collections import deque

import regex

SLACK = 1.25
"""The wait allows for speech this many times longer than expected, once the voice is heard."""
UNHEARD_SLACK = 2.0
"""The same for a voice not heard yet: a slow voice may take twice the reference time."""
HISTORY = 8
"""How many recent sentences of a voice its learned pace is taken from."""
MIN_OBSERVED = 0.3
"""Durations shorter than this (seconds) are cut-offs, not speech, and teach nothing."""
MIN_RATIO, MAX_RATIO = 0.05, 20.0

# Seconds per character class, and per sentence, for each engine.
_CLASSES = regex.compile(
    r"(?P<digit>[0-9０-９])|(?P<latin>[A-Za-zＡ-Ｚａ-ｚ\p{Latin}])|(?P<han>\p{Han})"
    r"|(?P<pause>[、。，．,.!?！？;；:：…\n])|(?P<space>[\s\u3000])|(?P<letter>\p{L})"
)
_TABLES: dict[str, dict[str, float]] = {
    # mei_voice_normal on the real host: 11 kana/kanji 3.3-3.6 s, 77 in 14 s, 60 digits 24.75 s
    "open_jtalk": {
        "base": 1.4,
        "digit": 0.42,
        "latin": 0.35,  # spelt letter by letter once widened
        "han": 0.22,
        "pause": 0.4,
        "space": 0.05,
        "letter": 0.14,
        "other": 0.1,
    },
    # Flite+HTS_Engine's slt voices read English at about 14 characters a second
    "flite": {
        "base": 0.5,
        "digit": 0.25,
        "latin": 0.075,
        "han": 0.22,
        "pause": 0.25,
        "space": 0.05,
        "letter": 0.1,
        "other": 0.05,
    },
}


def estimate(text: str, engine: str = "open_jtalk") -> float:
    """Seconds the host takes to say ``text`` at the reference pace of ``engine``'s voices.

    Args:
        text: The sentence as sent (widened or not: full-width digits and letters count alike).
        engine: ``open_jtalk``, ``flite`` or ``other`` (read with the Open JTalk table, the
            slower one).

    """
    table = _TABLES.get(engine, _TABLES["open_jtalk"])
    seconds = table["base"]
    for ch in text:
        match = _CLASSES.match(ch)
        seconds += table[match.lastgroup or "other"] if match else table["other"]
    return seconds


class SpeechTimer:
    """The wait for each sentence's SYNTH_EVENT_STOP, learnt per voice from the host.

    Args:
        margin: Seconds added after the expected end (``synth_timeout``).
        per_char: A floor of seconds per character (``synth_seconds_per_char``; 0: none).
        speed: How fast an unheard voice is taken to speak, relative to the reference pace
            (``synth_speed``).

    """

    def __init__(self, margin: float, per_char: float = 0.0, speed: float = 1.0) -> None:
        self.margin = margin
        self.per_char = per_char
        self.prior = 1.0 / speed
        self._ratios: dict[str, deque[float]] = {}

    def pace(self, voice: str) -> float:
        """How many times the reference time ``voice`` takes (learnt, or the prior)."""
        ratios = self._ratios.get(voice)
        return max(ratios) if ratios else self.prior

    def expected(self, text: str, voice: str, engine: str) -> float:
        """Seconds ``voice`` is expected to take for ``text``."""
        return estimate(text, engine) * self.pace(voice)

    def deadline(self, text: str, voice: str, engine: str) -> float:
        """Seconds to wait for the STOP of ``text`` from its SYNTH_EVENT_START."""
        slack = SLACK if voice in self._ratios else UNHEARD_SLACK
        speech = max(self.per_char * len(text), slack * self.expected(text, voice, engine))
        return self.margin + speech

    def heard(self, text: str, voice: str, engine: str, seconds: float) -> None:
        """The host said ``text`` in ``seconds`` (from its SYNTH_EVENT_START to its STOP)."""
        if seconds < MIN_OBSERVED:
            return
        ratio = min(MAX_RATIO, max(MIN_RATIO, seconds / estimate(text, engine)))
        self._ratios.setdefault(voice, deque(maxlen=HISTORY)).append(ratio)
