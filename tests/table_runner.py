"""Event-sequence tables: load ``tests/cases/*.toml`` and run them against the pure Controller.

A case file holds one or more ``[[case]]`` tables. Each case is a conversation between the host
(MMDAgent-EX), the LLM stream and the controller, written as rows in time order::

    [[case]]
    name = "one sentence"
    description = "What the case shows, in a sentence or two."
    settings = { voice = "slt_voice_normal", barge_in = "start" }   # optional, any Settings field
    # xfail = "why"   (optional: a known controller bug; the case is written as it SHOULD be)
    # process = true  (optional: also run against the real fsm-agent process)

    [[case.row]]
    host = "RECOG_EVENT_STOP|hello"          # the input: exactly one per row
    state = "Generating"                     # the state after the row (required)
    out = []                                 # the exact lines printed (default: none)

A row has exactly one input:

- ``host = "TYPE|ARG..."``: a line from the host, parsed by ``protocol.parse_line`` and mapped by
  ``events.event_from_message``, so echoes, other aliases and junk go through the real code.
- ``host_bytes = 'RECOG_EVENT_STOP|\\xff'``: a raw host line: ``\\x`` escapes, or plain hex digits.
- ``chunk = "text"``: a piece of the reply of the current generation.
- ``stale_chunk = "text"`` / ``stale_end = true`` / ``stale_error = "reason"``: a chunk / the
  end / a failure of the previous generation.
- ``end = true``: the current stream ends (``tokens = N``: the server's usage report).
- ``error = "reason"``: the current stream fails.
- ``deadline = "synth"``, ``"stream"`` or ``"idle_talk"``: that deadline passes.
- ``summary_answer = "text"``: the answer to the last summary request (``--summarize``);
  ``summary_error = "reason"``: that request fails.

``repeat = { text = "a", times = 5000 }`` appends a long run to a host or chunk text.

Expectations, checked after the row:

- ``out``: the exact lines the controller prints (``SYNTH_START``/``SYNTH_STOP``), default none.
- ``state``: Idle, Generating, Speaking or Draining (required).
- ``cancel``: the stream was cancelled in this row (default false: checked either way).
- ``history``: optional, the committed conversation: ``[["user", "..."], ["assistant", "..."]]``.
- ``request``: optional, the messages of the LLM request started in this row, system prompt left
  out: ``[["user", "hi"]]``.
- ``turn``: optional, the outcome of the turn that ended in this row: done, interrupted,
  failed or empty.
- ``armed``: optional, the deadlines armed after the row, e.g. ``["idle_talk", "synth"]``.
- ``summarize``: optional, whether a summary request was made in this row.
- ``summary``: optional, the running summary after the row ("" for none).
- ``cleared``: optional, whether the history file was told to empty itself in this row.
"""

from __future__ import annotations

import codecs
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transitions import EventData

from fsm_agent.config.load import load_settings
from fsm_agent.core.controller import Controller
from fsm_agent.core.events import (
    CancelStream,
    Chunk,
    ClearMemory,
    Command,
    Deadline,
    Event,
    Send,
    StartStream,
    StreamEnd,
    StreamError,
    Summarize,
    SummaryDone,
    SummaryFailed,
    TurnDone,
    event_from_message,
)
from fsm_agent.core.protocol import parse_line
from fsm_agent.core.settings import SETTING_NAMES, Settings
from fsm_agent.core.table import STATES, TRANSITIONS
from fsm_agent.runtime.interpreter import Effects, Interpreter

CASES_DIR = Path(__file__).parent / "cases"

INPUTS = (
    "host",
    "host_bytes",
    "chunk",
    "stale_chunk",
    "end",
    "stale_end",
    "error",
    "stale_error",
    "deadline",
    "summary_answer",
    "summary_error",
)
EXPECTATIONS = (
    "out",
    "state",
    "cancel",
    "history",
    "request",
    "turn",
    "summarize",
    "summary",
    "cleared",
    "armed",
)
MODIFIERS = ("tokens", "repeat")
CASE_KEYS = ("name", "description", "settings", "row", "xfail", "process")
OUTCOMES = ("done", "interrupted", "failed", "empty")
DEADLINES = ("synth", "stream", "idle_talk")


