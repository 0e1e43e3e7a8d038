"""The runtime: one loop thread that feeds the controller and carries out its commands.

Everything arrives on one queue (host lines from the reader thread, events from generation
threads, a quit request from a signal); deadlines are kept here and delivered by the loop
itself, so a disarmed deadline can never fire late. The loop blocks while nothing happens: no
polling.
"""

from __future__ import annotations

import logging
import math
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fsm_agent.core.backend import Backend
from fsm_agent.core.controller import Controller
from fsm_agent.core.events import (
    Arm,
    CancelStream,
    Chunk,
    Command,
    Deadline,
    DeadlineKind,
    Disarm,
    Event,
    Send,
    SpeechStart,
    StartStream,
    TurnDone,
    event_from_message,
)
from fsm_agent.core.protocol import parse_line
from fsm_agent.runtime.lineio import EOF_MARK
from fsm_agent.runtime.worker import Generation

log = logging.getLogger("fsm_agent.runtime.loop")

QUIT = object()
"""Post this to stop the loop (signal handlers, chat ``/quit``)."""

# Windows does not interrupt a blocking wait for Ctrl-C; waking now and then lets it through.
_MAX_WAIT = 0.5 if sys.platform == "win32" else None
_LONGEST_WAIT = 86400.0  # far inside every platform's threading.TIMEOUT_MAX


@dataclass
class TurnTimes:
    """When a turn's milestones happened (monotonic seconds)."""

    started: float
    first_token: float | None = None
    first_synth: float | None = None


Observer = Callable[[str, str], None]
"""Called with (direction, line): "in" for host lines, "out" for ours, "state" for states."""


