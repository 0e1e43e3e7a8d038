"""The one interpreter of the controller's commands, on a clock that is plugged in.

The controller answers each event with commands (``fsm_agent.core.events``). Carrying them out
is the same job in every setting: keep the armed deadlines against a clock, hand the lines and
the streams to the world, time a turn's milestones. Only what "the world" and "the clock" are
differs: real threads and ``time.monotonic`` in the runtime, a heap of scheduled events and a
simulated time in the replayer, plain records in the tests. This module does the common part;
:class:`Effects` is the part that differs.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from fsm_agent.core.controller import Controller
from fsm_agent.core.events import (
    Arm,
    CancelStream,
    CancelSummary,
    Chunk,
    ClearMemory,
    Command,
    Deadline,
    DeadlineKind,
    Disarm,
    Event,
    Remember,
    RememberSummary,
    Send,
    StartStream,
    Summarize,
    TurnDone,
)

__all__ = ["Clock", "Effects", "Interpreter", "TurnTimes"]

log = logging.getLogger("fsm_agent.runtime.interpreter")

Clock = Callable[[], float]
"""Monotonic seconds: ``time.monotonic`` or a simulated time."""

LONGEST_WAIT = 86400.0
"""The longest deadline kept (far inside every platform's ``threading.TIMEOUT_MAX``)."""


@dataclass
class TurnTimes:
    """When a turn's milestones happened, on the interpreter's clock.

    Attributes:
        gen: The generation the turn started.
        started: When its stream was started (the utterance was taken).
        first_token: When its first chunk reached the controller.
        first_synth: When its first sentence was sent to the host.

    """

    gen: int
    started: float
    first_token: float | None = None
    first_synth: float | None = None


class Effects:
    """What carrying out the commands does outside the controller; every method does nothing.

    Subclass and override what a setting needs. The interpreter calls these on its own thread,
    in the order the controller commanded.
    """

    def send(self, command: Send) -> None:
        """Print ``command.line`` to the host."""

    def start_stream(self, command: StartStream) -> None:
        """Start the LLM request of generation ``command.gen``; its events come back via feed."""

    def cancel_stream(self, command: CancelStream) -> None:
        """Stop generation ``command.gen``: none of its events may reach the controller after."""

    def turn_done(self, command: TurnDone) -> None:
        """A turn ended."""

    def state_changed(self, state: str) -> None:
        """The controller entered ``state``."""

    def first_sentence(self, times: TurnTimes) -> None:
        """The turn's first sentence was just sent; ``times`` holds its milestones."""

    def remember(self, command: Remember | RememberSummary | ClearMemory) -> None:
        """Keep a turn or the running summary in the history file, or empty it."""

    def summarize(self, command: Summarize) -> None:
        """Send the summary request on a worker; its answer comes back via feed."""

    def cancel_summary(self, command: CancelSummary) -> None:
        """Stop summary request ``command.job``: a turn begins."""


class Interpreter:
    """Feed events to a controller and carry out the commands it answers with.

    Deadlines (:class:`Arm`, :class:`Disarm`) are kept here against ``clock``; whoever drives
    the interpreter asks :meth:`next_deadline` when to wake and calls :meth:`fire_due` then.
    A disarmed or re-armed deadline can never fire late: only the due time kept here counts.

    Args:
        controller: The pure state machine.
        effects: Carries out what reaches outside (lines, streams, notices).
        clock: Monotonic seconds, real or simulated.

    """

    def __init__(
        self, controller: Controller, effects: Effects, clock: Clock = time.monotonic
    ) -> None:
        self.controller = controller
        self.effects = effects
        self.clock = clock
        self._deadlines: dict[DeadlineKind, float] = {}
        self.times: TurnTimes | None = None
        """The milestones of the latest turn (None before the first)."""
        self._current_gen: int | None = None

    @property
    def deadlines(self) -> dict[DeadlineKind, float]:
        """The armed deadlines and their due times (a copy)."""
        return dict(self._deadlines)

    def feed(self, event: Event) -> list[Command]:
        """Give the controller one event and carry out its commands.

        Returns:
            The commands, in the order they were carried out.

        """
        if isinstance(event, Chunk) and event.gen == self._current_gen:
            times = self.times
            if times is not None and times.gen == event.gen and times.first_token is None:
                times.first_token = self.clock()
        before = self.controller.state
        commands = self.controller.handle(event)
        for command in commands:
            self.perform(command)
        if self.controller.state != before:
            self.effects.state_changed(self.controller.state)
        return commands

    def perform(self, command: Command) -> None:
        """Carry out one command."""
        match command:
            case Send():
                self.effects.send(command)
                times = self.times
                if command.sentence and times is not None and times.first_synth is None:
                    times.first_synth = self.clock()
                    self.effects.first_sentence(times)
            case StartStream(gen=gen):
                self._current_gen = gen
                self.times = TurnTimes(gen, self.clock())
                self.effects.start_stream(command)
            case CancelStream(gen=gen):
                if gen == self._current_gen:
                    self._current_gen = None
                self.effects.cancel_stream(command)
            case Arm(kind=kind, seconds=seconds):
                # Settings are validated; this keeps a bad value from crashing or spinning a loop.
                if not math.isfinite(seconds) or seconds > LONGEST_WAIT:
                    seconds = LONGEST_WAIT
                if kind == "synth":
                    log.debug("synth deadline in %.3f s", seconds)
                self._deadlines[kind] = self.clock() + max(0.0, seconds)
            case Disarm(kind=kind):
                self._deadlines.pop(kind, None)
            case TurnDone():
                self.effects.turn_done(command)
            case Remember() | RememberSummary() | ClearMemory():
                self.effects.remember(command)
            case Summarize():
                self.effects.summarize(command)
            case CancelSummary():
                self.effects.cancel_summary(command)

    def next_deadline(self) -> float | None:
        """The due time of the earliest armed deadline, or None when none is armed."""
        return min(self._deadlines.values()) if self._deadlines else None

    def fire_due(self, now: float | None = None) -> None:
        """Deliver, earliest first, every deadline due by ``now`` (default: the clock's time).

        A deadline that the controller disarms or re-arms while an earlier one is delivered is
        not delivered with its old time.
        """
        now = self.clock() if now is None else now
        for kind, due in sorted(self._deadlines.items(), key=lambda kv: kv[1]):
            if due <= now and self._deadlines.get(kind) == due:
                del self._deadlines[kind]
                self.feed(Deadline(kind))

    def expire(self, kind: DeadlineKind) -> list[Command]:
        """Let the deadline ``kind`` pass now, whatever its due time, armed or not.

        For tests and fuzzing, which decide themselves when a deadline passes.

        Returns:
            The commands it caused.

        """
        self._deadlines.pop(kind, None)
        return self.feed(Deadline(kind))