class CaseFormatError(ValueError):
    """A case file does not follow the format; the message names the file, case and row."""


class CaseFailure(AssertionError):
    """A row's expectations did not hold; the message shows the case up to that row."""


@dataclass(frozen=True)
class Row:
    """One row of a case: one input and what must hold after it."""

    number: int
    kind: str
    value: Any
    tokens: int | None
    out: tuple[str, ...]
    state: str
    cancel: bool
    history: tuple[tuple[str, str], ...] | None
    request: tuple[tuple[str, str], ...] | None
    turn: str | None
    summarize: bool | None = None
    summary_after: str | None = None
    cleared: bool | None = None
    armed: tuple[str, ...] | None = None

    def describe(self) -> str:
        """The input as written in the file (long values shortened)."""
        value = self.value
        if isinstance(value, str) and len(value) > 70:
            value = f"{value[:50]}...({len(value)} chars)"
        text = f"{self.kind} = {value!r}"
        if self.tokens is not None:
            text += f", tokens = {self.tokens}"
        return text


@dataclass(frozen=True)
class Case:
    """One event-sequence case from a file under ``tests/cases``."""

    path: Path
    name: str
    description: str
    settings: dict[str, Any]
    rows: tuple[Row, ...]
    xfail: str | None = None
    process: bool = False

    @property
    def id(self) -> str:
        """A test id: ``file:name-with-dashes``."""
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.name).strip("-").lower()
        return f"{self.path.stem}:{slug}"

    @property
    def where(self) -> str:
        """The file and case name, for messages."""
        return f"{self.path.name}, case {self.name!r}"


@dataclass
class Coverage:
    """What a run exercised: (state, trigger) pairs that reached the machine, rows that fired."""

    pairs: set[tuple[str, str]] = field(default_factory=set)
    rows: set[tuple[int, str]] = field(default_factory=set)
    """(index into ``table.TRANSITIONS``, source state) of every row whose guard held."""


# ---- loading ------------------------------------------------------------------------------


def load_cases(paths: Iterable[Path] | None = None) -> list[Case]:
    """Load every case of the given files (default: every ``tests/cases/*.toml``).

    Raises:
        CaseFormatError: If a file is not valid TOML or a case breaks the format.

    """
    files = sorted(CASES_DIR.glob("*.toml")) if paths is None else list(paths)
    cases: list[Case] = []
    for path in files:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise CaseFormatError(f"{path.name}: not valid TOML: {exc}") from exc
        cases.extend(parse_file(path, data))
    seen: dict[str, Case] = {}
    for case in cases:
        if case.id in seen:
            raise CaseFormatError(f"{case.where}: the name is used twice ({case.id})")
        seen[case.id] = case
    return cases


def parse_file(path: Path, data: dict[str, Any]) -> list[Case]:
    """Turn one parsed case file into cases.

    Raises:
        CaseFormatError: If the file breaks the format.

    """
    extra = set(data) - {"case"}
    if extra:
        raise CaseFormatError(f"{path.name}: unknown top-level keys {sorted(extra)}; use [[case]]")
    raw_cases = data.get("case")
    if not isinstance(raw_cases, list) or not raw_cases:
        raise CaseFormatError(f"{path.name}: no [[case]] tables")
    return [_parse_case(path, raw) for raw in raw_cases]


def _parse_case(path: Path, raw: dict[str, Any]) -> Case:
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CaseFormatError(f"{path.name}: a case without a name")
    where = f"{path.name}, case {name!r}"
    unknown = set(raw) - set(CASE_KEYS)
    if unknown:
        raise CaseFormatError(f"{where}: unknown keys {sorted(unknown)}")
    description = raw.get("description", "")
    if not isinstance(description, str) or not description.strip():
        raise CaseFormatError(f"{where}: a description is required")
    settings = raw.get("settings", {})
    if not isinstance(settings, dict) or set(settings) - set(SETTING_NAMES):
        bad = sorted(set(settings) - set(SETTING_NAMES)) if isinstance(settings, dict) else settings
        raise CaseFormatError(f"{where}: unknown settings {bad}")
    xfail = raw.get("xfail")
    if xfail is not None and (not isinstance(xfail, str) or not xfail.strip()):
        raise CaseFormatError(f"{where}: xfail must be a reason (a string)")
    process = raw.get("process", False)
    if not isinstance(process, bool):
        raise CaseFormatError(f"{where}: process must be true or false")
    raw_rows = raw.get("row")
    if not isinstance(raw_rows, list) or not raw_rows:
        raise CaseFormatError(f"{where}: no [[case.row]] tables")
    rows = tuple(_parse_row(where, n, r) for n, r in enumerate(raw_rows, 1))
    return Case(path, name, description.strip(), settings, rows, xfail, process)


