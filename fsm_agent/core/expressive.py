"""What the controller queues to say: sentences with their voice and gesture lines.

A reply's sentences come from ``fsm_agent.text.tags.TaggedSegmenter`` with the tags that stand
in them. :class:`Staging` turns each into the pieces the controller speaks one at a time: the
tags' host lines go out just before the SYNTH_START of the sentence's first piece, and the
sentence is spoken with the voice of its (last) tag that has one, else with the voice of its
language (``voices``). A tag the gestures file does
not define is left out. Tags with no speakable text after them stand alone: their lines go out
as soon as everything before them has been said.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fsm_agent.core import protocol
from fsm_agent.core.events import Send
from fsm_agent.core.gestures import Gestures, load_gestures, prompt_with_tags
from fsm_agent.core.voices import VoiceBook, widen_ascii
from fsm_agent.text.speech_units import speech_units
from fsm_agent.text.tags import Said, untag

if TYPE_CHECKING:
    from fsm_agent.core.events import Command
    from fsm_agent.core.history import History
    from fsm_agent.core.settings import Settings
    from fsm_agent.core.speech import SpeechTracker
    from fsm_agent.text.cleanup import SpeechCleaner

log = logging.getLogger("fsm_agent.core.expressive")


@dataclass(slots=True)
class Piece:
    """One line's worth of speech.

    Attributes:
        text: What to say, as the LLM said it (cleaned): what the history keeps.
        from_llm: Kept in the history once heard (the error reply is not).
        voice: The voice for this piece.
        line: The text as sent: widened for an Open JTalk voice.
        before: Host lines sent just before this piece's SYNTH_START.
        after: Host lines of tags that stand alone after this piece, sent when it is done.
        tags: The file's tags that stand in it, as the model wrote them (``[happy]``): kept in
            the history before the text, so that the model sees its own replies with them.

    """

    text: str
    from_llm: bool
    voice: str
    line: str
    before: tuple[str, ...] = ()
    after: list[str] = field(default_factory=list)
    tags: str = ""

    @property
    def remembered(self) -> str:
        """What the history keeps of this piece once it has been heard."""
        return self.tags + self.text


class Staging:
    """Turn a sentence and its tags into pieces, with the gestures file's voices and lines.

    Args:
        alias: Our model alias.
        voices: Picks each sentence's voice (by its language) and says which voices widen.
        gestures: The tags the content defines (empty: every tag is left out).

    """

    def __init__(self, alias: str, voices: VoiceBook, gestures: Gestures) -> None:
        self.alias = alias
        self.voices = voices
        self.gestures = gestures

    def pieces(
        self, tags: tuple[str, ...], units: list[str], *, from_llm: bool = True, widen: bool = True
    ) -> tuple[list[Piece], tuple[str, ...]]:
        """The pieces of one sentence, and its tags' host lines.

        The lines go before the first piece (set on it here); with no piece (nothing speakable)
        they stand alone, and the caller sends them in turn.

        Args:
            tags: The names of the tags that stand in the sentence, in order.
            units: The sentence's speech units (see ``fsm_agent.text.speech_units``); may be
                empty.
            from_llm: Whether what is heard of it goes into the history.
            widen: Widen ASCII for Open JTalk voices (False when a person reads the lines).

        Returns:
            The pieces to speak in order, and the host lines.

        """
        names = list(dict.fromkeys(tags))  # the same tag twice in a sentence acts once
        known = [name for name in names if self.gestures.get(name) is not None]
        for name in names:
            if name not in known:
                log.debug("tag [%s] is not in the gestures file; left out", name)
        tagged = next((v for v in map(self.gestures.voice, reversed(known)) if v), None)
        voice = tagged or (self.voices.voice_for(units[0]) if units else self.voices.default)
        lines = tuple(
            line for name in known for line in self.gestures.lines(name, self.alias, voice)
        )
        out: list[Piece] = []
        for unit in units:
            voice = tagged or self.voices.voice_for(unit)
            out += self._unit(unit, voice, from_llm, widen and self.voices.widens(voice))
        if out:
            out[0].before = lines
            out[0].tags = "".join(f"[{name}]" for name in known)
        return out, lines

    def _unit(self, text: str, voice: str, from_llm: bool, widen: bool) -> list[Piece]:
        """``text`` in pieces that fit a line; ``widen``: ASCII widened (an Open JTalk voice).

        Its plugin crashes the host on ASCII-heavy text, and reads the full-width forms the
        same.
        """
        return [
            Piece(piece, from_llm, voice, widen_ascii(piece) if widen else piece)
            for piece in protocol.speakable_pieces(self.alias, voice, text, widen=widen)
        ]

    def lines_of(self, name: str) -> list[str]:
        """The host lines of tag ``name``, with the tag's voice or else the usual one.

        The hook the filler uses for the ``thinking`` tag.
        """
        voice = self.gestures.voice(name) or self.voices.default
        return self.gestures.lines(name, self.alias, voice)


class Expressive:
    """The Controller's speech queue: tagged sentences in, pieces with voices and gestures out.

    A base of the Controller, which provides ``settings``, ``history``, ``talks_to_mmdagent``,
    ``_voices``, ``_pending``, ``_speech``, ``_cleaner`` and ``_emit``, and calls
    :meth:`_setup_expressive` once they exist.

    Attributes:
        gestures: What the reply's tags do (empty without a gestures file).
        staging: Makes a sentence's pieces; ``staging.lines_of("thinking")`` gives the lines
            the filler sends while a model thinks.
        allowed_types: The only message types the controller prints: ``SYNTH_START``,
            ``SYNTH_STOP`` and those of the gestures file (the allow-list).

    """

    settings: Settings
    history: History
    talks_to_mmdagent: bool
    _voices: VoiceBook
    _pending: deque[Piece]
    _speech: SpeechTracker[Piece]
    _cleaner: SpeechCleaner

    def _emit(self, command: Command) -> None:
        raise NotImplementedError

    def _setup_expressive(self, gestures: Gestures | None) -> None:
        """Read the gestures file (unless given) and tell the model its tags."""
        s = self.settings
        if gestures is None:
            gestures = load_gestures(Path(s.gestures)) if s.gestures else Gestures()
        self.gestures = gestures
        self.allowed_types = gestures.allowed_types()
        self.staging = Staging(s.alias, self._voices, gestures)
        self.history.system_prompt = prompt_with_tags(
            self.history.system_prompt, gestures, s.describe_tags
        )

    def _queue(self, sentences: list[Said], *, from_llm: bool = True) -> None:
        for said in sentences:
            # A sentence too long for one lip-sync string is spoken in units, cut at its
            # soft breaks (the segmenter itself keeps sentences whole).
            spoken = self._cleaner.clean(said.text) if said.text else ""
            units = speech_units(spoken, self.settings.lang) if spoken else []
            self._stage(said.tags, units, from_llm=from_llm)

    def _queue_error_reply(self) -> None:
        """Queue ``error_reply`` as it is written (no cleanup), its tags acting as in a reply."""
        said = untag(self.settings.error_reply)
        self._stage(said.tags, [said.text], from_llm=False)

    def _stage(self, tags: tuple[str, ...], units: list[str], *, from_llm: bool) -> None:
        widen = self.talks_to_mmdagent
        pieces, lines = self.staging.pieces(tags, units, from_llm=from_llm, widen=widen)
        self._pending.extend(pieces)
        if not pieces:
            self._send_in_turn(lines)

    def _send_in_turn(self, lines: tuple[str, ...] | list[str]) -> None:
        """Send gesture lines that stand alone once all that comes before them is said."""
        last = self._pending[-1] if self._pending else self._speech.outstanding
        if last is not None:
            last.after.extend(lines)
        for line in lines if last is None else ():
            self._emit(Send(line))
