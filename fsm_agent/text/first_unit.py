"""A reply's first unit, sooner: at its end without waiting for what follows, or at a clause.

The user waits for the first sentence in silence. :class:`FirstUnit` wraps a
:class:`~fsm_agent.text.segmenter.Segmenter` until the reply's first unit is out, in two ways.

At once (on unless ``hold_first_end``): every sentence is released on the first character
after its end that decides it, which for the first one means waiting one more token. A first
sentence whose end the text already decides (the rule file's ``early_end``: a period after an
ordinary lower-case word, ``!`` ``?`` after a letter, ``。``; see
:meth:`~fsm_agent.text.segmenter.Segmenter.ends_here`) goes at once. What only the next
characters could add to it, a closing quote or another mark (``friend."``, ``Really?!``), is
then left unspoken; the rest of a web address (``example.com``) would become the start of the
next unit: ``python benchmarks/sentence_f1.py --early`` counts how often each happens.

At a clause (``first_clause``, 8 by default): a clause break (``、`` ``，`` ``；`` ``：``; a
comma after a letter; ``;`` or ``:`` after a letter and before a space) that ends at least
``min_chars`` characters of text releases that clause at once, as the Japanese docs' sample does
at every ``、`` (also when the sentence's end came in the same chunk, so that a replay, which
cannot know the chunks, splits as the live run did). The rest of the sentence follows as the
next unit; every later sentence is left whole. The break becomes the pause between two
utterances: on the real MMDAgent-EX with an audio output that stays open, 0.25-0.37 s, shorter
than the 0.52-0.66 s Open JTalk pauses at a ``、`` inside one (``python
benchmarks/heard_pause.py``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import regex

from fsm_agent.text.builder import TextBuilder
from fsm_agent.text.segmenter import Segmenter

__all__ = ["PATIENCE", "PLAIN", "Early", "FirstUnit", "reply_segmenter"]


@dataclass(frozen=True, slots=True)
class Early:
    """How a reply's first unit may come sooner (the settings of the same names).

    Attributes:
        clause: ``first_clause``: the shortest first clause spoken on its own; 0: none.
        at_once: Not ``hold_first_end``: a first sentence whose end the text decides goes
            without waiting for the next character.

    """

    clause: int = 0
    at_once: bool = False


PLAIN = Early()
"""No early first unit: every sentence waits for the character that decides its end."""

# A clause break: CJK marks at once; a comma after a letter or a closing mark (never between
# digits: 3,000); a semicolon or colon after one only before white space (not http:, 10:30).
_BREAK = regex.compile(
    r"[、，；：]|(?<=[\p{L}\p{M}\p{Pe}\p{Pf}'\"]),|(?<=[\p{L}\p{M}\p{Pe}\p{Pf}'\"])[;:](?=\s)"
)
# A clause holding one of these is left whole: it may hold a sentence end (Hi. Well,) or an
# abbreviation (Mr. Smith,) the segmenter is still deciding.
_TERMINATOR = regex.compile(r"[.!?。！？…．｡]")
PATIENCE = 400
"""Characters of a first sentence after which it is no longer looked at early: a sentence this
long is seconds of speech, where one token sooner does not count, and the probe of its end
(:meth:`~fsm_agent.text.segmenter.Segmenter.ends_here`) reads all of it."""
_WORDS = regex.compile(r"[\p{L}\p{N}]")
_PAIRS = ("()", "[]", "（）", "「」", "『』", "“”", "‘’", "«»")
_MARKS = regex.compile("[" + regex.escape('"' + "".join(_PAIRS)) + "]")


class FirstUnit:
    """A segmenter whose first unit may come sooner; same ``feed``/``flush`` API.

    Args:
        segmenter: The sentence segmenter for the reply.
        min_chars: The shortest first clause released on its own (characters, white space
            around it not counted); 0: none.
        at_once: Release a first sentence whose end the text decides without waiting for
            the next character.

    """

    def __init__(self, segmenter: Segmenter, min_chars: int, at_once: bool = False) -> None:
        self._seg = segmenter
        self.min_chars = min_chars
        self.at_once = at_once
        self._reset()

    def _reset(self) -> None:
        self._text = TextBuilder()  # the reply so far, while positions in it still matter
        self._pos = 0  # where the segmenter's next sentence starts, at the earliest
        self._cut = 0  # the text before this has been released early
        self._first = True  # the reply's first unit is not out yet
        # The search for the early clause goes on where the last chunk left it. It looks at
        # the reply from its start (the first unit is not out, so _pos is 0); a clause break
        # once turned down stays so, as the clause up to it never changes.
        self._seen = 0  # the text before this has been looked at for clause breaks
        self._tail = ""  # the text from _seen - 1 on (one character for the lookbehind)
        self._lead = -1  # where the first character that is not white space is, once known
        self._marks: dict[str, int] = {}  # how often each bracket or quote mark is in [:_seen]
        self._hopeless = False  # a terminator came before a clause break: no early clause

    def feed(self, text: str) -> list[str]:
        """Add a chunk; return the units it completed (see :meth:`Segmenter.feed`)."""
        sentences = self._seg.feed(text)
        if not self._first and self._cut <= self._pos:
            return sentences  # the early clause is behind us: plain sentences from here
        self._text.append(text)
        if self._first and self.min_chars and not self._hopeless:
            self._tail += text
        out = self._trim(sentences)
        if self._first and out and self.min_chars:
            # The first sentence came whole in one chunk (a replay, a reply not streamed): it
            # is split at its clause as it would be if its tokens came one by one.
            end = _clause_end(out[0], self.min_chars)
            if end is not None and out[0][end:].strip():
                out[:1] = [out[0][:end].strip(), out[0][end:].strip()]
        elif self._first and not out:
            out = self._early()
        if out or len(self._text) > PATIENCE:
            self._first = False  # a first sentence this long goes as every later one does
        return out

    def flush(self) -> list[str]:
        """End the reply; return what is left (see :meth:`Segmenter.flush`)."""
        sentences = self._seg.flush()
        out = self._trim(sentences) if self._cut > self._pos else sentences
        self._reset()
        return out

    def _trim(self, sentences: list[str]) -> list[str]:
        """Drop from the segmenter's sentences what was already released early."""
        if not sentences:
            return []
        text = str(self._text)
        out: list[str] = []
        for sentence in sentences:
            start = text.find(sentence, self._pos)  # sentences are exact substrings
            if start < 0:
                out.append(sentence)
                continue
            end = start + len(sentence)
            self._pos = end
            if start < self._cut:
                sentence = text[self._cut : end].strip() if end > self._cut else ""
                if not _WORDS.search(sentence):
                    continue  # marks after a sentence already spoken ("friend." then '"')
            if sentence:
                out.append(sentence)
        return out

    def _early(self) -> list[str]:
        """Release the pending text early, if its first clause or sentence allows it."""
        if self.min_chars and not self._hopeless:
            clause = self._clause()
            if clause:
                return clause
        sentence = self._seg.ends_here() if self.at_once else None
        if sentence is None:
            return []
        self._cut = len(str(self._text).rstrip())
        return [sentence]

    def _clause(self) -> list[str]:
        """Release the reply up to its first long enough clause break, if there is one.

        The clause is the reply from its start to the break: it is released when it holds no
        terminator and is long enough and balanced. Only the text not looked at yet is scanned.
        """
        tail, base = self._tail, self._seen - 1 if self._seen else 0
        if self._lead < 0 and tail.strip():  # where the clause's strip() will begin
            self._lead = base + len(tail) - len(tail.lstrip())
        counted = self._seen
        for match in _BREAK.finditer(tail, self._seen - base):
            end = base + match.end()
            between = tail[counted - base : end - base]
            counted = end
            if _TERMINATOR.search(between):
                self._hopeless = True  # every clause from here on holds it
                return []
            for mark in _MARKS.findall(between):
                self._marks[mark] = self._marks.get(mark, 0) + 1
            if end - self._lead < self.min_chars or not _balanced(self._marks):
                continue
            self._cut = end
            return [str(self._text)[:end].strip()]
        # A colon or semicolon at the very end may yet prove a break: look at it again.
        self._seen = max(counted, base + len(tail) - 1, 0)
        if _TERMINATOR.search(tail, counted - base, self._seen - base):
            self._hopeless = True  # every break still to come has it in its clause
        for mark in _MARKS.findall(tail, counted - base, self._seen - base):
            self._marks[mark] = self._marks.get(mark, 0) + 1
        self._tail = tail[max(self._seen - 1 - base, 0) :]
        return []


def _balanced(marks: dict[str, int]) -> bool:
    """No bracket or quote opened in a clause is left open (it would be cut in two).

    Args:
        marks: How often each bracket and quote mark is in the clause.

    """
    count = marks.get
    if count('"', 0) % 2:
        return False
    return all(count(a, 0) <= count(b, 0) for a, b in _PAIRS)


def _clause_end(sentence: str, min_chars: int) -> int | None:
    """Where the first clause of a whole sentence long enough to go alone ends, if any."""
    for match in _BREAK.finditer(sentence):
        clause = sentence[: match.end()].strip()
        if _TERMINATOR.search(clause):
            return None
        if len(clause) >= min_chars and _balanced(Counter(_MARKS.findall(clause))):
            return match.end()
    return None


def reply_segmenter(lang: str, early: Early = PLAIN) -> Segmenter | FirstUnit:
    """The segmenter for one reply: plain, or with an early first unit.

    Args:
        lang: The rule file's language.
        early: How the first unit may come sooner.

    """
    segmenter = Segmenter(lang)
    if early.clause > 0 or early.at_once:
        return FirstUnit(segmenter, early.clause, early.at_once)
    return segmenter