def _pairs(where: str, key: str, value: Any) -> tuple[tuple[str, str], ...]:
    ok = isinstance(value, list) and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in value
    )
    if not ok:
        raise CaseFormatError(f'{where}: {key} must be a list of ["role", "text"] pairs')
    return tuple((role, text) for role, text in value)


def _parse_row(case_where: str, number: int, raw: dict[str, Any]) -> Row:
    where = f"{case_where}, row {number}"
    unknown = set(raw) - set(INPUTS) - set(EXPECTATIONS) - set(MODIFIERS)
    if unknown:
        raise CaseFormatError(f"{where}: unknown keys {sorted(unknown)}")
    inputs = [key for key in INPUTS if key in raw]
    if len(inputs) != 1:
        raise CaseFormatError(f"{where}: needs exactly one input of {INPUTS}, has {inputs}")
    kind = inputs[0]
    value = raw[kind]
    flags = {}
    for key in ("summarize", "cleared"):
        if key in raw and not isinstance(raw[key], bool):
            raise CaseFormatError(f"{where}: {key} must be true or false")
        flags[key] = raw.get(key)
    summary_after = raw.get("summary")
    if summary_after is not None and not isinstance(summary_after, str):
        raise CaseFormatError(f"{where}: summary must be a string")
    if kind in ("end", "stale_end") and value is not True:
        raise CaseFormatError(f"{where}: write {kind} = true")
    if kind == "deadline" and value not in DEADLINES:
        raise CaseFormatError(f"{where}: deadline is one of {DEADLINES}")
    if kind not in ("end", "stale_end") and not isinstance(value, str):
        raise CaseFormatError(f"{where}: {kind} must be a string")
    if "repeat" in raw:
        rep = raw["repeat"]
        if kind not in ("host", "chunk", "stale_chunk") or not (
            isinstance(rep, dict)
            and set(rep) == {"text", "times"}
            and isinstance(rep["text"], str)
            and isinstance(rep["times"], int)
        ):
            raise CaseFormatError(f"{where}: repeat = {{ text = ..., times = N }} after host/chunk")
        value = value + rep["text"] * rep["times"]
    if kind == "host_bytes":
        host_bytes(value)  # fail early on a bad spelling
    tokens = raw.get("tokens")
    if tokens is not None and (kind != "end" or not isinstance(tokens, int)):
        raise CaseFormatError(f"{where}: tokens = N goes with end = true")
    out = raw.get("out", [])
    if not isinstance(out, list) or not all(isinstance(line, str) for line in out):
        raise CaseFormatError(f"{where}: out must be a list of lines")
    state = raw.get("state")
    if state not in STATES:
        raise CaseFormatError(f"{where}: state is required, one of {STATES}")
    cancel = raw.get("cancel", False)
    if not isinstance(cancel, bool):
        raise CaseFormatError(f"{where}: cancel must be true or false")
    history = _pairs(where, "history", raw["history"]) if "history" in raw else None
    request = _pairs(where, "request", raw["request"]) if "request" in raw else None
    turn = raw.get("turn")
    if turn is not None and turn not in OUTCOMES:
        raise CaseFormatError(f"{where}: turn is one of {OUTCOMES}")
    armed = raw.get("armed")
    if armed is not None and not (
        isinstance(armed, list) and all(kind in DEADLINES for kind in armed)
    ):
        raise CaseFormatError(f"{where}: armed is a list of deadlines from {DEADLINES}")
    return Row(
        number,
        kind,
        value,
        tokens,
        tuple(out),
        state,
        cancel,
        history,
        request,
        turn,
        flags["summarize"],
        summary_after,
        flags["cleared"],
        None if armed is None else tuple(sorted(armed)),
    )


