"""Streaming sentence segmentation driven by per-language rule files.

The language knowledge lives in ``fsm_agent/text/rules/<lang>.toml`` (read by
:mod:`fsm_agent.text.ruleset`); the verdict on one terminator is :mod:`fsm_agent.text.decide`.
This module is the streaming engine. Text arrives in chunks of any size. The scanner keeps a
position and looks at each candidate once: a terminator (。 . ! ?), a bracket or quote mark, a
newline, a list marker, an emphasis run. A terminator gets one of three answers: split, reject,
or hold (the text to the right could still change the answer), and a hold never looks further
than ``max_hold`` characters past the terminator. A decision sees at most ``look_behind``
characters before the terminator, and the end of the text reads as white space. So every answer
depends on the text alone, never on how it was chunked or how much of it is still buffered, and
streaming gives exactly what :func:`split_sentences` gives for the whole text.
"""

from __future__ import annotations

import copy
from functools import cached_property

import regex

from fsm_agent.text.decide import HOLD, SPLIT, decide
from fsm_agent.text.ruleset import Rules, available_languages, check_language, load

__all__ = ["Segmenter", "available_languages", "split_sentences"]

_NONSPACE = regex.compile(r"\S")
_MARKER_WINDOW = 8  # the longest list marker, e.g. "• 10.) "
# Drop the text before the current sentence once this much of it has piled up: often enough to
# keep the buffer small, rarely enough that the copying costs nothing.
_COMPACT_AT = 2048
# Open brackets kept per sentence: more are ignored, so a text of nothing but "(((" keeps each
# decision O(1). Real text nests a few deep at most.
_MAX_OPEN = 16
# How many of the innermost open brackets a closing mark looks at for its own: it closes the
# nearest one it belongs to, skipping the strays above it ("(a [b) c" closes the "("), but a
# stray opener far down does not swallow every closer after it.
_CLOSE_REACH = 4
# What a closing quote follows: a word, a number, a terminator or comma, a closing bracket.
_AFTER_WORD = regex.compile(r"[\p{L}\p{N}\p{M}.,;:!?…)\]}]")
# Letters and digits of scripts that put spaces between words: an emphasis mark between two
# of them is inside a word (snake_case_name), not markdown.
_WORD_CHAR = regex.compile(r"[\p{LC}\p{Nd}]")


def _ordinal(m: regex.Match[str]) -> tuple[str, int] | None:
    n = m.group("n")
    if n is None:
        return None
    if n.isdigit():
        return ("num", int(n))
    return ("alpha", ord(n.lower()) - ord("a") + 1)


