"""The verdict on one terminator: split, reject, or hold until more text arrives.

A decision sees a fixed window of the text: at most ``look_behind`` characters before the
terminator and ``max_hold`` after it, and the end of the text reads as white space. So the same
text gives the same verdict however it was chunked and however much of it is buffered; that keeps
streaming equal to batch and each decision O(1).

Steps, in order: the rules placed right after the terminator character (``at = "terminator"``);
the cluster of marks that stays with the terminator (more terminators, closers, emoji, emphasis
runs); brackets and quotes still open after the cluster; the rules placed after the cluster
(``at = "end"``). With no rule matching, a terminator splits.
"""

from __future__ import annotations

from typing import NamedTuple

import regex

from fsm_agent.text.ruleset import Rules

__all__ = ["HOLD", "REJECT", "SPLIT", "Decision", "decide"]

HOLD, SPLIT, REJECT = 0, 1, 2
_NEWLINE_NEXT = regex.compile(r"[^\S\n]*\n")


class Decision(NamedTuple):
    """A verdict, where the sentence ends if it splits, and the sentence's marks after it.

    ``stack`` and ``emphasis`` are the brackets and emphasis runs still open after the
    terminator's cluster; they are meaningful only when the verdict is not HOLD.
    """

    verdict: int
    end: int
    stack: list[str]
    emphasis: dict[str, int]


class _Window(NamedTuple):
    text: str  # buf[lo:view], plus a space when it reaches the end of the whole text
    lo: int  # where text starts in the buffer
    at: int  # the terminator's index in text
    view: int  # how much of text is real (not the added space)
    done: bool  # nothing more can arrive within the window


def _window(rules: Rules, buf: str, c: int, final: bool) -> _Window:
    bound = c + rules.max_hold
    lo = max(0, c - rules.look_behind)
    view = min(len(buf), bound)
    text = buf[lo:view]
    if final and view == len(buf):
        text += " "  # the end of the text reads as white space: (?=\P{L}) can match there
    return _Window(text, lo, c - lo, view - lo, final or len(buf) >= bound)


def decide(
    rules: Rules, buf: str, c: int, final: bool, stack: list[str], emphasis: dict[str, int]
) -> Decision:
    """Judge the terminator at ``buf[c]``.

    Args:
        rules: The language's rules.
        buf: The buffered text.
        c: Index of the terminator in ``buf``.
        final: True when no more text will arrive.
        stack: Brackets and quotes open in the current sentence (not changed).
        emphasis: Emphasis runs open in the current sentence, by mark (not changed).

    Returns:
        The decision; ``end`` is an index into ``buf``.

    """
    hold = Decision(HOLD, c, stack, emphasis)
    if not final and c + 1 == len(buf) and len(buf) < c + rules.max_hold:
        return hold  # nothing after the terminator yet: every rule needs more
    w = _window(rules, buf, c, final)
    early = _at_terminator(rules, w)
    if early is not None:
        return Decision(early, w.lo + w.at + 1, stack, emphasis) if early != HOLD else hold
    m = rules.cluster.match(w.text, w.at, w.view, partial=not w.done)
    assert m is not None  # the scan found a terminator here
    end = m.end()
    if not w.done and _cluster_may_grow(rules, w, m.partial, end):
        return hold
    last, end, stack, emphasis = _walk_cluster(rules, w.text, w.at, end, stack, emphasis)
    if stack:
        # A line break ends the sentence whatever is open: the pair can only close before it.
        newline = buf.find("\n", w.lo + end, c + rules.max_hold)
        reach = c + rules.max_hold if newline < 0 else newline
        if buf.find(rules.pairs[stack[-1]], w.lo + end, reach) >= 0:
            return Decision(REJECT, w.lo + end, stack, emphasis)  # the pair closes in view
        if not w.done and newline < 0:
            return hold
        stack = []  # never closed within the bound: judge it as if outside
    if end < m.end() and w.text[end - 1].isspace():
        # The cluster stopped at a spaced mark that opens the next sentence (savoir. " Elle).
        return Decision(SPLIT, w.lo + end, stack, emphasis)
    verdict = _after_cluster(rules, w.text, last, end, w.done)
    return hold if verdict == HOLD else Decision(verdict, w.lo + end, stack, emphasis)


def _at_terminator(rules: Rules, w: _Window) -> int | None:
    """Apply the rules placed right after the terminator character; None if none matches."""
    for rule in rules.terminator_rules[w.text[w.at]]:
        m = rule.pattern.match(w.text, w.at + 1, partial=not w.done)
        if m is not None:
            return HOLD if m.partial else SPLIT if rule.split else REJECT
    return None


def _cluster_may_grow(rules: Rules, w: _Window, partial: bool, end: int) -> bool:
    """Whether text still to come could extend the cluster ending at ``end``."""
    # A space at the very end may still be part of a spaced ellipsis (". . .") or come before
    # a spaced closer (French ". »"); the text at the end may begin one more mark (" :-").
    if partial or end >= w.view or (end + 1 == w.view and w.text[end] in rules.cluster_spaces):
        return True
    more = rules.cluster_part.match(w.text, end, w.view, partial=True)
    return more is not None and more.partial


def _walk_cluster(
    rules: Rules, text: str, at: int, end: int, stack: list[str], emphasis: dict[str, int]
) -> tuple[str, int, list[str], dict[str, int]]:
    """Read the marks of the cluster ``text[at:end]`` in order.

    Returns:
        The cluster's last terminator (its end rules apply: "……。" ends like "。"), where the
        sentence ends (before a mark that opens the next sentence), and the brackets and
        emphasis runs still open after it (copies; the arguments are not changed).

    """
    last = text[at]
    if end == at + 1:
        return last, end, stack, emphasis
    stack = list(stack)
    j = at + 1
    while j < end:
        mark = text[j]
        if mark in rules.terminators:
            last = mark
        elif mark in rules.emphasis:
            k = j + 1
            while k < end and text[k] == mark:
                k += 1
            n = emphasis.get(mark, 0)
            if n:
                emphasis = {**emphasis, mark: n - 1}
            elif k < len(text) and not text[k].isspace():
                # It closes nothing and a word follows: it opens the next sentence
                # (はい。**次**です。).
                return last, j, stack, emphasis
            j = k
            continue
        elif not _close(rules, stack, mark) and mark in rules.pairs and text[j - 1] != "\x1b":
            # A mark that closes nothing but opens a pair (German “ seen as English “) starts
            # the next sentence instead of ending this one.
            return last, j, stack, emphasis
        j += 1
    return last, end, stack, emphasis


def _close(rules: Rules, stack: list[str], mark: str) -> bool:
    """Close the innermost open bracket that ``mark`` closes; False if it closes none."""
    for i in range(len(stack) - 1, -1, -1):
        if rules.pairs[stack[i]] == mark:
            del stack[i:]
            return True
    return False


def _after_cluster(rules: Rules, text: str, ch: str, end: int, done: bool) -> int:
    """Apply the rules placed after the cluster, which ends at ``end`` of ``text``."""
    if _NEWLINE_NEXT.match(text, end):
        return SPLIT
    # Usually no rule applies at all: one combined match says so at once.
    if rules.any_end_rule[ch].match(text, end, partial=not done) is None:
        return SPLIT
    for rule in rules.end_rules[ch]:
        m = rule.pattern.match(text, end, partial=not done)
        if m is not None:
            return HOLD if m.partial else SPLIT if rule.split else REJECT
    return SPLIT