def host_bytes(spec: str) -> bytes:
    """Decode a ``host_bytes`` value: text with ``\\x`` escapes, or hex digits.

    Args:
        spec: ``'RECOG_EVENT_STOP|\\xe3\\x81'`` or ``"52 45 43 ff"``.

    Returns:
        The bytes (no line ending is added).

    """
    if "\\" in spec:
        return codecs.escape_decode(spec.encode("utf-8"))[0]
    try:
        return bytes.fromhex(spec)
    except ValueError as exc:
        raise CaseFormatError(f"host_bytes {spec!r}: neither \\x escapes nor hex") from exc


# ---- running ------------------------------------------------------------------------------


def case_settings(case: Case) -> Settings:
    """The case's settings on top of the defaults, validated; the environment is not read.

    A relative ``gestures`` file is relative to the case file.
    """
    settings = dict(case.settings)
    if settings.get("gestures"):
        settings["gestures"] = case.path.parent / settings["gestures"]
    return load_settings(overrides=settings, environ={})


def make_event(row: Row, controller: Controller) -> Event | None:
    """The event a row's input gives the controller, or None when it is not for it."""
    gen = controller.gen
    match row.kind:
        case "host" | "host_bytes":
            raw = host_bytes(row.value) if row.kind == "host_bytes" else row.value.encode("utf-8")
            message = parse_line(raw + b"\n")
            return (
                None if message is None else event_from_message(message, controller.settings.alias)
            )
        case "chunk":
            return Chunk(gen, row.value)
        case "stale_chunk":
            return Chunk(gen - 1, row.value)
        case "end":
            return StreamEnd(gen, row.tokens)
        case "stale_end":
            return StreamEnd(gen - 1)
        case "error":
            return StreamError(gen, row.value)
        case "stale_error":
            return StreamError(gen - 1, row.value)
        case "deadline":
            return Deadline(row.value)
        case "summary_answer" | "summary_error":
            asked = controller.memory.asked
            if asked is None:
                raise CaseFormatError(f"row {row.number}: {row.kind} but no summary was asked for")
            if row.kind == "summary_error":
                return SummaryFailed(asked.job, row.value)
            return SummaryDone(asked.job, row.value, asked.through)
    raise AssertionError(row.kind)  # pragma: no cover


def interpreter(case: Case) -> Interpreter:
    """A fresh Controller for the case, driven by the shared command interpreter.

    The world is left out (lines, streams and deadlines are only recorded as commands); the
    clock stands still, so deadlines pass only when a row says so.
    """
    return Interpreter(Controller(case_settings(case)), Effects(), clock=lambda: 0.0)


def feed(interp: Interpreter, event: Event | None) -> list[Command]:
    """Feed one row's event (None: nothing reaches the controller); return its commands."""
    if event is None:
        return []
    if isinstance(event, Deadline):
        return interp.expire(event.kind)
    return interp.feed(event)


def watch(controller: Controller, coverage: Coverage) -> None:
    """Record every trigger that reaches the machine and the table row that fires for it.

    Wraps the model's ``trigger`` method (transitions' public entry point) for the pairs, and
    hooks the machine's ``after_state_change`` (run after every transition that fires, internal
    ones too) for the rows: the n-th transition of a trigger from a state is the n-th row of
    the table for that trigger and state.
    """
    original: Callable[..., bool] = controller.trigger  # type: ignore[attr-defined]

    def trigger(name: str, *args: Any, **kwargs: Any) -> bool:
        coverage.pairs.add((controller.state, name))
        return original(name, *args, **kwargs)

    def fired(data: EventData) -> None:
        name, source = data.event.name, data.transition.source
        nth = data.event.transitions[source].index(data.transition)
        rows = [
            index
            for index, row in enumerate(TRANSITIONS)
            if row.trigger == name
            and source in (row.source if isinstance(row.source, tuple) else (row.source,))
        ]
        coverage.rows.add((rows[nth], source))

    controller.trigger = trigger  # type: ignore[method-assign]
    controller.machine.after_state_change.append(fired)


def _turns(controller: Controller) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for turn in controller.history.turns:
        out += [("user", turn.user), ("assistant", turn.assistant)]
    return tuple(out)


