"""The controller's states and transition table: the one place the machine is declared.

The same declaration drives the controller (``transitions.Machine``), the diagrams in
``diagrams/`` and the coverage check of the event tables in ``tests/cases/``.

Read a row as: on ``trigger``, in ``source``, if the guard holds, go to ``dest`` (``None``: stay, without leaving the state) and then run ``after``. Rows for the
same trigger and source are tried top to bottom; the first that applies wins. A trigger with no
row for the current state is ignored.

The conditions read what the event has already done to the controller's data (a chunk has been
split into sentences, a STOP has been matched to our outstanding sentence) before the rows are
tried; see ``Controller.handle``.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

State = Literal["Idle", "Generating", "Speaking", "Draining"]

STATES: tuple[State, ...] = ("Idle", "Generating", "Speaking", "Draining")
"""Idle: nothing in flight. Generating: the stream is open, nothing of ours is being spoken.
Speaking: one SYNTH_START of ours is outstanding and the stream is still open. Draining: the
stream has ended; what is queued or outstanding is being spoken."""

BUSY: tuple[State, ...] = ("Generating", "Speaking", "Draining")


class Row(NamedTuple):
    """One transition of the machine.

    ``guard`` is empty or conditions joined by ``and``, each optionally negated with ``not``:
    ``"stop_is_ours and not has_pending"``.
    """

    trigger: str
    source: State | tuple[State, ...]
    dest: State | None
    guard: str = ""
    after: str | None = None

    @property
    def conditions(self) -> tuple[str, ...]:
        """The guard's conditions that must hold."""
        return tuple(c for c in _terms(self.guard) if not c.startswith("not "))

    @property
    def unless(self) -> tuple[str, ...]:
        """The guard's conditions that must not hold."""
        return tuple(c[4:] for c in _terms(self.guard) if c.startswith("not "))


def _terms(guard: str) -> list[str]:
    return [term.strip() for term in guard.split(" and ") if term.strip()]


TRANSITIONS: tuple[Row, ...] = (
    # trigger          source        dest          guard                               after
    # -- a user utterance starts a turn; while busy it barges in, or waits its turn ---------
    Row("utterance",       "Idle",       "Generating", "",                                "start_turn"),
    Row("utterance",       BUSY,         "Generating", "barge_in_enabled",                "restart_turn"),
    Row("utterance",       BUSY,         None,         "not barge_in_enabled",            "hold_utterance"),
    Row("speech_start",    BUSY,         "Idle",       "barge_in_on_speech",              "interrupt"),
    # -- the stream: a completed sentence is spoken at once; a context overflow is sent again,
    #    shorter; a long wait for the first words is filled (filler) and bounded (think) -------
    Row("chunk",           "Generating", "Speaking",   "has_pending",                     "speak_next"),
    Row("stream_end",      "Generating", "Draining",   "has_pending",                     "speak_next"),
    Row("stream_end",      "Generating", "Idle",       "not has_pending",                 "finish_turn"),
    Row("stream_error",    "Generating", None,         "retrying",                        "retry_turn"),
    Row("stream_error",    "Generating", "Draining",   "has_pending",                     "speak_next"),
    Row("stream_error",    "Generating", "Idle",       "not has_pending",                 "finish_turn"),
    Row("stream_deadline", "Generating", "Draining",   "has_pending",                     "speak_next"),
    Row("stream_deadline", "Generating", "Idle",       "not has_pending",                 "finish_turn"),
    Row("think_deadline",  "Generating", "Draining",   "has_pending",                     "speak_next"),
    Row("think_deadline",  "Generating", "Idle",       "not has_pending",                 "finish_turn"),
    Row("filler_deadline", "Generating", "Speaking",   "has_pending",                     "speak_next"),
    Row("chunk",           "Speaking",   None),  # its sentences wait for the STOP
    Row("stream_end",      "Speaking",   "Draining"),
    Row("stream_error",    "Speaking",   "Draining"),
    Row("stream_deadline", "Speaking",   "Draining"),
    Row("think_deadline",  "Speaking",   "Draining"),  # while the filler is said
    # -- speech: the next sentence only after the previous one's STOP (or its deadline) -------
    Row("synth_stopped",   "Speaking",   None,         "stop_is_ours and has_pending",    "speak_next"),
    Row("synth_stopped",   "Speaking",   "Generating", "stop_is_ours and not has_pending"),
    Row("synth_deadline",  "Speaking",   None,         "has_pending",                     "speak_next"),
    Row("synth_deadline",  "Speaking",   "Generating", "not has_pending"),
    Row("synth_stopped",   "Draining",   None,         "stop_is_ours and has_pending",    "speak_next"),
    Row("synth_stopped",   "Draining",   "Idle",       "stop_is_ours and not has_pending", "finish_turn"),
    Row("synth_deadline",  "Draining",   None,         "has_pending",                     "speak_next"),
    Row("synth_deadline",  "Draining",   "Idle",       "not has_pending",                 "finish_turn"),
)  # fmt: skip

TRIGGERS: tuple[str, ...] = tuple(dict.fromkeys(row.trigger for row in TRANSITIONS))


def machine_transitions() -> list[dict[str, object]]:
    """Return the table in the form ``transitions.Machine(transitions=...)`` takes."""
    out: list[dict[str, object]] = []
    for row in TRANSITIONS:
        spec: dict[str, object] = {
            "trigger": row.trigger,
            "source": list(row.source) if isinstance(row.source, tuple) else row.source,
            "dest": row.dest,
        }
        if row.conditions:
            spec["conditions"] = list(row.conditions)
        if row.unless:
            spec["unless"] = list(row.unless)
        if row.after:
            spec["after"] = row.after
        out.append(spec)
    return out


def pairs() -> set[tuple[str, str]]:
    """Return every (state, trigger) pair the table has a row for."""
    out: set[tuple[str, str]] = set()
    for row in TRANSITIONS:
        sources = row.source if isinstance(row.source, tuple) else (row.source,)
        out.update((state, row.trigger) for state in sources)
    return out