class Segmenter:
    """Cut a stream of text into sentences as soon as each one is complete.

    Each sentence is an exact substring of the input with the white space around it removed:
    no character is dropped, duplicated or rewritten (white space between sentences is the only
    thing not returned). The result does not depend on how the text is cut into chunks.

    Args:
        lang: Rule file to use: a code from :func:`available_languages`; ``"auto"`` handles
            mixed Japanese, Chinese, Korean and Latin-script text.

    A sentence may be of any length: cutting a long one for a synthesizer is a speech concern
    (:func:`fsm_agent.text.speech_units.speech_units`), not a sentence boundary.

    Raises:
        ValueError: If ``lang`` has no rule file.

    """

    def __init__(self, lang: str = "auto") -> None:
        check_language(lang)
        self.lang = lang
        self._reset()

    @cached_property
    def _rules(self) -> Rules:
        # Compiled at the first text, not here: a controller is made before the host's first
        # line is read (see ruleset.preload). After this, a plain attribute of the instance.
        return load(self.lang)

    def _reset(self) -> None:
        self._buf = ""
        self._head: list[str] = []  # the current sentence's text already dropped from _buf
        self._start = 0  # where the current sentence starts in _buf
        self._pos = 0  # every candidate before this has been decided
        self._stack: list[str] = []  # open brackets and quotes of the current sentence
        self._emphasis: dict[str, int] = {}  # markdown emphasis runs open in it, by mark
        self._list: tuple[str, int] | None = None  # ordinal of the last list item marker
        self._at_start = True  # the current sentence's opening has not been looked at yet

    def feed(self, text: str) -> list[str]:
        """Add a chunk of the stream.

        Args:
            text: The next piece of text, of any length (may be empty).

        Returns:
            The sentences this chunk completed, in order.

        """
        if text:
            self._buf += text
        return self._run(final=False)

    def flush(self) -> list[str]:
        """End the stream and return what is left, then start afresh.

        Returns:
            The remaining sentences, in order (empty if nothing but white space is left).

        """
        out = self._run(final=True)
        self._emit(out, self._start, len(self._buf))
        self._reset()
        return out

    def ends_here(self) -> str | None:
        """The sentence the text so far would end, if nothing but white space followed it.

        For a reply's first sentence, worth speaking before the next chunk shows what follows
        it. Only an end matching the rule file's ``early_end`` counts (a period after an
        ordinary lower-case word, ``!`` or ``?`` after a letter, ``。``), outside any quote,
        bracket or emphasis, and only when it is the one sentence held. The segmenter's state is
        not changed.

        Returns:
            That sentence, or None.

        """
        early = self._rules.early_end
        tail = max(self._start, len(self._buf) - self._rules.look_behind)
        if early is None or self._stack or any(self._emphasis.values()):
            return None  # inside a quote or a bracket: what closes it decides
        if early.search(self._buf, tail) is None:
            return None
        probe = copy.copy(self)
        probe._head, probe._stack = list(self._head), list(self._stack)
        probe._emphasis = dict(self._emphasis)
        out = probe._run(final=True)
        if len(out) != 1 or _NONSPACE.search(probe._buf, probe._start) is not None:
            return None
        return out[0]

    # ---- the scan ------------------------------------------------------------------------------

    def _run(self, final: bool) -> list[str]:
        """Decide every candidate the buffered text allows; return the completed sentences."""
        out: list[str] = []
        while self._step(out, final):
            pass
        self._compact()
        return out

    def _step(self, out: list[str], final: bool) -> bool:
        """Take one step of the scan; False when it must wait for more text (or the end)."""
        if self._at_start and not self._open_sentence(final):
            return False
        in_list = self._list is not None
        rules = self._rules
        m = (rules.scan_list if in_list else rules.scan).search(self._buf, self._pos)
        if m is None:
            # The last few characters may begin a list marker: look at them again later.
            n = len(self._buf)
            self._pos = n if final or not in_list else max(self._pos, n - _MARKER_WINDOW)
            return False
        c = m.start()
        if in_list and not final:
            held = self._partial_marker(c)
            if held is not None:
                self._pos = held
                return False
        return self._candidate(out, m, final)

    def _open_sentence(self, final: bool) -> bool:
        """Find where the current sentence starts and whether it opens with a list marker.

        Returns:
            False when there is nothing to look at yet (only white space, or the first few
            characters may still become a marker).

        """
        buf = self._buf
        m = _NONSPACE.search(buf, self._start)
        if m is None:
            # White space between sentences is never returned: step over it for good, so a
            # long run of it is not searched again on every chunk.
            self._start = self._pos = len(buf)
            return False
        # A sentence starts at its first visible character, wherever the chunks ended.
        first = self._start = m.start()
        # A marker ("2.)", "• 10.") is short: judge it on a fixed window, once full, or as soon
        # as the text so far cannot begin one.
        newline = buf.find("\n", first, first + _MARKER_WINDOW)
        window = first + _MARKER_WINDOW if newline < 0 else newline
        unknown = not final and newline < 0 and len(buf) < window
        lm = self._rules.list_marker.match(buf, first, window, partial=unknown)
        if unknown and lm is not None:
            self._pos = max(self._pos, first)
            return False
        self._list = None if lm is None else _ordinal(lm)
        self._pos = max(self._pos, first if lm is None else lm.end())
        self._at_start = False
        return True

    def _candidate(self, out: list[str], m: regex.Match[str], final: bool) -> bool:
        """Act on the candidate ``m``; False when it must wait for more text."""
        c, kind = m.start(), m.lastgroup
        if kind == "nl":
            self._break(out, c, c + 1)
        elif kind == "b":
            self._bracket(c)
            self._pos = c + 1
        elif kind == "li" or kind == "bu":
            self._list_item(out, m)
        elif kind == "em":
            if m.end() == len(self._buf) and not final:
                self._pos = c  # whether it opens or closes depends on what follows
                return False
            self._emphasis_run(c, m.end())
            self._pos = m.end()
        else:
            d = decide(self._rules, self._buf, c, final, self._stack, self._emphasis)
            if d.verdict == HOLD:
                self._pos = c
                return False
            self._stack, self._emphasis = d.stack, d.emphasis
            if d.verdict == SPLIT:
                self._break(out, d.end, d.end)
            else:
                self._pos = d.end
        return True

    def _compact(self) -> None:
        """Drop text no decision can see again, so each chunk costs the same however long."""
        # Every decision is made at or after _pos and looks back at most look_behind.
        keep = self._pos - self._rules.look_behind
        if self._start > _COMPACT_AT:
            cut = min(self._start, keep)
        elif keep - self._start > _COMPACT_AT:
            # A long sentence: its text so far moves to the head, which is only joined once.
            cut = keep
            self._head.append(self._buf[self._start : cut])
            self._start = cut
        else:
            return
        self._buf = self._buf[cut:]
        self._start -= cut
        self._pos -= cut

    # ---- sentence ends -------------------------------------------------------------------------

    def _emit(self, out: list[str], a: int, b: int) -> None:
        sentence = ("".join(self._head) + self._buf[a:b]).strip()
        self._head = []
        if sentence:
            out.append(sentence)

    def _break(self, out: list[str], end: int, resume: int) -> None:
        """Close the current sentence at ``end``; the next starts at ``resume``."""
        self._emit(out, self._start, end)
        self._start = resume
        self._pos = max(self._pos, resume)
        self._stack.clear()
        self._emphasis = {}
        self._at_start = True

    # ---- marks inside a sentence ---------------------------------------------------------------

    def _partial_marker(self, c: int) -> int | None:
        """Find a list marker that the text before ``c`` begins but has not finished."""
        buf = self._buf
        # Only a candidate in the last few characters that could sit inside a marker ("2.)")
        # can be part of one.
        if c <= len(buf) - _MARKER_WINDOW or buf[c] not in self._rules.marker_chars:
            return None
        lo = max(self._pos, len(buf) - _MARKER_WINDOW, 1)
        if lo >= c or self._rules.list_item.search(buf, lo, partial=True) is None:
            return None
        for p in range(lo, c):
            if buf[p - 1].isspace():
                lm = self._rules.list_marker.match(buf, p, partial=True)
                if lm is not None and lm.partial:
                    return p
        return None

    def _bracket(self, c: int) -> None:
        """Track the bracket or quote mark at ``c``: it closes an open one, or opens one."""
        stack, ch = self._stack, self._buf[c]
        if c > 0 and self._buf[c - 1] == "\x1b":
            return  # a terminal escape (ESC[31m), not a bracket
        for i in range(len(stack) - 1, max(-1, len(stack) - 1 - _CLOSE_REACH), -1):
            if self._rules.pairs[stack[i]] == ch:
                del stack[i:]
                return
        if ch not in self._rules.pairs or len(stack) >= _MAX_OPEN:
            return
        # A mark that both opens and closes (") right after a word closes a quote opened before
        # this sentence (politica". "Ma no): it opens nothing.
        started = c > self._start or self._head
        if self._rules.pairs[ch] == ch and started and _AFTER_WORD.match(self._buf[c - 1]):
            return
        stack.append(ch)

    def _emphasis_run(self, a: int, b: int) -> None:
        """Track a run of an emphasis mark (``**``, ``_``, a backtick) at ``a:b``."""
        buf, mark = self._buf, self._buf[a]
        before = buf[a - 1] if a > self._start or self._head else " "
        after = buf[b] if b < len(buf) else " "
        if _WORD_CHAR.match(before) and _WORD_CHAR.match(after):
            return
        n = self._emphasis.get(mark, 0)
        if n and not before.isspace():
            self._emphasis = {**self._emphasis, mark: n - 1}
        elif not after.isspace():
            self._emphasis = {**self._emphasis, mark: n + 1}

    def _list_item(self, out: list[str], m: regex.Match[str]) -> None:
        c = m.start()
        if c > 0 and not self._buf[c - 1].isspace():
            self._pos = c + 1  # a bullet glued to a word is not an item
            return
        ordinal = _ordinal(m) if m.lastgroup == "li" else None
        is_next = (
            ordinal is not None
            and self._list is not None
            and ordinal[0] == self._list[0]
            and ordinal[1] == self._list[1] + 1
        )
        started = self._head or self._buf[self._start : c].strip()
        if (self._buf[c] in self._rules.bullets or is_next) and started:
            self._break(out, c, c)
        else:
            # Not a new item: look at its characters again as ordinary text ("p. 55").
            self._pos = c + 1


def split_sentences(text: str, lang: str = "auto") -> list[str]:
    """Split a whole text into sentences.

    Args:
        text: The text.
        lang: Rule file to use, as for :class:`Segmenter`.

    Returns:
        The sentences, each an exact substring of ``text`` with surrounding white space removed.

    Raises:
        ValueError: If ``lang`` has no rule file.

    """
    seg = Segmenter(lang)
    return seg.feed(text) + seg.flush()
