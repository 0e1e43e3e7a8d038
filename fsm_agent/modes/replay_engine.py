"""Feed host lines to the pure controller on a simulated clock: the engine of ``fsm-agent replay``.

Replies arrive and deadlines pass at simulated times, nothing waits, and the same input always
gives the same output. Optionally the replayed exchange is written as a ``--record`` file, with
simulated times, so that it can itself be replayed.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

from fsm_agent.core.backend import Messages, last_user_text
from fsm_agent.core.controller import Controller
from fsm_agent.core.events import (
    CancelStream,
    Chunk,
    Event,
    Send,
    StartStream,
    StreamEnd,
    StreamError,
    TurnDone,
    event_from_message,
)
from fsm_agent.core.protocol import parse_line
from fsm_agent.core.settings import Settings
from fsm_agent.modes.replay_transcript import RecordedStream
from fsm_agent.runtime.interpreter import Effects, Interpreter
from fsm_agent.runtime.record import Recorder
from fsm_agent.runtime.worker import slices

__all__ = ["Emit", "Replayer", "ReplySource"]

_MAX_STEPS = 200_000

Emit = Callable[[float, str, str], None]
"""Called with (simulated time, kind, text): kind is host, out, state, turn or note."""

ReplySource = Callable[[Messages], RecordedStream | None]
"""Gives the reply to a request, or None to let the fallback make it."""


class Replayer(Effects):
    """Feed a transcript to a pure controller on a simulated clock.

    The commands are carried out by the same :class:`Interpreter` as in the real runtime; only
    the clock (:attr:`now`) and the world differ: a reply's pieces are scheduled at their
    simulated times instead of arriving from a thread.

    Args:
        settings: The configuration of the controller.
        source: Gives each generation's reply (recorded, or rebuilt from the transcript).
        fallback: Makes a reply when ``source`` has none: ``messages -> pieces``.
        emit: Receives everything that happens.
        recorder: Also writes the replayed exchange here (its clock should read :attr:`now`);
            may also be set later, before the first line, as the attribute ``recorder``.

    """

    def __init__(
        self,
        settings: Settings,
        source: ReplySource,
        fallback: Callable[[Messages], list[str]],
        emit: Emit,
        recorder: Recorder | None = None,
    ) -> None:
        self.controller = Controller(settings)
        self.now = 0.0
        self.interpreter = Interpreter(self.controller, self, lambda: self.now)
        self.sent: list[str] = []
        self._source = source
        self._fallback = fallback
        self._emit = emit
        self.recorder = recorder
        self._heap: list[tuple[float, int, Event]] = []
        self._seq = itertools.count()
        self._stream_numbers: dict[int, int] = {}
        self.fallback_replies = 0

    def host_line(self, at: float, raw: bytes) -> None:
        """Let simulated time run to ``at``, then deliver one host line."""
        self.run_until(at)
        msg = parse_line(raw)
        if msg is None:
            return
        line = "|".join((msg.type, *msg.args))
        self._record("in", line)
        event = event_from_message(msg, self.controller.settings.alias, self.now)
        if event is None:
            return  # everything else the host sends every child
        self._emit(self.now, "host", line)
        self.feed(event)

    def run_until(self, at: float | None) -> None:
        """Deliver replies and deadlines due by ``at`` (None: until nothing is left).

        At the same simulated time a reply's event comes before a deadline: it was scheduled
        when its stream started, before anything that stream's events could arm.
        """
        for _ in range(_MAX_STEPS):
            piece_due = self._heap[0][0] if self._heap else None
            deadline_due = self.interpreter.next_deadline()
            if deadline_due is not None and (piece_due is None or deadline_due < piece_due):
                if at is not None and deadline_due > at:
                    break
                self.now = max(self.now, deadline_due)
                self.interpreter.fire_due(deadline_due)
                continue
            if piece_due is None or (at is not None and piece_due > at):
                break
            due, _, event = heapq.heappop(self._heap)
            self.now = max(self.now, due)
            self._record_stream(event)
            self.feed(event)
        else:
            self._emit(self.now, "note", "stopped: too many steps (a loop?)")
        if at is not None:
            self.now = max(self.now, at)

    def feed(self, event: Event) -> None:
        """Give the controller one event and carry out its commands on the simulated clock."""
        self.interpreter.feed(event)

    def _schedule(self, at: float, event: Event) -> None:
        heapq.heappush(self._heap, (at, next(self._seq), event))

    # ---- the effects of the commands, on the simulated clock -------------------------------

    def send(self, command: Send) -> None:
        """Keep the line and show it."""
        self.sent.append(command.line)
        self._record("out", command.line)
        self._emit(self.now, "out", command.line)

    def start_stream(self, command: StartStream) -> None:
        """Schedule the reply's pieces and its end at their simulated times."""
        self._start(command.gen, command.messages)

    def cancel_stream(self, command: CancelStream) -> None:
        """Drop whatever of the generation is still scheduled."""
        self._heap = [item for item in self._heap if _gen_of(item[2]) != command.gen]
        heapq.heapify(self._heap)

    def turn_done(self, command: TurnDone) -> None:
        """Show how the turn ended."""
        self._emit(self.now, "turn", f"{command.outcome}; heard: {command.heard!r}")

    def state_changed(self, state: str) -> None:
        """Show the new state."""
        self._record("state", state)
        self._emit(self.now, "state", state)

    def _start(self, gen: int, messages: Messages) -> None:
        stream = self._source(messages)
        if stream is None:
            self.fallback_replies += 1
            stream = RecordedStream([(0.0, piece) for piece in self._fallback(messages)])
            stream.end = (0.0, StreamEnd(0))
        if self.recorder is not None:
            number = self.recorder.next_stream()
            self._stream_numbers[gen] = number
            user = last_user_text(messages)
            self.recorder.write("open", user, stream=number)
        for offset, piece in stream.pieces:
            for part in slices(piece):  # as the runtime hands a piece over
                self._schedule(self.now + offset, Chunk(gen, part))
        if stream.end is not None:
            offset, end = stream.end
            if isinstance(end, StreamEnd):
                self._schedule(self.now + offset, StreamEnd(gen, end.total_tokens))
            elif isinstance(end, StreamError):
                self._schedule(self.now + offset, StreamError(gen, end.reason))

    # ---- recording ----------------------------------------------------------------------

    def _record(self, direction: str, line: str) -> None:
        if self.recorder is not None:
            self.recorder.write(direction, line)

    def _record_stream(self, event: Event) -> None:
        """Record a reply's piece, end or error as it reaches the controller."""
        if self.recorder is None:
            return
        gen = _gen_of(event)
        number = self._stream_numbers.get(gen) if gen is not None else None
        if number is None:
            return
        if isinstance(event, Chunk):
            self.recorder.write("chunk", event.text, stream=number)
        elif isinstance(event, StreamEnd):
            self.recorder.write("end", "", stream=number, tokens=event.total_tokens)
        elif isinstance(event, StreamError):
            self.recorder.write("error", event.reason, stream=number)


def _gen_of(event: Event) -> int | None:
    return event.gen if isinstance(event, Chunk | StreamEnd | StreamError) else None
