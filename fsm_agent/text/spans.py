r"""Markdown spans (``**bold**``, ``_it_``, ``~~gone~~``) unwrapped in time linear in the text.

The speech cleaner used ``regex.sub(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", r"\2", text)`` and the
like. For every opening mark with no closing one after it, such a pattern reads on to the end of
the line before it gives up, so a sentence of stray marks (``*a *a *a`` ...) cost the square of
its length: 0.3 s for 4,000 characters, hours for a 5 MB sentence. :class:`Spans` gives exactly
what that substitution gives, but searches for the closing mark of a kind once per line at most
when it is missing: a closing mark's match never depends on where the span opened, so if none
follows one opening mark, none follows a later opening mark of the same kind on its line.
"""

from __future__ import annotations

import regex

__all__ = ["Spans"]


class Spans:
    r"""Replace ``OPEN(?=\S)(.+?)(?<=\S)CLOSE`` by the text between the marks.

    Args:
        opening: The opening mark, a group named ``mark`` holding it, with any lookaround
            (the ``(?=\S)`` after it included).
        closing: For each mark, the pattern of its closing mark, lookaround included (the
            ``(?<=\S)`` before it too).

    """

    def __init__(self, opening: str, closing: dict[str, str]) -> None:
        self._opening = regex.compile(opening)
        self._closing = {mark: regex.compile(pattern) for mark, pattern in closing.items()}

    def sub(self, text: str) -> str:
        """Unwrap every span of ``text``, leftmost first, each as short as it can be."""
        out: list[str] = []
        done = 0  # text[:done] is settled
        missing: dict[str, int] = {}  # a mark with no closing one before this line end
        for opened in self._opening.finditer(text, overlapped=True):
            at, mark = opened.start(), opened.group("mark")
            if at < done or at < missing.get(mark, -1):
                continue
            line_end = text.find("\n", at)  # ``.`` does not cross a line break
            if line_end < 0:
                line_end = len(text)
            # The span holds one character at least.
            closed = self._closing[mark].search(text, opened.end() + 1, line_end)
            if closed is None:
                missing[mark] = line_end
                continue
            out += (text[done:at], text[opened.end() : closed.start()])
            done = closed.end()
        if not out:
            return text
        out.append(text[done:])
        return "".join(out)


class _Next:
    """``text.find(char, at)`` for ``at`` that never decreases: each character is read once."""

    def __init__(self, text: str, char: str) -> None:
        self._text, self._char = text, char
        self._from, self._found = 0, text.find(char)

    def __call__(self, at: int) -> int:
        if not (self._from <= at and (self._found < 0 or at <= self._found)):
            self._from, self._found = at, self._text.find(self._char, at)
        return self._found


def unbracket(text: str, opening: str, min_inside: int, suffix: str) -> str:
    r"""Replace links by their text, as ``regex.sub`` with ``\[([^\]]+)\]\([^)]*\)`` did.

    That is ``opening`` (``[`` or ``![``), at least ``min_inside`` characters up to the first
    ``]``, then ``suffix[0]`` and everything up to the first ``suffix[1]``. The pattern read on
    to the next ``]`` from every ``[`` (and to the next ``)`` from every ``](``), so a sentence of
    ``[`` with none cost the square of its length. Here, when the link at one ``[`` fails, the
    ``[`` marks before its ``]`` are passed over: they would end at the same ``]``, and fail the
    same way.

    Args:
        text: The text.
        opening: What a link begins with.
        min_inside: The fewest characters of link text.
        suffix: The marks around the target: ``"()"`` for ``[text](url)``, ``"[]"`` for
            ``[text][ref]``.

    """
    if opening not in text:
        return text
    inside_end, target_end = _Next(text, "]"), _Next(text, suffix[1])
    out: list[str] = []
    done = at = 0
    while (start := text.find(opening, at)) >= 0:
        inside = start + len(opening)
        close = inside_end(inside)
        if close < 0:
            break
        at = close + 1
        if close - inside < min_inside or text[close + 1 : close + 2] != suffix[0]:
            continue
        end = target_end(close + 2)
        if end < 0:
            continue
        out += (text[done:start], text[inside:close])
        done = at = end + 1
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)
