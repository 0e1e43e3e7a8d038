"""Rule files: find, read, merge (``extends``) and compile ``fsm_agent/text/rules/*.toml``.

A language's rules become one frozen :class:`Rules` object, compiled once per language and
shared by every segmenter of that language. The keys of a rule file are described at the top of
``rules/_base.toml``.

Compiling a language takes tens of milliseconds (``regex`` parses its patterns in Python; "auto"
has some 200), so a segmenter compiles its rules when it first reads text, and the AnyScript
mode has them compiled by :func:`preload` while it waits for the user's first words instead of
before it reads the host's first line.
"""

from __future__ import annotations

import contextlib
import threading
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import regex

__all__ = ["Rule", "Rules", "available_languages", "check_language", "load", "preload"]

_PLACEHOLDER = regex.compile(r"\{\{(\w+)\}\}")
# Keys whose value is a string of marks: a child adds the marks its parents lack.
_STRING_KEYS = (
    "terminators",
    "spaced_terminators",
    "closers",
    "spaced_closers",
    "emphasis",
    "bullets",
    "sentence_terminal",
)
# Keys whose value a child replaces.
_SCALAR_KEYS = (
    "name",
    "list_marker",
    "soft_break",
    "early_end",
    "trailing",
    "emoticons",
    "max_hold",
    "look_behind",
)
# The spaces French sets before » (plain, no-break, narrow no-break).
CLOSER_SPACES = " \u00a0\u202f"


@dataclass(frozen=True)
class Rule:
    """One ``[[rules]]`` entry, compiled.

    Attributes:
        name: What the rule is for.
        after: The terminator characters it applies to, or None for all.
        pattern: ``before`` as a look-behind followed by ``next``.
        split: True for ``action = "split"``, False for ``"reject"``.

    """

    name: str
    after: frozenset[str] | None
    pattern: regex.Pattern[str]
    split: bool


@dataclass(frozen=True)
class Rules:
    """A language's rules, merged and compiled for the segmenter."""

    lang: str
    terminators: str
    pairs: dict[str, str]  # opening mark -> its closing mark
    emphasis: str
    cluster_spaces: str  # spaces that may stand between a terminator and a closer
    bullets: frozenset[str]
    max_hold: int
    look_behind: int
    scan: regex.Pattern[str]  # the candidates outside a list
    scan_list: regex.Pattern[str]  # the same, plus inline item markers
    cluster: regex.Pattern[str]  # a terminator with the closers and marks that stay with it
    cluster_part: regex.Pattern[str]  # one more mark of a cluster
    list_marker: regex.Pattern[str]
    list_item: regex.Pattern[str]
    marker_chars: frozenset[str]
    soft_break: regex.Pattern[str]
    early_end: regex.Pattern[str] | None  # a first sentence's end spoken at once (see _base)
    terminator_rules: dict[str, tuple[Rule, ...]]  # at = "terminator", by terminator
    end_rules: dict[str, tuple[Rule, ...]]  # at = "end", by terminator
    any_end_rule: dict[str, regex.Pattern[str]]  # the end rules as one alternation


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


def _compile_rules(data: dict[str, Any]) -> dict[bool, list[Rule]]:
    """Compile the ``[[rules]]`` list, split into at-terminator (True) and at-end (False)."""
    words: dict[str, list[str]] = data.get("words", {})
    by_position: dict[bool, list[Rule]] = {True: [], False: []}
    for raw in data["rules"]:
        before = _expand(raw.get("before", ""), words)
        after = raw.get("after")
        source = (f"(?<={before})" if before else "") + f"(?:{_expand(raw.get('next', ''), words)})"
        rule = Rule(
            name=raw.get("name", ""),
            after=frozenset(after) if after else None,
            pattern=regex.compile(source),
            split=raw["action"] == "split",
        )
        by_position[raw.get("at", "end") == "terminator"].append(rule)
    return by_position


def _scan_source(data: dict[str, Any], terminators: str) -> str:
    """The pattern that finds the next candidate: terminator, bracket, newline, bullet, mark."""
    bracket_chars = "".join(dict.fromkeys("".join(data["brackets"])))
    runs = "|".join(f"{regex.escape(e)}+" for e in data["emphasis"]) or "(?!)"
    return (
        f"(?P<t>{_char_class(terminators)})|(?P<b>{_char_class(bracket_chars)})|(?P<nl>\\n)"
        f"|(?P<bu>{_char_class(data['bullets'])})|(?P<em>{runs})"
    )


