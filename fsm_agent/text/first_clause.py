"""Speak a reply's first sentence up to its first clause break, when asked to.

The user waits for the first sentence in silence; a long one can take a second or more to
stream. :class:`FirstClause` wraps a :class:`~fsm_agent.text.segmenter.Segmenter`: until the
reply's first unit is out, a clause break (``、`` ``，`` ``；`` ``：``; a comma after a letter;
``;`` or ``:`` after a letter and before a space) that ends at least ``min_chars`` characters
of text releases that clause at once, as the Japanese docs' sample does at every ``、``. The
rest of the sentence follows as the next unit; every later sentence is left whole.

It costs naturalness: the host speaks each unit as an utterance of its own, so the clause
break becomes the pause between two utterances (1.86 s, median, on the recorded MMDAgent-EX,
against 0.39-0.43 s for a ``、`` inside one: ``benchmarks/unit_pause.py``). Hence off by
default.
"""

from __future__ import annotations

import regex

from fsm_agent.text.builder import TextBuilder
from fsm_agent.text.segmenter import Segmenter

__all__ = ["FirstClause", "reply_segmenter"]

# A clause break: CJK marks at once; a comma after a letter or a closing mark (never between
# digits: 3,000); a semicolon or colon after one only before white space (not http:, 10:30).
_BREAK = regex.compile(
    r"[、，；：]|(?<=[\p{L}\p{M}\p{Pe}\p{Pf}'\"]),|(?<=[\p{L}\p{M}\p{Pe}\p{Pf}'\"])[;:](?=\s)"
)
# A clause holding one of these is left whole: it may hold a sentence end (Hi. Well,) or an
# abbreviation (Mr. Smith,) the segmenter is still deciding.
_TERMINATOR = regex.compile(r"[.!?。！？…．｡]")
_PAIRS = ("()", "[]", "（）", "「」", "『』", "“”", "‘’", "«»")
_MARKS = regex.compile("[" + regex.escape('"' + "".join(_PAIRS)) + "]")


class FirstClause:
    """A segmenter whose first unit may end at a clause break; same ``feed``/``flush`` API.

    Args:
        segmenter: The sentence segmenter for the reply.
        min_chars: The shortest first clause released on its own (characters, white space
            around it not counted).

    """

    def __init__(self, segmenter: Segmenter, min_chars: int) -> None:
        self._seg = segmenter
        self.min_chars = min_chars
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
        if self._first:
            self._tail += text
        out = self._trim(sentences)
        if self._first and not out:
            out = self._early()
        if out:
            self._first = False
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
            if sentence:
                out.append(sentence)
        return out

    def _early(self) -> list[str]:
        """Release the pending text up to its first long enough clause break, if there is one.

        The clause is the reply from its start to the break: it is released when it holds no
        terminator and is long enough and balanced. Only the text not looked at yet is scanned.
        """
        if self._hopeless:
            return []
        tail, base = self._tail, self._seen - 1 if self._seen else 0
        if self._lead < 0 and tail.strip():  # where the clause's strip() will begin
            self._lead = base + len(tail) - len(tail.lstrip())
        counted = self._seen
        for match in _BREAK.finditer(tail, self._seen - base):
            end = base + match.end()
            between = tail[counted - base : end - base]
            counted = end
            if _TERMINATOR.search(between):
                self._hopeless = True
                return []
            for mark in _MARKS.findall(between):
                self._marks[mark] = self._marks.get(mark, 0) + 1
            if end - self._lead < self.min_chars or not self._balanced():
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

    def _balanced(self) -> bool:
        """No bracket or quote opened in the clause is left open (it would be cut in two)."""
        count = self._marks.get
        if count('"', 0) % 2:
            return False
        return all(count(a, 0) <= count(b, 0) for a, b in _PAIRS)


def reply_segmenter(lang: str, first_clause: int) -> Segmenter | FirstClause:
    """The segmenter for one reply: plain, or with an early first clause (``first_clause`` > 0).

    Args:
        lang: The rule file's language.
        first_clause: The ``first_clause`` setting: the shortest first clause released on its
            own; 0 leaves the first sentence whole.

    """
    segmenter = Segmenter(lang)
    return FirstClause(segmenter, first_clause) if first_clause > 0 else segmenter