class Runtime:
    """Feed the controller from a queue and perform its commands.

    Args:
        controller: The pure state machine.
        backend: Opens LLM reply streams.
        write: Writes one line to the host (flushed).
        clock: Monotonic clock, replaceable in tests.

    """

    def __init__(
        self,
        controller: Controller,
        backend: Backend,
        write: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.controller = controller
        self.backend = backend
        self.write = write
        self.clock = clock
        self.observers: list[Observer] = []
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._deadlines: dict[DeadlineKind, float] = {}
        self._generations: dict[int, Generation] = {}
        self._times: TurnTimes | None = None
        self.turns_done = 0

    def post(self, item: object) -> None:
        """Hand the loop a host line (bytes), an event, ``EOF_MARK`` or ``QUIT``; any thread."""
        self._queue.put(item)

    def run(self) -> int:
        """Run until end of input or ``QUIT``; return the exit status (0)."""
        try:
            while True:
                item = self._next_item()
                if item is QUIT or item == EOF_MARK:
                    break
                if item is None:
                    continue
                if isinstance(item, bytes):
                    self._host_line(item)
                else:
                    self.feed(item)  # type: ignore[arg-type]
        finally:
            self.shutdown()
        return 0

    def _next_item(self) -> object | None:
        """Wait for the next item or the earliest deadline; deliver deadlines that passed."""
        timeout = _MAX_WAIT
        if self._deadlines:
            wait = max(0.0, min(self._deadlines.values()) - self.clock())
            timeout = wait if timeout is None else min(wait, timeout)
        try:
            item: object | None = self._queue.get(timeout=timeout)
        except queue.Empty:
            item = None
        now = self.clock()
        for kind, due in sorted(self._deadlines.items(), key=lambda kv: kv[1]):
            if due <= now and self._deadlines.get(kind) == due:
                del self._deadlines[kind]
                self.feed(Deadline(kind))
        return item

    def _host_line(self, raw: bytes) -> None:
        msg = parse_line(raw)
        if msg is None:
            log.debug("ignored input line %r", raw[:80])
            return
        line = "|".join((msg.type, *msg.args))
        for observer in self.observers:
            observer("in", line)
        event = event_from_message(msg, self.controller.settings.alias)
        if event is not None:
            self.feed(event)

    def feed(self, event: Event) -> None:
        """Give the controller one event and carry out what it commands (loop thread only)."""
        before = self.controller.state
        times = self._times
        if (
            isinstance(event, Chunk)
            and times
            and times.first_token is None
            and event.gen == self.controller.gen
        ):
            times.first_token = self.clock()
        for command in self.controller.handle(event):
            self._perform(command)
        if isinstance(event, SpeechStart):
            self._prewarm()
        if self.controller.state != before:
            for observer in self.observers:
                observer("state", self.controller.state)

    def _perform(self, command: Command) -> None:
        match command:
            case Send(line=line):
                self.write(line)
                if (
                    self._times
                    and self._times.first_synth is None
                    and line.startswith("SYNTH_START")
                ):
                    self._times.first_synth = self.clock()
                    self._log_latency()
                for observer in self.observers:
                    observer("out", line)
            case StartStream(gen=gen, messages=messages):
                self._times = TurnTimes(self.clock())
                generation = Generation(gen, self.backend, messages, self.post)
                self._generations[gen] = generation
                generation.start()
            case CancelStream(gen=gen):
                generation = self._generations.pop(gen, None)
                if generation is not None:
                    generation.cancel()
            case Arm(kind=kind, seconds=seconds):
                # Settings are validated; this keeps a bad value from crashing or spinning the loop.
                if not math.isfinite(seconds) or seconds > _LONGEST_WAIT:
                    seconds = _LONGEST_WAIT
                if kind == "synth":
                    log.debug("synth deadline in %.3f s", seconds)
                self._deadlines[kind] = self.clock() + seconds
            case Disarm(kind=kind):
                self._deadlines.pop(kind, None)
            case TurnDone():
                self.turns_done += 1
                log.info("turn %s: heard %r", command.outcome, command.heard)
                self._forget_finished()

    def _prewarm(self) -> None:
        """The user started to speak: have the backend get its connection ready.

        Transport, not dialogue, so it is done here rather than by the controller: the
        utterance will follow in seconds, and a connection opened now saves its handshakes.
        """
        prewarm = getattr(self.backend, "prewarm", None)
        if callable(prewarm):
            try:
                prewarm()
            except Exception as exc:  # an optimisation must never take the loop down
                log.debug("prewarm: %s", exc)

    def _log_latency(self) -> None:
        t = self._times
        if t is None or t.first_synth is None:
            return
        token = f"{(t.first_token - t.started) * 1000:.0f} ms" if t.first_token else "-"
        log.info(
            "latency: first token %s, first SYNTH_START %.0f ms after the utterance",
            token,
            (t.first_synth - t.started) * 1000,
        )

    def _forget_finished(self) -> None:
        for gen in [g for g, w in self._generations.items() if not w.thread.is_alive()]:
            del self._generations[gen]

    def shutdown(self, timeout: float = 0.5) -> None:
        """Cancel every generation and wait briefly for their threads."""
        generations = list(self._generations.values())
        self._generations.clear()
        for generation in generations:
            generation.cancel()
        end = time.monotonic() + timeout
        for generation in generations:
            if generation.thread.is_alive():
                generation.thread.join(max(0.0, end - time.monotonic()))
        close = getattr(self.backend, "close", None)
        if callable(close):
            try:
                close()
            except Exception as exc:  # shutting down: nothing left to tell
                log.debug("closing the backend: %s", exc)
        log.debug("threads left at exit: %s", describe_threads())


def describe_threads() -> str:
    """Name the threads still alive besides the current one, non-daemon ones first.

    Returns:
        E.g. ``"non-daemon: none; daemon: stdin"``.

    """
    current = threading.current_thread()
    alive = [t for t in threading.enumerate() if t is not current and t.is_alive()]
    workers = [t.name for t in alive if not t.daemon] or ["none"]
    daemons = [t.name for t in alive if t.daemon] or ["none"]
    return f"non-daemon: {', '.join(workers)}; daemon: {', '.join(daemons)}"
