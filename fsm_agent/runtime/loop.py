"""The runtime: one loop thread that feeds the controller and carries out its commands.

Everything arrives on one queue (host lines from the reader thread, events from generation
threads, a quit request from a signal); deadlines are kept by the interpreter and delivered by
the loop itself, so a disarmed deadline can never fire late. The loop blocks while nothing
happens: no polling.

A burst of utterances (a recognizer gone wild, a hostile host) must not open a connection per
utterance: while the user is still talking only the last utterance needs a request. So a
stream starts at once unless other input is already waiting (then it starts when that has
been handled) or it replaces a stream cancelled within :data:`COALESCE_SECONDS` of being asked
for (then it waits that long for the burst to end). An utterance that replaces a waiting
stream cancels it before it ever connects; a normal turn or barge-in starts at once.
"""

from __future__ import annotations

import logging
import math
import queue
import sys
import threading
import time
from collections.abc import Callable

from fsm_agent.core.backend import Backend
from fsm_agent.core.controller import Controller
from fsm_agent.core.events import (
    CancelStream,
    CancelSummary,
    Chunk,
    ClearMemory,
    Event,
    Remember,
    RememberSummary,
    Send,
    SpeechStart,
    StartStream,
    Summarize,
    TurnDone,
    event_from_message,
)
from fsm_agent.core.protocol import parse_line
from fsm_agent.runtime.history_file import HistoryFile
from fsm_agent.runtime.interpreter import Effects, Interpreter, TurnTimes
from fsm_agent.runtime.lineio import EOF_MARK
from fsm_agent.runtime.summarizer import SummaryJob
from fsm_agent.runtime.worker import Generation

log = logging.getLogger("fsm_agent.runtime.loop")

QUIT = object()
"""Post this to stop the loop (signal handlers, chat ``/quit``)."""

# Windows does not interrupt a blocking wait for Ctrl-C; waking now and then lets it through.
_MAX_WAIT = 0.5 if sys.platform == "win32" else None

COALESCE_SECONDS = 0.25
"""A stream that replaces one cancelled this soon after it was asked for waits this long for
more to come (a person cannot say two things in a quarter of a second; a recognizer can)."""

Observer = Callable[[str, str], None]
"""Called with (direction, line): "in" for host lines, "out" for ours, "state" for states."""