def _request(commands: list[Command]) -> tuple[tuple[str, str], ...] | None:
    for command in commands:
        if isinstance(command, StartStream):
            return tuple(
                (m["role"], m["content"]) for m in command.messages if m["role"] != "system"
            )
    return None


def _check(
    row: Row, controller: Controller, commands: list[Command], armed: tuple[str, ...] = ()
) -> list[str]:
    """Return one line per expectation that does not hold."""
    problems: list[str] = []
    out = tuple(c.line for c in commands if isinstance(c, Send))
    if out != row.out:
        problems.append(f"out:     expected {list(row.out)}\n         actual   {list(out)}")
    if controller.state != row.state:
        problems.append(f"state:   expected {row.state}, actual {controller.state}")
    cancelled = any(isinstance(c, CancelStream) for c in commands)
    if cancelled != row.cancel:
        problems.append(f"cancel:  expected {row.cancel}, actual {cancelled}")
    if row.history is not None and _turns(controller) != row.history:
        problems.append(
            f"history: expected {[list(p) for p in row.history]}\n"
            f"         actual   {[list(p) for p in _turns(controller)]}"
        )
    if row.request is not None:
        request = _request(commands)
        if request != row.request:
            actual = None if request is None else [list(p) for p in request]
            problems.append(
                f"request: expected {[list(p) for p in row.request]}\n         actual   {actual}"
            )
    asked = any(isinstance(c, Summarize) for c in commands)
    if row.summarize is not None and asked != row.summarize:
        problems.append(f"summarize: expected {row.summarize}, actual {asked}")
    if row.summary_after is not None and controller.history.summary != row.summary_after:
        problems.append(
            f"summary: expected {row.summary_after!r}, actual {controller.history.summary!r}"
        )
    cleared = any(isinstance(c, ClearMemory) for c in commands)
    if row.cleared is not None and cleared != row.cleared:
        problems.append(f"cleared: expected {row.cleared}, actual {cleared}")
    if row.turn is not None:
        outcomes = [c.outcome for c in commands if isinstance(c, TurnDone)]
        if row.turn not in outcomes:
            problems.append(f"turn:    expected {row.turn}, actual {outcomes or 'no turn ended'}")
    if row.armed is not None and armed != row.armed:
        problems.append(f"armed:   expected {list(row.armed)}, actual {list(armed)}")
    return problems


def run_case(case: Case, *, check: bool = True) -> Coverage:
    """Run a case row by row against a fresh Controller.

    Args:
        case: The case.
        check: Check each row's expectations (False: only record coverage).

    Returns:
        What the run exercised.

    Raises:
        CaseFailure: At the first row whose expectations do not hold, with the rows so far.

    """
    interp = interpreter(case)
    controller = interp.controller
    coverage = Coverage()
    watch(controller, coverage)
    transcript: list[str] = []
    for row in case.rows:
        before = controller.state
        event = make_event(row, controller)
        commands = feed(interp, event)
        printed = [c.line for c in commands if isinstance(c, Send)]
        event_name = type(event).__name__ if event is not None else "(ignored)"
        transcript.append(
            f"  row {row.number:>2} [{before} -> {controller.state}] {row.describe()}"
            f"  => {event_name}, printed {printed}"
        )
        if not check:
            continue
        problems = _check(row, controller, commands, tuple(sorted(interp.deadlines)))
        if problems:
            raise CaseFailure(
                f"{case.path}: case {case.name!r}, row {row.number} ({row.describe()}):\n"
                + "\n".join(f"  {p}" for p in problems)
                + "\nrows so far:\n"
                + "\n".join(transcript)
            )
    return coverage


def generations(case: Case) -> list[list[Row]]:
    """Group the case's chunk rows by the generation they belong to (pure run).

    Returns:
        For each generation the controller started, in order, its ``chunk`` rows.

    """
    interp = interpreter(case)
    gens: list[list[Row]] = []
    for row in case.rows:
        if row.kind == "chunk" and gens:
            gens[-1].append(row)
        commands = feed(interp, make_event(row, interp.controller))
        gens.extend([] for c in commands if isinstance(c, StartStream))
    return gens
