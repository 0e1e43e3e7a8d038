"""One reply on its way from the stream to sentences: thinking dropped, length bounded, split.

The controller feeds each chunk of the current reply here and speaks the sentences that come
out; what it keeps of the reply (``text``) is what the history calibrates against.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

from fsm_agent.core.settings import Settings
from fsm_agent.text.builder import TextBuilder
from fsm_agent.text.first_unit import PLAIN, Early
from fsm_agent.text.tags import Said, TaggedSegmenter
from fsm_agent.text.think import ThinkFilter

# A word longer than this is cut where the reply reaches its limit, not left out whole.
_LONGEST_WORD = 40
# A sentence that ends like one: a terminator, then perhaps closing quotes or brackets.
# Every script's terminators (। ؟ ። too), as the rule files' sentence_terminal lists them.
_COMPLETE = regex.compile(r"[\p{Sentence_Terminal}…][\p{Pe}\p{Pf}\p{Po}\s]*$")


def early_of(settings: Settings) -> Early:
    """How the settings let a reply's first unit come sooner."""
    return Early(clause=settings.first_clause, at_once=not settings.hold_first_end)


def _cut(text: str, room: int) -> str:
    """The first ``room`` characters of ``text``; a word cut in two is left out when short."""
    head = text[: max(room, 0)]
    if len(head) < len(text) and head[-1:].isalnum() and text[len(head)].isalnum():
        space = head.rfind(" ")
        if space > 0 and len(head) - space <= _LONGEST_WORD:
            head = head[:space]
    return head


@dataclass(frozen=True, slots=True)
class Fed:
    """What one chunk gave.

    Attributes:
        sentences: Complete sentences to speak, in order, each with its gesture tags.
        first_words: The reply's first words (not thinking, not white space) came with it.
        retract: A bare ``</think>``: everything of the reply before this chunk was thinking.
        full: The reply reached its length limit with this chunk.

    """

    sentences: list[Said]
    first_words: bool = False
    retract: bool = False
    full: bool = False


class ReplyText:
    """One reply's text.

    Args:
        lang: The segmenter's rules.
        limit: ``max_reply_chars``: text beyond it is dropped.
        starts_inside: The reply is taken to begin inside a ``<think>`` block.
        early: How the reply's first unit may come sooner (``first_clause``,
            ``hold_first_end``).

    """

    def __init__(
        self, lang: str, limit: int, *, starts_inside: bool = False, early: Early = PLAIN
    ) -> None:
        self._lang = lang
        self._limit = limit
        self._early = early
        self._segmenter = TaggedSegmenter(lang, early)
        self._think = ThinkFilter(starts_inside=starts_inside)
        self._text = TextBuilder()
        self.has_words = False

    @property
    def text(self) -> str:
        """The reply's spoken text so far (thinking left out)."""
        return str(self._text)

    def feed(self, chunk: str) -> Fed:
        """Take the next chunk of the stream."""
        split = self._think.feed(chunk)
        if split.retract:
            self._text.clear()
            self._segmenter = TaggedSegmenter(self._lang, self._early)
            self.has_words = False
        first = bool(split.visible.strip()) and not self.has_words
        self.has_words = self.has_words or first
        sentences, full = self._take(split.visible)
        return Fed(sentences, first, split.retract, full)

    def end(self) -> list[Said]:
        """The stream has ended: return the sentences still held."""
        sentences, _ = self._take(self._think.flush())
        return sentences + self._segmenter.flush()

    def complete_sentences(self) -> list[Said]:
        """The stream failed: return the held sentences that are complete, not the fragment.

        Tags standing alone at the end still act.
        """
        return [s for s in self._segmenter.flush() if not s.text or _COMPLETE.search(s.text)]

    def _take(self, text: str) -> tuple[list[Said], bool]:
        room = self._limit - len(self._text)
        full = len(text) >= room
        if full:
            text = _cut(text, room)
        self._text.append(text)
        sentences = self._segmenter.feed(text)
        if full:
            sentences += self._segmenter.flush()
        return sentences, full
