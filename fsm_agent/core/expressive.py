"""What the controller queues to say: sentences with their voice and gesture lines.

A reply's sentences come from ``fsm_agent.text.tags.TaggedSegmenter`` with the tags that stand
in them. :class:`Staging` turns each into the pieces the controller speaks one at a time: the
tags' host lines go out just before the SYNTH_START of the sentence's first piece, and the
sentence is spoken with the voice of its (last) tag that has one. A tag the gestures file does
not define is left out. Tags with no speakable text after them stand alone: their lines go out
as soon as everything before them has been said.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from fsm_agent.core import protocol
from fsm_agent.core.gestures import Gestures
from fsm_agent.text.tags import Said

log = logging.getLogger("fsm_agent.core.expressive")


@dataclass(slots=True)
class Piece:
    """One line's worth of speech, or gesture lines alone (``text`` empty).

    Attributes:
        text: What to say (fits one SYNTH_START line), or "" for gesture lines standing alone.
        from_llm: Kept in the history once heard (the error reply is not).
        voice: The voice for this piece.
        before: Host lines sent just before this piece's SYNTH_START.
        after: Host lines of tags that stand alone after this piece, sent when it is done.
        tags: The file's tags that stand in it, as the model wrote them (``[happy]``): kept in
            the history before the text, so that the model sees its own replies with them.

    """

    text: str
    from_llm: bool
    voice: str
    before: tuple[str, ...] = ()
    after: list[str] = field(default_factory=list)
    tags: str = ""

    @property
    def remembered(self) -> str:
        """What the history keeps of this piece once it has been heard."""
        return self.tags + self.text


class Staging:
    """Turn tagged sentences into pieces, with the gestures file's voices and lines.

    Args:
        alias: Our model alias.
        voice: The usual voice.
        gestures: The tags the content defines (empty: every tag is left out).

    """

    def __init__(self, alias: str, voice: str, gestures: Gestures) -> None:
        self.alias = alias
        self.voice = voice
        self.gestures = gestures

    def pieces(self, said: Said, spoken: str, *, from_llm: bool = True) -> list[Piece]:
        """The pieces of one sentence.

        Args:
            said: The sentence as segmented, with its tags.
            spoken: Its speakable form (after the speech cleaner); may be empty.
            from_llm: Whether what is heard of it goes into the history.

        Returns:
            Pieces to speak in order; or one text-less piece with the lines of tags that stand
            alone; or none.

        """
        names = list(dict.fromkeys(said.tags))  # the same tag twice in a sentence acts once
        for name in names:
            if self.gestures.get(name) is None:
                log.debug("tag [%s] is not in the gestures file; left out", name)
        voice = self.voice
        for name in names:
            voice = self.gestures.voice(name) or voice
        lines = tuple(
            line for name in names for line in self.gestures.lines(name, self.alias, voice)
        )
        texts = protocol.speakable_pieces(self.alias, voice, spoken) if spoken else []
        if not texts:
            return [Piece("", from_llm, voice, lines)] if lines else []
        out = [Piece(text, from_llm, voice) for text in texts]
        out[0].before = lines
        out[0].tags = "".join(f"[{name}]" for name in names if self.gestures.get(name))
        return out

    def lines_of(self, name: str) -> list[str]:
        """The host lines of tag ``name``, with the tag's voice or else the usual one.

        The hook the filler uses for the ``thinking`` tag.
        """
        voice = self.gestures.voice(name) or self.voice
        return self.gestures.lines(name, self.alias, voice)