class Runtime(Effects):
    """Feed the controller from a queue; its commands are carried out by an :class:`Interpreter`.

    The runtime is the interpreter's real world: lines go to ``write``, streams run on
    threads, deadlines are kept on the monotonic clock.

    Args:
        controller: The pure state machine.
        backend: Opens LLM reply streams.
        write: Writes one line to the host (flushed).
        clock: Monotonic clock, replaceable in tests.
        history_file: The history file, or None.
        summary_backend: Answers the summary requests; ``backend`` as given here when None
            (so that neither the chat's screen nor ``--record`` sees them).

    """

    def __init__(
        self,
        controller: Controller,
        backend: Backend,
        write: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        *,
        history_file: HistoryFile | None = None,
        summary_backend: Backend | None = None,
    ) -> None:
        self.controller = controller
        self.backend = backend
        self.history_file = history_file
        self.summary_backend = summary_backend or backend
        self._summary: SummaryJob | None = None
        self.write = write
        self.clock = clock
        self.observers: list[Observer] = []
        self.interpreter = Interpreter(controller, self, clock)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._generations: dict[int, Generation] = {}
        self.turns_done = 0
        self._repairs_told: set[str] = set()
        self._stopping = False
        self._last_asked: tuple[int, float] = (0, -math.inf)  # generation, when
        self._burst = False  # the stream asked for last was cancelled at once: a burst
        self._deferred: StartStream | None = None
        self._deferred_due = 0.0

    def post(self, item: object) -> None:
        """Hand the loop a host line (bytes), an event, ``EOF_MARK`` or ``QUIT``; any thread."""
        self._queue.put(item)

    def stop(self) -> None:
        """Stop at once, from any thread: no new stream starts, nothing queued is handled.

        For when the host can no longer hear us (it closed our output): every reply would be
        lost, so nothing more is asked of the LLM.
        """
        self._stopping = True
        self.post(QUIT)

    def run(self) -> int:
        """Run until end of input or ``QUIT``; return the exit status (0)."""
        try:
            while True:
                item = self._next_item()
                if item is QUIT or item == EOF_MARK or self._stopping:
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
        self._start_deferred()
        timeout = _MAX_WAIT
        due = self.interpreter.next_deadline()
        if self._deferred is not None:
            due = self._deferred_due if due is None else min(due, self._deferred_due)
        if due is not None:
            wait = max(0.0, due - self.clock())
            timeout = wait if timeout is None else min(wait, timeout)
        try:
            item: object | None = self._queue.get(timeout=timeout)
        except queue.Empty:
            item = None
        self.interpreter.fire_due()
        return item

    def _host_line(self, raw: bytes) -> None:
        msg = parse_line(raw)
        if msg is None:
            log.debug("ignored input line %r", raw[:80])
            return
        line = "|".join((msg.type, *msg.args))
        for observer in self.observers:
            observer("in", line)
        event = event_from_message(msg, self.controller.settings.alias, self.clock())
        if event is None:
            return
        if msg.repair and msg.repair not in self._repairs_told:
            self._repairs_told.add(msg.repair)
            log.warning("an utterance from the host was %s (warned once)", msg.repair)
        self.feed(event)

    def feed(self, event: Event) -> None:
        """Give the controller one event and carry out what it commands (loop thread only)."""
        self.interpreter.feed(event)
        if isinstance(event, Chunk):
            generation = self._generations.get(event.gen)
            if generation is not None:
                generation.taken(event)
        if isinstance(event, SpeechStart):
            self._prewarm()

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

    # ---- the effects of the commands --------------------------------------------------------

    def send(self, command: Send) -> None:
        """Write the line to the host and show it to the observers."""
        self.write(command.line)
        for observer in self.observers:
            observer("out", command.line)

    def start_stream(self, command: StartStream) -> None:
        """Run the generation on its own thread, now or once a burst of input is over.

        Its events come back through :meth:`post`.
        """
        now = self.clock()
        burst, self._burst = self._burst, False
        self._last_asked = (command.gen, now)
        if burst or not self._queue.empty():
            if self._deferred is not None:
                log.debug("generation %d replaces %d unstarted", command.gen, self._deferred.gen)
            self._deferred = command
            self._deferred_due = now + COALESCE_SECONDS if burst else now
            return
        self._start(command)

    def _start_deferred(self) -> None:
        """Start the waiting stream once its time has come and no input is waiting."""
        command = self._deferred
        if command is None:
            return
        now = self.clock()
        # input that never pauses (a flood of host chatter) delays the start by a window at most
        busy = not self._queue.empty() and now < self._deferred_due + COALESCE_SECONDS
        if now < self._deferred_due or busy:
            return
        self._deferred = None
        self._start(command)

    def _start(self, command: StartStream) -> None:
        if self._stopping:
            return
        generation = Generation(command.gen, self.backend, command.messages, self.post)
        self._generations[command.gen] = generation
        generation.start()

    def cancel_stream(self, command: CancelStream) -> None:
        """Cancel the generation and close its response (or forget it, if it has not started)."""
        gen, asked = self._last_asked
        if command.gen == gen and self.clock() - asked < COALESCE_SECONDS:
            self._burst = True
        if self._deferred is not None and self._deferred.gen == command.gen:
            self._deferred = None
            return
        generation = self._generations.pop(command.gen, None)
        if generation is not None:
            generation.cancel()

    def turn_done(self, command: TurnDone) -> None:
        """Count and log the turn; forget the generations that have ended."""
        self.turns_done += 1
        log.info("turn %s: heard %r", command.outcome, command.heard)
        self._forget_finished()

    def state_changed(self, state: str) -> None:
        """Show the new state to the observers."""
        for observer in self.observers:
            observer("state", state)

    def first_sentence(self, times: TurnTimes) -> None:
        """Log the turn's latency."""
        assert times.first_synth is not None
        token = f"{(times.first_token - times.started) * 1000:.0f} ms" if times.first_token else "-"
        log.info(
            "latency: first token %s, first SYNTH_START %.0f ms after the utterance",
            token,
            (times.first_synth - times.started) * 1000,
        )

    def remember(self, command: Remember | RememberSummary | ClearMemory) -> None:
        """Write the turn or the summary to the history file (flushed), or empty it."""
        file = self.history_file
        if file is None:
            return
        match command:
            case Remember():
                file.add_turn(
                    command.n, command.user, command.assistant, interrupted=command.interrupted
                )
            case RememberSummary(text=text, through=through):
                file.add_summary(text, through)
            case ClearMemory():
                file.clear()

    def summarize(self, command: Summarize) -> None:
        """Send the summary request on its own thread; the answer comes back through post."""
        self._cancel_summary()
        log.debug("summary %d: turns up to %d", command.job, command.through)
        self._summary = SummaryJob(command, self.summary_backend, self.post)
        self._summary.start()

    def cancel_summary(self, command: CancelSummary) -> None:
        """Cancel the summary request and close its connection."""
        if self._summary is not None and self._summary.command.job == command.job:
            self._cancel_summary()

    def _cancel_summary(self) -> None:
        job, self._summary = self._summary, None
        if job is not None:
            job.cancel()

    def _forget_finished(self) -> None:
        for gen in [g for g, w in self._generations.items() if not w.thread.is_alive()]:
            del self._generations[gen]

    def shutdown(self, timeout: float = 0.5) -> None:
        """Cancel every generation and wait briefly for their threads."""
        self._cancel_summary()
        self._deferred = None
        generations = list(self._generations.values())
        self._generations.clear()
        for generation in generations:
            generation.cancel()
        end = time.monotonic() + timeout
        for generation in generations:
            if generation.thread.is_alive():
                generation.thread.join(max(0.0, end - time.monotonic()))
        if self.history_file is not None:
            self.history_file.close()
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
