"""Drive a ``HostSim`` in real time for a child that lives in the same process.

``HostProcess`` (in ``fsm_agent.sim.host_process``) talks to a child through pipes; ``HostLoop``
talks to one through two calls: each line the child prints goes to :meth:`HostLoop.child_line`,
and every host line comes out through ``deliver`` (for a ``Runtime``: its ``post``, see
:func:`runtime_delivery`). One timer thread hands over the simulator's delayed events (the
``SYNTH_EVENT_STOP`` at the end of a sentence) when they are due. Threads and a condition
variable only, no signals or ``select``: it runs on Windows too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from fsm_agent.sim.host_sim import HostSim, Timed

__all__ = ["HostLoop", "runtime_delivery"]


def runtime_delivery(post: Callable[[object], None]) -> Callable[[str], None]:
    """Deliver host lines to a ``Runtime`` as the reader thread would: UTF-8 bytes with LF.

    Args:
        post: The runtime's ``post``.

    Returns:
        A ``deliver`` callable for :class:`HostLoop`.

    """
    return lambda line: post(line.encode("utf-8") + b"\n")


class HostLoop:
    """A ``HostSim`` on the clock: child lines in, host lines out, delayed events on time.

    Every host line goes through ``deliver`` in order, with the loop's lock held, so it must not
    block for long (a queue's ``put`` is right; a pipe write is not, use ``HostProcess``).

    Args:
        deliver: Hands one host line (without line ending) to the child.
        sim: The simulated host (a default ``HostSim`` when None).
        clock: Monotonic time in seconds, ``time.monotonic`` by default.

    Example:
        >>> loop = HostLoop(runtime_delivery(runtime.post)).start()  # doctest: +SKIP
        >>> runtime.write = loop.child_line  # doctest: +SKIP
        >>> loop.startup(); loop.say("こんにちは")  # doctest: +SKIP

    """

    def __init__(
        self,
        deliver: Callable[[str], None],
        sim: HostSim | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.deliver = deliver
        self.sim = sim if sim is not None else HostSim()
        self.clock = clock
        self.lock = threading.RLock()
        """Held while the simulator changes; hold it to read ``sim`` consistently."""
        self._changed = threading.Condition(self.lock)
        self._closing = False
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> HostLoop:
        """Start the timer thread.

        Returns:
            The loop itself.

        """
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="host-loop", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop the timer thread; events still on the agenda are dropped."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> HostLoop:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ both directions

    def child_line(self, line: str | bytes) -> None:
        """The child printed ``line`` (without line ending): deliver what the host answers now."""
        with self._changed:
            self._hand_over(self.sim.on_child_line(line, self.clock()))
            self._changed.notify_all()  # the agenda may have changed

    def send(self, line: str) -> None:
        """Send one host line to the child, after any event already due."""
        with self._changed:
            now = self.clock()
            self._hand_over([*self.sim.advance(now), (now, line)])

    def startup(self) -> None:
        """Send the host's start-up lines (``PLUGIN_EVENT_ENABLE|AnyScript``...)."""
        for line in self.sim.startup():
            self.send(line)

    def speech_start(self) -> None:
        """The user began to speak: send ``RECOG_EVENT_START``."""
        self.send("RECOG_EVENT_START")

    def say(self, text: str) -> None:
        """The user said ``text``: send ``RECOG_EVENT_STOP|text``."""
        self.send(f"RECOG_EVENT_STOP|{text}")

    def chatter(self) -> None:
        """Send a batch of unrelated host traffic (see ``HostSim.chatter``)."""
        with self._changed:
            now = self.clock()
            self._hand_over([*self.sim.advance(now), *self.sim.chatter(now)])

    # ------------------------------------------------------------------ the timer thread

    def _hand_over(self, events: Iterable[Timed]) -> None:
        for _, line in events:
            self.deliver(line)

    def _run(self) -> None:
        with self._changed:
            while not self._closing:
                due = self.sim.next_event_time()
                now = self.clock()
                if due is not None and due <= now:
                    self._hand_over(self.sim.advance(now))
                    continue
                self._changed.wait(None if due is None else due - now)
