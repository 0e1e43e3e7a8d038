"""Streaming sentence segmentation driven by per-language rule files.

The language knowledge lives in ``fsm_agent/text/rules/<lang>.toml``; this module only knows the
mechanics. Text arrives in chunks of any size. The scanner keeps a position and looks at each
candidate once: a terminator (。 . ! ?), a bracket or quote mark, a newline, a list marker. For a
terminator the rules give one of three answers: split, reject, or hold (the text to the right
could still change the answer), and a hold never looks further than ``max_hold`` characters
past the terminator. A decision sees at most ``look_behind`` characters before the terminator,
and the end of the text reads as white space. So every answer depends on the text alone, never
on how it was chunked or how much of it is still buffered, and streaming gives exactly what
:func:`split_sentences` gives for the whole text.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import regex

__all__ = ["Segmenter", "available_languages", "split_sentences"]

_HOLD, _SPLIT, _REJECT = 0, 1, 2
_NONSPACE = regex.compile(r"\S")
_NEWLINE_NEXT = regex.compile(r"[^\S\n]*\n")
_PLACEHOLDER = regex.compile(r"\{\{(\w+)\}\}")
_STRING_KEYS = (
    "terminators",
    "spaced_terminators",
    "closers",
    "spaced_closers",
    "emphasis",
    "bullets",
)
# The spaces French sets before » (plain, no-break, narrow no-break).
_CLOSER_SPACES = " \u00a0\u202f"
_SCALAR_KEYS = ("name", "list_marker", "soft_break", "trailing", "max_hold", "look_behind")
_MARKER_WINDOW = 8  # the longest list marker, e.g. "• 10.) "
_COMPACT_AT = 2048
# Letters and digits of scripts that put spaces between words: an emphasis mark between two
# of them is inside a word (snake_case_name), not markdown.
_WORD_CHAR = regex.compile(r"[\p{LC}\p{Nd}]")


@dataclass(frozen=True)
class _Rule:
    name: str
    after: frozenset[str] | None
    pattern: regex.Pattern[str]
    split: bool


@dataclass(frozen=True)
class _Rules:
    lang: str
    terminators: str
    pairs: dict[str, str]
    emphasis: str
    cluster_spaces: str
    bullets: frozenset[str]
    max_hold: int
    look_behind: int
    scan: regex.Pattern[str]
    scan_list: regex.Pattern[str]
    cluster: regex.Pattern[str]
    list_marker: regex.Pattern[str]
    list_item: regex.Pattern[str]
    marker_chars: frozenset[str]
    soft_break: regex.Pattern[str]
    terminator_rules: dict[str, tuple[_Rule, ...]]
    end_rules: dict[str, tuple[_Rule, ...]]
    any_end_rule: dict[str, regex.Pattern[str]]


def _rules_dir() -> Any:
    return resources.files("fsm_agent.text") / "rules"


def available_languages() -> list[str]:
    """Return the language codes that have a rule file, sorted.

    Returns:
        Codes such as ``"auto"``, ``"en"``, ``"ja"``; files starting with ``_`` are bases for
        other files and are not listed.

    """
    names = (p.name for p in _rules_dir().iterdir() if p.name.endswith(".toml"))
    return sorted(n.removesuffix(".toml") for n in names if not n.startswith("_"))


def _read(name: str) -> dict[str, Any]:
    text = (_rules_dir() / f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _merge(into: dict[str, Any], data: dict[str, Any]) -> None:
    """Merge ``data`` (a child) over ``into`` (its parents so far)."""
    for key in _STRING_KEYS:
        into[key] = into.get(key, "") + "".join(
            ch for ch in data.get(key, "") if ch not in into.get(key, "")
        )
    into["brackets"] = into.get("brackets", []) + [
        b for b in data.get("brackets", []) if b not in into.get("brackets", [])
    ]
    words = into.setdefault("words", {})
    for key, values in data.get("words", {}).items():
        have = words.setdefault(key, [])
        have.extend(v for v in values if v not in have)
    for key in _SCALAR_KEYS:
        if key in data:
            into[key] = data[key]
    # The child's own rules are more specific, so they are tried first; one with the name of
    # an inherited rule replaces it.
    own = data.get("rules", [])
    seen = {_rule_key(r) for r in own}
    names = {r["name"] for r in own if r.get("name")}
    inherited = [
        r for r in into.get("rules", []) if _rule_key(r) not in seen and r.get("name") not in names
    ]
    into["rules"] = list(own) + inherited


def _rule_key(rule: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(rule.get(k, "")) for k in ("after", "at", "before", "next", "action"))


def _resolve(name: str, chain: tuple[str, ...] = ()) -> dict[str, Any]:
    if name in chain:
        raise ValueError(f"rule files extend each other in a loop: {' -> '.join(chain)}")
    data = _read(name)
    merged: dict[str, Any] = {}
    for parent in data.get("extends", []):
        _merge(merged, _resolve(parent, (*chain, name)))
    _merge(merged, data)
    return merged


def _expand(pattern: str, words: dict[str, list[str]]) -> str:
    def alternation(m: regex.Match[str]) -> str:
        items = sorted(words.get(m.group(1), []), key=len, reverse=True)
        # An empty list must match nothing, not the empty string.
        return "|".join(regex.escape(w) for w in items) if items else "(?!)"

    return _PLACEHOLDER.sub(alternation, pattern)


def _char_class(chars: str) -> str:
    return "[" + "".join(regex.escape(c) for c in chars) + "]" if chars else "(?!)"


@cache
def _load(lang: str) -> _Rules:
    if lang not in available_languages():
        raise ValueError(
            f"unknown language {lang!r}; available: {', '.join(available_languages())}"
        )
    data = _resolve(lang)
    words: dict[str, list[str]] = data.get("words", {})
    terminators = data["terminators"] + data["spaced_terminators"]
    pairs = {b[0]: b[1] for b in data["brackets"]}
    bracket_chars = "".join(dict.fromkeys("".join(data["brackets"])))
    list_marker = data["list_marker"]
    emphasis = data["emphasis"]
    runs = "|".join(f"{regex.escape(e)}+" for e in emphasis) or "(?!)"
    scan = (
        f"(?P<t>{_char_class(terminators)})|(?P<b>{_char_class(bracket_chars)})|(?P<nl>\\n)"
        f"|(?P<bu>{_char_class(data['bullets'])})|(?P<em>{runs})"
    )
    # Inline item markers ("... first item 2. The second") only matter inside a list; looking
    # for them costs most of the scan, so a second pattern does it only then.
    scan_list = f"{scan}|(?P<li>(?<=\\s)(?:{list_marker}))"
    t_class, c_class = _char_class(terminators), _char_class(data["closers"] + emphasis)
    cluster = f"{t_class}|{c_class}|{data.get('trailing') or '(?!)'}| (?=\\.)"
    if data["spaced_closers"]:
        cluster += f"|[{_CLOSER_SPACES}]{_char_class(data['spaced_closers'])}"
    by_position: dict[bool, list[_Rule]] = {True: [], False: []}
    for raw in data["rules"]:
        before = _expand(raw.get("before", ""), words)
        after = raw.get("after")
        source = (f"(?<={before})" if before else "") + _expand(raw.get("next", ""), words)
        rule = _Rule(
            name=raw.get("name", ""),
            after=frozenset(after) if after else None,
            pattern=regex.compile(source),
            split=raw["action"] == "split",
        )
        by_position[raw.get("at", "end") == "terminator"].append(rule)
    return _Rules(
        lang=lang,
        terminators=terminators,
        pairs=pairs,
        emphasis=emphasis,
        bullets=frozenset(data["bullets"]),
        max_hold=int(data["max_hold"]),
        look_behind=int(data["look_behind"]),
        scan=regex.compile(scan),
        scan_list=regex.compile(scan_list),
        cluster=regex.compile(f"{t_class}(?:{cluster})*"),
        cluster_spaces=_CLOSER_SPACES if data["spaced_closers"] else " ",
        list_marker=regex.compile(list_marker),
        list_item=regex.compile(f"(?<=\\s)(?:{list_marker})"),
        marker_chars=frozenset(list_marker),
        soft_break=regex.compile(data["soft_break"]),
        terminator_rules=_by_terminator(by_position[True], terminators),
        end_rules=(end_rules := _by_terminator(by_position[False], terminators)),
        any_end_rule={
            t: regex.compile("|".join(f"(?:{r.pattern.pattern})" for r in rs) or "(?!)")
            for t, rs in end_rules.items()
        },
    )


def _by_terminator(rules: list[_Rule], terminators: str) -> dict[str, tuple[_Rule, ...]]:
    return {t: tuple(r for r in rules if r.after is None or t in r.after) for t in terminators}


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
        max_length: A sentence that grows past this many characters without an end is cut at
            its last soft break (、，,;:), else its last space, else at this length.

    Raises:
        ValueError: If ``lang`` has no rule file or ``max_length`` is not positive.

    """

    def __init__(self, lang: str = "auto", max_length: int = 300) -> None:
        if max_length < 1:
            raise ValueError(f"max_length must be positive, got {max_length}")
        self.lang = lang
        self.max_length = max_length
        self._rules = _load(lang)
        self._reset()

    def _reset(self) -> None:
        self._buf = ""
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

    def _emit(self, out: list[str], a: int, b: int) -> None:
        sentence = self._buf[a:b].strip()
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

    def _run(self, final: bool) -> list[str]:
        out: list[str] = []
        rules = self._rules
        limit = self.max_length
        while True:
            buf = self._buf
            if self._at_start:
                m = _NONSPACE.search(buf, self._start)
                if m is None:
                    # White space between sentences is never returned: step over it for good,
                    # so a long run of it is not searched again on every chunk.
                    self._start = self._pos = len(buf)
                    break
                # A sentence starts at its first visible character, wherever the chunks
                # ended: max_length counts from there.
                first = self._start = m.start()
                # A marker ("2.)", "• 10.") is short: judge it on a fixed window, once full,
                # or as soon as the text so far cannot begin one.
                newline = buf.find("\n", first, first + _MARKER_WINDOW)
                window = first + _MARKER_WINDOW if newline < 0 else newline
                unknown = not final and newline < 0 and len(buf) < window
                lm = rules.list_marker.match(buf, first, window, partial=unknown)
                if unknown and lm is not None:
                    self._pos = max(self._pos, first)
                    break
                self._list = None if lm is None else _ordinal(lm)
                self._pos = max(self._pos, first if lm is None else lm.end())
                self._at_start = False
            if self._pos - self._start >= limit:
                self._force_cut(out)
                continue
            in_list = self._list is not None
            m = (rules.scan_list if in_list else rules.scan).search(buf, self._pos)
            if m is None:
                # The last few characters may begin a list marker: look at them again later.
                n = len(buf)
                self._pos = n if final or not in_list else max(self._pos, n - _MARKER_WINDOW)
                if self._pos - self._start >= limit:
                    continue
                break
            c = m.start()
            # Only a candidate that could sit inside a marker ("2.)") can be part of one.
            if (
                in_list
                and not final
                and c > len(buf) - _MARKER_WINDOW
                and buf[c] in rules.marker_chars
            ):
                held = self._partial_marker(c)
                if held is not None:
                    self._pos = held
                    if self._pos - self._start >= limit:
                        continue
                    break
            if c - self._start >= limit:
                self._pos = c
                continue
            kind = m.lastgroup
            if kind == "nl":
                self._break(out, c, c + 1)
            elif kind == "b":
                self._bracket(buf[c])
                self._pos = c + 1
            elif kind == "li" or kind == "bu":
                self._list_item(out, m)
            elif kind == "em":
                if m.end() == len(buf) and not final:
                    self._pos = c  # whether it opens or closes depends on what follows
                    break
                self._emphasis_run(c, m.end())
                self._pos = m.end()
            else:
                verdict, end = self._decide(c, final)
                if verdict == _HOLD:
                    self._pos = c
                    break
                if verdict == _SPLIT:
                    self._break(out, end, end)
                else:
                    self._pos = end
        if self._start > _COMPACT_AT:
            # Every decision is made at or after the start, so this keeps all it may see.
            cut = self._start - rules.look_behind
            self._buf = self._buf[cut:]
            self._start -= cut
            self._pos -= cut
        return out

    def _partial_marker(self, c: int) -> int | None:
        """Find a list marker that the text before ``c`` begins but has not finished."""
        buf = self._buf
        # Only the last few characters can hold an unfinished marker ("2.", "• 1").
        lo = max(self._pos, len(buf) - _MARKER_WINDOW, 1)
        if lo >= c or self._rules.list_item.search(buf, lo, partial=True) is None:
            return None
        for p in range(lo, c):
            if buf[p - 1].isspace():
                lm = self._rules.list_marker.match(buf, p, partial=True)
                if lm is not None and lm.partial:
                    return p
        return None

    def _bracket(self, ch: str) -> None:
        stack = self._stack
        # A closing mark closes the nearest bracket it belongs to, skipping strays inside.
        for i in range(len(stack) - 1, max(-1, len(stack) - 5), -1):
            if self._rules.pairs[stack[i]] == ch:
                del stack[i:]
                return
        if ch in self._rules.pairs and len(stack) < 16:
            stack.append(ch)

    def _emphasis_run(self, a: int, b: int) -> None:
        """Track a run of an emphasis mark (``**``, ``_``, a backtick) at ``a:b``."""
        buf, mark = self._buf, self._buf[a]
        before = buf[a - 1] if a > self._start else " "
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
        if (self._buf[c] in self._rules.bullets or is_next) and self._buf[self._start : c].strip():
            self._break(out, c, c)
        else:
            # Not a new item: look at its characters again as ordinary text ("p. 55").
            self._pos = c + 1

    def _decide(self, c: int, final: bool) -> tuple[int, int]:
        """Judge the terminator at ``c``: (verdict, end of the sentence if it splits)."""
        buf, rules = self._buf, self._rules
        bound = c + rules.max_hold
        done = final or len(buf) >= bound
        if not done and c + 1 == len(buf):
            return _HOLD, c  # nothing after the terminator yet: every rule needs more
        # The rules see a fixed window around the terminator, the same however much of the
        # text is buffered: that keeps streaming equal to batch and each decision O(1).
        lo = max(0, c - rules.look_behind)
        view = min(len(buf), bound)
        text = buf[lo:view]
        if final and view == len(buf):
            text += " "  # the end of the text reads as white space: (?=\P{L}) can match there
        at, view = c - lo, view - lo
        ch = text[at]
        for rule in rules.terminator_rules[ch]:
            m = rule.pattern.match(text, at + 1, partial=not done)
            if m is not None:
                if m.partial:
                    return _HOLD, c
                return (_SPLIT if rule.split else _REJECT), c + 1
        m = rules.cluster.match(text, at, view, partial=not done)
        assert m is not None  # the scan found a terminator here
        end = m.end()
        # A space at the very end may still be part of a spaced ellipsis (". . .") or come
        # before a spaced closer (French ". »").
        if not done and (
            m.partial or end >= view or (end + 1 == view and text[end] in rules.cluster_spaces)
        ):
            return _HOLD, c
        stack = self._stack
        emphasis = self._emphasis
        # The end rules are those of the cluster's last terminator: "……。" ends like "。".
        last = ch
        if end > at + 1:
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
                        end = j
                        break
                    j = k
                    continue
                else:
                    for i in range(len(stack) - 1, -1, -1):
                        if rules.pairs[stack[i]] == mark:
                            del stack[i:]
                            break
                    else:
                        # A mark that closes nothing but opens a pair (German “ seen as
                        # English “) starts the next sentence instead of ending this one.
                        if mark in rules.pairs:
                            end = j
                            break
                j += 1
        if stack:
            if buf.find(rules.pairs[stack[-1]], lo + end, bound) >= 0:
                self._stack, self._emphasis = stack, emphasis
                return _REJECT, lo + end
            if not done:
                return _HOLD, c
            stack = []  # never closed within the bound: judge it as if outside
        verdict = self._judge(text, last, end, done)
        if verdict == _HOLD:
            return _HOLD, c
        self._stack, self._emphasis = stack, emphasis
        return verdict, lo + end

    def _judge(self, text: str, ch: str, end: int, done: bool) -> int:
        """Apply the rules after the sentence end candidate ``end`` of the window ``text``."""
        rules = self._rules
        if _NEWLINE_NEXT.match(text, end):
            return _SPLIT
        # Usually no rule applies at all: one combined match says so at once.
        if rules.any_end_rule[ch].match(text, end, partial=not done) is None:
            return _SPLIT
        for rule in rules.end_rules[ch]:
            m = rule.pattern.match(text, end, partial=not done)
            if m is not None:
                if m.partial:
                    return _HOLD
                return _SPLIT if rule.split else _REJECT
        return _SPLIT

    def _force_cut(self, out: list[str]) -> None:
        """Cut a sentence that reached max_length without an end, at a place the text decides."""
        buf, s = self._buf, self._start
        window_end = s + self.max_length
        cut = 0
        for m in self._rules.soft_break.finditer(buf, s, window_end):
            cut = m.end()
        if cut <= s:
            cut = max(buf.rfind(" ", s + 1, window_end), buf.rfind("\t", s + 1, window_end))
        if cut <= s:
            cut = window_end
        self._emit(out, s, cut)
        self._start = cut
        self._pos = max(self._pos, cut)
        self._stack.clear()
        self._emphasis = {}


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
