"""The controller's states and transition table: the one place the machine is declared.

The same declaration drives the controller (``transitions.Machine``), the diagrams in
``diagrams/`` and the coverage check of the event tables in ``tests/cases/``.

Read a row as: on ``trigger``, in ``source``, if the guard holds, go to ``dest`` (``None``: stay, without leaving the state) and then run ``after``. Rows for the
same trigger and source are tried top to bottom; the first that applies wins. A trigger with no
row for the current state is ignored.

The conditions read what the event has already done to the controller's data: the machine's
prepare step (``Controller.take_in``) applies it before the rows are tried (a chunk has been
split into sentences, a STOP has been matched to our outstanding sentence). ``idle`` is the
machine's own trigger: entering Idle fires it, so an utterance held while busy is answered, or
else the running summary (``--summarize``) is asked for: between turns, never before a reply.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

State = Literal["Idle", "Generating", "Speaking", "Draining"]

STATES: tuple[State, ...] = ("Idle", "Generating", "Speaking", "Draining")
"""Idle: nothing in flight. Generating: the stream is open, nothing of ours is being spoken.
Speaking: one SYNTH_START of ours is outstanding and the stream is still open. Draining: the
stream has ended; what is queued or outstanding is being spoken."""

BUSY: tuple[State, ...] = ("Generating", "Speaking", "Draining")
OPEN: tuple[State, ...] = ("Generating", "Speaking")
"""The states in which the LLM stream is open."""
SPEAKING: tuple[State, ...] = ("Speaking", "Draining")
"""The states in which one sentence of ours is outstanding."""
QUIET: tuple[State, ...] = ("Idle", "Generating")
"""The states in which no sentence of ours is outstanding."""
CLOSED: tuple[State, ...] = ("Idle", "Draining")
"""The states in which no LLM stream is open."""


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
    """Actions run after the move, in order, separated by commas."""

    @property
    def actions(self) -> tuple[str, ...]:
        """The ``after`` actions, in order."""
        return tuple(a.strip() for a in (self.after or "").split(",") if a.strip())

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
    # trigger          source        dest          guard                                after
    # -- a user utterance starts a turn; while busy it barges in, or waits its turn ---------
    Row("utterance",       "Idle",       "Generating", "",                                 "start_turn"),
    Row("utterance",       BUSY,         "Generating", "barge_in_enabled",                 "restart_turn"),
    Row("utterance",       BUSY,         None,         "not barge_in_enabled",             "hold_utterance"),
    Row("idle",            "Idle",       "Generating", "has_held",                         "answer_held"),
    Row("idle",            "Idle",       None,         "summary_due",                      "start_summary"),
    Row("speech_start",    BUSY,         "Idle",       "barge_in_on_speech",               "interrupt"),
    # -- the stream: an old generation's events are dropped; a sentence is spoken at once ----
    Row("chunk",           OPEN,         None,         "is_stale"),
    Row("stream_end",      OPEN,         None,         "is_stale"),
    Row("stream_error",    OPEN,         None,         "is_stale"),
    Row("chunk",           "Generating", "Draining",   "reply_full and has_pending",       "cut_reply, speak_next"),
    Row("chunk",           "Generating", "Idle",       "reply_full and not has_pending",   "cut_reply, finish_turn"),
    Row("chunk",           "Speaking",   "Draining",   "reply_full",                       "cut_reply"),
    Row("chunk",           "Generating", "Speaking",   "has_pending",                      "speak_next"),
    Row("stream_end",      "Generating", "Draining",   "has_pending",                      "speak_next"),
    Row("stream_end",      "Generating", "Idle",       "not has_pending",                  "finish_turn"),
    Row("stream_error",    "Generating", "Draining",   "has_pending",                      "speak_next"),
    Row("stream_error",    "Generating", "Idle",       "not has_pending",                  "finish_turn"),
    Row("stream_deadline", "Generating", "Draining",   "has_pending",                      "speak_next"),
    Row("stream_deadline", "Generating", "Idle",       "not has_pending",                  "finish_turn"),
    Row("chunk",           "Speaking",   None),  # its sentences wait for the STOP
    Row("stream_end",      "Speaking",   "Draining"),
    Row("stream_error",    "Speaking",   "Draining"),
    Row("stream_deadline", "Speaking",   "Draining"),
    # -- the host's synthesizer events for our alias: matched to our outstanding sentence ----
    Row("synth_echoed",    STATES,       None,         "",                                 "track_echo"),
    Row("synth_started",   STATES,       None,         "",                                 "track_start"),
    Row("synth_stopped",   QUIET,        None),  # a late STOP of a sentence we gave up on
    # -- speech: the next sentence only after the previous one's STOP (or its deadline) -------
    Row("synth_stopped",   SPEAKING,     None,         "not stop_is_ours"),  # late or stray
    Row("synth_stopped",   "Speaking",   None,         "stop_is_ours and has_pending",     "speak_next"),
    Row("synth_stopped",   "Speaking",   "Generating", "stop_is_ours and not has_pending"),
    Row("synth_deadline",  "Speaking",   None,         "has_pending",                      "speak_next"),
    Row("synth_deadline",  "Speaking",   "Generating", "not has_pending"),
    Row("synth_stopped",   "Draining",   None,         "stop_is_ours and has_pending",     "speak_next"),
    Row("synth_stopped",   "Draining",   "Idle",       "stop_is_ours and not has_pending", "finish_turn"),
    Row("synth_deadline",  "Draining",   None,         "has_pending",                      "speak_next"),
    Row("synth_deadline",  "Draining",   "Idle",       "not has_pending",                  "finish_turn"),
    # -- the avatar speaks first: a greeting when the host is ready, a remark in a silence ----
    Row("host_ready",      "Idle",       "Draining",   "greeting_due and has_pending",     "speak_next"),
    Row("host_ready",      "Idle",       "Generating", "greeting_due and greeting_asks",   "ask_greeting"),
    Row("host_ready",      "Idle",       None,         "first_ready",                      "arm_idle_talk"),
    Row("idle_talk_deadline", "Idle",    None,         "user_speaking",                    "arm_idle_talk"),
    Row("idle_talk_deadline", "Idle",    "Generating", "idle_talk_left",                   "start_idle_talk"),
    Row("speech_start",    "Idle",       None,         "idle_talk_left",                   "arm_idle_talk"),
    # -- events that change nothing where they come: written out, so that the table is total --
    Row("host_ready",      STATES,       None),  # the clock's tick, or busy already
    Row("idle_talk_deadline", STATES,    None),  # no more remarks, or busy already
    Row("speech_start",    "Idle",       None),  # nothing to interrupt
    Row("chunk",           CLOSED,       None),  # the stream is over: a late piece is dropped
    Row("stream_end",      CLOSED,       None),
    Row("stream_error",    CLOSED,       None),
    Row("stream_deadline", CLOSED,       None),
    Row("synth_deadline",  QUIET,        None),  # no sentence of ours is waited on
    # -- memory: forgetting on request; the running summary is made only between turns -------
    Row("forget",          "Idle",       None,         "",                                 "forget_all"),
    Row("forget",          BUSY,         "Idle",       "",                                 "interrupt, forget_all"),
    Row("summary_done",    "Idle",       None,         "summary_due",                      "start_summary"),
    Row("summary_done",    STATES,       None),  # kept by the prepare step; busy: next round later
    Row("summary_failed",  STATES,       None),  # logged by the prepare step; retried after a turn
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
        if row.actions:
            spec["after"] = list(row.actions)
        out.append(spec)
    return out


def pairs() -> set[tuple[str, str]]:
    """Return every (state, trigger) pair the table has a row for."""
    out: set[tuple[str, str]] = set()
    for row in TRANSITIONS:
        sources = row.source if isinstance(row.source, tuple) else (row.source,)
        out.update((state, row.trigger) for state in sources)
    return out
