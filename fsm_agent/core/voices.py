"""Which voice says a sentence, which synthesizer that voice belongs to, and what it can take.

MMDAgent-EX shares ``SYNTH_START`` among its synthesizer plugins by voice name: Open JTalk speaks
the Japanese voices (``mei_voice_*`` in the example content), Flite+HTS_Engine the English ones
(``slt_voice_*``). Open JTalk's plugin crashes the whole host on a sentence whose ASCII bytes
outnumber its other bytes (PROTOCOL.md, "HOST CRASH"): ``Hello! My name is Mei.``, a URL, 20
ASCII digits. It widens ASCII to full-width forms itself before reading, so sending the
full-width forms says the same and cannot crash it. Flite must get plain ASCII.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import regex

Engine = Literal["open_jtalk", "flite", "other"]
ENGINES: tuple[str, ...] = ("open_jtalk", "flite", "other")
"""``open_jtalk``: ASCII is widened; ``flite`` and ``other``: the text is sent as it is."""

_WIDE_OFFSET = 0xFEE0  # "!" (U+0021) .. "~" (U+007E)  ->  U+FF01 .. U+FF5E
_WIDEN = {c: c + _WIDE_OFFSET for c in range(0x21, 0x7F)}
_NARROW = {c + _WIDE_OFFSET: c for c in range(0x21, 0x7F)}
_WIDE_ALNUM = regex.compile(r"[０-９Ａ-Ｚａ-ｚ]")

# Script of a sentence -> the language whose voice says it.
_KANA = regex.compile(r"[\p{Hiragana}\p{Katakana}ー]")
_HAN = regex.compile(r"\p{Han}")
_HANGUL = regex.compile(r"\p{Hangul}")
_CYRILLIC = regex.compile(r"\p{Cyrillic}")
_LATIN = regex.compile(r"\p{Latin}")
_LATIN_LANGS = ("en", "de", "fr", "es", "it")


def engine_of(voice: str, engines: Iterable[tuple[str, str]] = ()) -> Engine:
    """The synthesizer that speaks ``voice``.

    Args:
        voice: A voice alias.
        engines: ``(voice, engine)`` pairs from the ``voice_engines`` setting; they win.

    Returns:
        The engine given for the voice; else ``flite`` for ``slt_*`` voices (MMDAgent-EX's
        English voices) and ``open_jtalk`` for every other name, the safe guess: widened text
        is still read right by Open JTalk, and plain ASCII could crash the host.

    """
    for name, engine in engines:
        if name == voice:
            return engine  # type: ignore[return-value]
    return "flite" if voice.startswith("slt_") else "open_jtalk"


def widen_ascii(text: str) -> str:
    """Return ``text`` with every printable ASCII character but the space in full-width form.

    Spaces stay (a line's fields fold every space into one ASCII space): in sanitized text
    there are fewer spaces than other characters, each of which takes 2 or 3 bytes, so the
    ASCII bytes never outnumber the rest.
    """
    return text.translate(_WIDEN)


def narrow_ascii(text: str) -> str:
    """Undo :func:`widen_ascii` on a sentence that it changed: full-width forms back to ASCII.

    A sentence with a full-width letter or digit is taken to be widened and is narrowed whole:
    that is what the model wrote (a full-width form it wrote itself comes back as ASCII, and is
    widened again the same way on the way out). A sentence without one (``元気？``) is left as
    it is, so the full-width punctuation of Japanese text stays.
    """
    return text.translate(_NARROW) if _WIDE_ALNUM.search(text) else text


def is_safe_for_open_jtalk(text: str) -> bool:
    """Whether Open JTalk's plugin can take ``text``: its ASCII bytes do not outnumber the rest.

    Its buffer is ``2 * strlen + 1`` bytes and each ASCII byte becomes three.
    """
    data = text.encode("utf-8")
    ascii_bytes = sum(1 for b in data if b < 0x80)
    return ascii_bytes <= len(data) - ascii_bytes


def sentence_language(text: str, languages: Iterable[str]) -> str | None:
    """The language of ``text`` among ``languages``, judged by its script; None if none fits.

    Kana means Japanese; Han without kana is Chinese when ``zh`` is among the languages, else
    Japanese; Hangul is Korean; Cyrillic Russian; Latin letters the first Latin-script
    language given (``en``, ``de``, ``fr``, ``es``, ``it``).
    """
    langs = list(languages)
    if _KANA.search(text):
        candidates = ["ja"]
    elif _HAN.search(text):
        candidates = ["zh", "ja"]
    elif _HANGUL.search(text):
        candidates = ["ko"]
    elif _CYRILLIC.search(text):
        candidates = ["ru"]
    elif _LATIN.search(text):
        candidates = [lang for lang in langs if lang in _LATIN_LANGS]
    else:
        candidates = []
    return next((lang for lang in candidates if lang in langs), None)


class VoiceBook:
    """Pick the voice for each sentence and the form of the text that voice can take.

    Args:
        default: The voice for sentences of a language with no voice of its own (``--voice``).
        voices: ``(language, voice)`` pairs (the ``voices`` setting); empty: ``default`` always.
        engines: ``(voice, engine)`` pairs (the ``voice_engines`` setting).

    """

    def __init__(
        self,
        default: str,
        voices: Iterable[tuple[str, str]] = (),
        engines: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.default = default
        self._voices = dict(voices)
        self._engines = tuple(engines)

    def voice_for(self, text: str) -> str:
        """The voice that says ``text``."""
        if not self._voices:
            return self.default
        lang = sentence_language(text, self._voices)
        return self._voices[lang] if lang is not None else self.default

    def engine(self, voice: str) -> Engine:
        """The synthesizer of ``voice``."""
        return engine_of(voice, self._engines)

    def widens(self, voice: str) -> bool:
        """Whether text for ``voice`` must have its ASCII widened (an Open JTalk voice)."""
        return self.engine(voice) == "open_jtalk"
