"""Gesture tags in a streamed reply: ``[happy]`` taken out of the text and tied to its sentence.

The model writes a tag as ``[name]`` (also with full-width brackets ``［name］``) anywhere in its
reply. :class:`TagScanner` takes the tags out of the stream, whatever the chunking: a tag split
across chunks is held until it is complete, and text that only looks like the start of one is
let through as soon as it cannot be one. A name is 1 to 32 letters, digits, ``_`` or ``-``; a
bracket followed by ``(`` is a markdown link, not a tag, and ``[see below]`` (a space) is text.

:class:`TaggedSegmenter` puts the scanner in front of the sentence segmenter and ties each tag to
the sentence it stands in: the sentence whose text follows it. A tag after the last sentence of
the reply stands alone. Streaming gives exactly what :func:`split_tagged` gives for the whole
text, because every decision depends on the text alone.

What a tag does (host messages, a voice) is not known here; see ``fsm_agent.core.gestures``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import regex

from fsm_agent.text.builder import TextBuilder
from fsm_agent.text.first_unit import PLAIN, Early, reply_segmenter

__all__ = ["MAX_TAG_NAME", "Said", "TagScanner", "TaggedSegmenter", "split_tagged", "untag"]

MAX_TAG_NAME = 32
"""The longest tag name, in characters; a longer bracketed word is text."""

TAG_NAME = regex.compile(rf"[\p{{L}}\p{{N}}_\-]{{1,{MAX_TAG_NAME}}}")
"""What a tag name is (also what a gestures file may name a tag)."""

_TAG = regex.compile(rf"[\[［]([\p{{L}}\p{{N}}_\-]{{1,{MAX_TAG_NAME}}})[\]］]")
_NEXT_OPEN = regex.compile(r"[\[［]")
# After these a removed tag leaves nothing; after anything else, one space, so that
# "Hello.[happy]World." still reads as two sentences and "Hi[wave]there" as two words.
_WIDE = regex.compile(
    r"[\s\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\u3000-\u303f\uff00-\uffef\u30fc]"
)


def tag_key(name: str) -> str:
    """The form a tag name is compared in: ``[Happy]`` is the tag ``happy``."""
    return name.casefold()


@dataclass(frozen=True, slots=True)
class Tag:
    """A tag found in the stream: its name as compared (see :func:`tag_key`)."""

    name: str


class TagScanner:
    """Take ``[name]`` tags out of a stream of text.

    ``feed`` returns the text and the tags in stream order; text that might still become a tag
    is held back until the next chunk (or ``flush``) decides.
    """

    def __init__(self) -> None:
        self._held = ""

    def feed(self, text: str) -> list[str | Tag]:
        """Add a chunk; return the text pieces and tags it settles, in order."""
        return self._scan(self._held + text, final=False)

    def flush(self) -> list[str | Tag]:
        """End the stream: settle what is held, then start afresh."""
        return self._scan(self._held, final=True)

    def _scan(self, text: str, *, final: bool) -> list[str | Tag]:
        self._held = ""
        out: list[str | Tag] = []
        plain = 0  # text[plain:at] is settled text not yet emitted
        at = 0
        while True:
            found = _NEXT_OPEN.search(text, at)
            if found is None:
                break
            at = found.start()
            m = _TAG.match(text, at, partial=not final)
            if m is None:
                at += 1  # a bracket that cannot open a tag is text
                continue
            end = m.end()
            if m.partial or (end == len(text) and not final):
                # "[hap" or "[happy]" at the end of the chunk: the next chunk decides.
                self._held = text[at:]
                text = text[:at]
                break
            if end < len(text) and text[end] == "(":
                at += 1  # [text](url): a markdown link, left to the speech cleaner
                continue
            if at > plain:
                out.append(text[plain:at])
            out.append(Tag(tag_key(m.group(1))))
            plain = at = end
        if plain < len(text):
            out.append(text[plain:])
        return out


@dataclass(frozen=True, slots=True)
class Said:
    """A sentence of the reply and the tags that stand in it.

    ``text`` is the sentence as the segmenter cut it (tags taken out), or ``""`` for tags that
    stand alone at the end of the reply.
    """

    text: str
    tags: tuple[str, ...] = ()


class TaggedSegmenter:
    """Split a streamed reply into sentences, each with the tags that stand in it.

    Args:
        lang: The segmenter's rule set (see ``fsm_agent.text.segmenter``).
        early: How the reply's first unit may come sooner (``fsm_agent.text.first_unit``).

    """

    def __init__(self, lang: str = "auto", early: Early = PLAIN) -> None:
        self._segmenter = reply_segmenter(lang, early)
        self._scanner = TagScanner()
        self._clean = TextBuilder()  # the text given to the segmenter, from _base on
        self._last = ""  # its last character
        self._base = 0  # how much of it has been dropped from the front
        self._cursor = 0  # where the last sentence ended (absolute)
        self._tags: deque[tuple[int, str]] = deque()  # (absolute offset, name), in order

    def feed(self, text: str) -> list[Said]:
        """Add a chunk; return the sentences it completed, with their tags."""
        return self._take(self._segmenter.feed(self._absorb(self._scanner.feed(text))))

    def flush(self) -> list[Said]:
        """End the reply: the last sentences, then any tags standing alone; start afresh."""
        out = self._take(self._segmenter.feed(self._absorb(self._scanner.flush())))
        out += self._take(self._segmenter.flush())
        if self._tags:
            out.append(Said("", tuple(name for _, name in self._tags)))
        self._clean, self._last, self._base, self._cursor = TextBuilder(), "", 0, 0
        self._tags.clear()
        return out

    def _absorb(self, items: list[str | Tag]) -> str:
        """Record the tags at their places in the clean text; return the new clean text."""
        added: list[str] = []
        length = self._base + len(self._clean)
        for item in items:
            if isinstance(item, Tag):
                self._tags.append((length, item.name))
                if self._last and not _WIDE.match(self._last):
                    added.append(" ")
                    length += 1
                    self._last = " "
            elif item:
                added.append(item)
                length += len(item)
                self._last = item[-1]
        text = "".join(added)
        self._clean.append(text)
        return text

    def _take(self, sentences: list[str]) -> list[Said]:
        if not sentences:
            return []
        clean = str(self._clean)
        out: list[Said] = []
        for sentence in sentences:
            start = clean.find(sentence, self._cursor - self._base)
            end = (
                self._base + start + len(sentence)
                if start >= 0
                else self._base + len(clean)  # never expected: the segmenter is exact
            )
            tags: list[str] = []
            while self._tags and self._tags[0][0] < end:
                tags.append(self._tags.popleft()[1])
            out.append(Said(sentence, tuple(tags)))
            self._cursor = max(self._cursor, end)
        drop = self._cursor - self._base
        if drop > 4096:
            self._clean = TextBuilder(clean[drop:])
            self._last = clean[-1:] if drop < len(clean) else ""
            self._base = self._cursor
        return out


def split_tagged(text: str, lang: str = "auto") -> list[Said]:
    """Split a whole reply into sentences with their tags (what streaming it gives too)."""
    segmenter = TaggedSegmenter(lang)
    return segmenter.feed(text) + segmenter.flush()


def untag(text: str) -> Said:
    """Take the tags out of a text said as one piece (not split into sentences)."""
    scanner = TagScanner()
    items = scanner.feed(text) + scanner.flush()
    tags = tuple(item.name for item in items if isinstance(item, Tag))
    plain = "".join(item for item in items if isinstance(item, str))
    return Said(" ".join(plain.split()) if tags else plain, tags)