def _cluster_source(data: dict[str, Any], terminators: str) -> str:
    """One mark that stays with a terminator: terminators, closers, emoji, " .", emoticons."""
    t_class = _char_class(terminators)
    c_class = _char_class(data["closers"] + data["emphasis"])
    part = f"{t_class}|{c_class}|{data.get('trailing') or '(?!)'}| (?=\\.)"
    if data.get("emoticons"):
        # An emoticon after a terminator, with or without a space, ends with its sentence.
        part += f"| ?(?:{data['emoticons']})(?![\\p{{L}}\\p{{N}}])"
    if data["spaced_closers"]:
        part += f"|[{CLOSER_SPACES}]{_char_class(data['spaced_closers'])}"
    return part


def _by_terminator(rules: list[Rule], terminators: str) -> dict[str, tuple[Rule, ...]]:
    return {t: tuple(r for r in rules if r.after is None or t in r.after) for t in terminators}


_compiled: dict[str, Rules] = {}
_compiling = threading.Lock()  # one compilation at a time: a second caller waits for the first


def check_language(lang: str) -> None:
    """Raise ValueError unless ``lang`` has a rule file (cheap: nothing is compiled).

    Raises:
        ValueError: If ``lang`` has no rule file.

    """
    if lang not in _compiled and lang not in available_languages():  # a segmenter per reply
        raise ValueError(
            f"unknown language {lang!r}; available: {', '.join(available_languages())}"
        )


def load(lang: str) -> Rules:
    """Return the compiled rules of ``lang`` (compiled once; safe from any thread).

    Args:
        lang: A code from :func:`available_languages`.

    Raises:
        ValueError: If ``lang`` has no rule file, or rule files extend each other in a loop.

    """
    rules = _compiled.get(lang)
    if rules is None:
        with _compiling:
            rules = _compiled.get(lang)
            if rules is None:
                rules = _compiled[lang] = _compile_language(lang)
    return rules


def preload(lang: str, delay: float = 0.0) -> threading.Thread:
    """Compile the rules of ``lang`` on a daemon thread, so that the first reply finds them.

    A segmenter that needs them sooner waits for this compilation rather than doing its own;
    an error is left for that segmenter to raise.

    Args:
        lang: A code from :func:`available_languages`.
        delay: Seconds to wait first (the thread competes for the interpreter lock with
            whatever runs then).

    Returns:
        The thread (started).

    """

    def compile_quietly() -> None:
        # An error is raised again, where it can be reported, by the first load() that needs it.
        with contextlib.suppress(Exception):
            load(lang)

    thread = threading.Timer(delay, compile_quietly)
    thread.name = "rules"
    thread.daemon = True
    thread.start()
    return thread


def _compile_language(lang: str) -> Rules:
    check_language(lang)
    data = _resolve(lang)
    terminators = data["terminators"] + data["spaced_terminators"]
    terminators += "".join(ch for ch in data.get("sentence_terminal", "") if ch not in terminators)
    list_marker = data["list_marker"]
    scan = _scan_source(data, terminators)
    part = _cluster_source(data, terminators)
    by_position = _compile_rules(data)
    end_rules = _by_terminator(by_position[False], terminators)
    return Rules(
        lang=lang,
        terminators=terminators,
        pairs={b[0]: b[1] for b in data["brackets"]},
        emphasis=data["emphasis"],
        bullets=frozenset(data["bullets"]),
        max_hold=int(data["max_hold"]),
        look_behind=int(data["look_behind"]),
        scan=regex.compile(scan),
        # Inline item markers ("... first item 2. The second") only matter inside a list;
        # looking for them costs most of the scan, so a second pattern does it only then.
        scan_list=regex.compile(f"{scan}|(?P<li>(?<=\\s)(?:{list_marker}))"),
        cluster=regex.compile(f"{_char_class(terminators)}(?:{part})*"),
        cluster_part=regex.compile(part),
        cluster_spaces=CLOSER_SPACES if data["spaced_closers"] else " ",
        list_marker=regex.compile(list_marker),
        list_item=regex.compile(f"(?<=\\s)(?:{list_marker})"),
        marker_chars=frozenset(list_marker),
        soft_break=regex.compile(data["soft_break"]),
        early_end=(
            regex.compile(_expand(data["early_end"], data.get("words", {})))
            if data.get("early_end")
            else None
        ),
        terminator_rules=_by_terminator(by_position[True], terminators),
        end_rules=end_rules,
        any_end_rule={
            t: regex.compile("|".join(f"(?:{r.pattern.pattern})" for r in rs) or "(?!)")
            for t, rs in end_rules.items()
        },
    )
