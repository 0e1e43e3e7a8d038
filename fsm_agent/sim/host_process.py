"""Drive a child process (``fsm-agent ...``) against a simulated MMDAgent-EX host.

Threads only (no ``select`` on pipes, nothing POSIX-only), so it runs on Windows too: one thread
reads the child's stdout and feeds each line to ``HostSim``, one reads its stderr, one delivers
the simulator's delayed events when due, and one writes to the child's stdin in order (a child
that stops reading stdin blocks only that thread, as it would block the real host).
"""

from __future__ import annotations

import contextlib
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal, NamedTuple

from fsm_agent.sim.host_sim import HostSim, Timed

_CLOSE = object()


class Entry(NamedTuple):
    """One line of the transcript.

    Attributes:
        time: When it was read (child lines) or written (host lines).
        sender: ``"child"`` (the child printed it) or ``"host"`` (the child was sent it).
        line: The line, without its line ending.

    """

    time: float
    sender: Literal["child", "host"]
    line: str


class HostProcess:
    """A child process talking to a ``HostSim`` through real pipes.

    Args:
        args: The child's command line (no shell), e.g. ``[sys.executable, "-m", "fsm_agent"]``.
        sim: The simulated host (a default ``HostSim`` when None).
        env: The child's environment (inherited when None).
        cwd: The child's working directory.
        clock: Time source, ``time.monotonic`` by default.
        capture_stderr: Keep the child's stderr in ``stderr_text`` (else it is inherited).
        startup: Send the host's start-up lines (``PLUGIN_EVENT_ENABLE|AnyScript``...) first.

    Example:
        >>> with HostProcess([sys.executable, "-m", "fsm_agent"]) as host:  # doctest: +SKIP
        ...     host.say("こんにちは")
        ...     assert host.wait_until(lambda: host.sim.spoken, timeout=20)
        ...     assert host.wait_idle()

    """

    def __init__(
        self,
        args: Sequence[str],
        sim: HostSim | None = None,
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        capture_stderr: bool = True,
        startup: bool = False,
    ) -> None:
        self.args = list(args)
        self.sim = sim if sim is not None else HostSim()
        self.clock = clock
        self._env = dict(env) if env is not None else None
        self._cwd = Path(cwd) if cwd is not None else None
        self._capture_stderr = capture_stderr
        self._startup = startup
        self._lock = threading.RLock()  # wait_until holds it while predicates read state
        self._changed = threading.Condition(self._lock)
        self._outbox: queue.Queue[object] = queue.Queue()
        self._queued = 0  # lines put in the outbox and not yet written
        self._transcript: list[Entry] = []
        self._child_lines: list[str] = []
        self._stderr: list[str] = []
        self._last_activity = clock()
        self._threads: list[threading.Thread] = []
        self._closing = threading.Event()
        self.max_write_block = 0.0
        """Longest time one write to the child's stdin blocked (a child not reading stdin)."""
        self.proc: subprocess.Popen[bytes] | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> HostProcess:
        """Start the child and the pumping threads.

        Returns:
            The host itself.

        """
        self.proc = subprocess.Popen(
            self.args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if self._capture_stderr else None,
            env=self._env,
            cwd=self._cwd,
            bufsize=0,
        )
        self._spawn(self._read_stdout, "host-read")
        self._spawn(self._write_stdin, "host-write")
        self._spawn(self._schedule, "host-timer")
        if self._capture_stderr:
            self._spawn(self._read_stderr, "host-stderr")
        if self._startup:
            for line in self.sim.startup():
                self.send(line)
        return self

    def close(self, timeout: float = 10.0) -> int:
        """Close the child's stdin (after what is queued), wait for it to exit, kill on timeout.

        Args:
            timeout: Seconds to wait for the exit before killing the child.

        Returns:
            The child's exit code.

        """
        proc = self.proc
        if proc is None:
            raise RuntimeError("HostProcess not started")
        self._outbox.put(_CLOSE)
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        self._closing.set()
        with self._changed:
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(5.0)
        return code

    def kill(self) -> None:
        """Kill the child at once, as the host does when it exits or reloads content."""
        if self.proc is not None:
            self.proc.kill()

    def quit(self, timeout: float = 10.0) -> int:
        """Quit as the real host does: SIGKILL the child (Windows: terminate it), no warning.

        Whatever the child has not written by then is lost.

        Returns:
            The child's exit code (``-9`` on POSIX).

        """
        if self.proc is None:
            raise RuntimeError("HostProcess not started")
        self.proc.kill()
        code = self.proc.wait(timeout)
        self._outbox.put(_CLOSE)
        self._closing.set()
        with self._changed:
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(5.0)
        return code

    def __enter__(self) -> HostProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.close()

    # ------------------------------------------------------------------ talking to the child

    def send(self, line: str) -> None:
        """Send one host line to the child (UTF-8, LF), after anything already queued."""
        with self._lock:
            self._queue([(self.clock(), line)])

    def send_bytes(self, data: bytes) -> None:
        """Send raw bytes as they are (plus LF): broken UTF-8, NUL, embedded line breaks."""
        with self._lock:
            self._queue([(self.clock(), data)])

    def say(self, text: str) -> None:
        """The user said ``text``: send ``RECOG_EVENT_STOP|text``."""
        self.send(f"RECOG_EVENT_STOP|{text}")

    def speech_start(self) -> None:
        """The user began to speak: send ``RECOG_EVENT_START``."""
        self.send("RECOG_EVENT_START")

    def chatter(self) -> None:
        """Send a batch of unrelated host traffic (see ``HostSim.chatter``)."""
        with self._lock:
            self._queue(self.sim.chatter(self.clock()))

    # ------------------------------------------------------------------ observing

    @property
    def transcript(self) -> list[Entry]:
        """Every line both ways, in order, with times."""
        with self._lock:
            return list(self._transcript)

    @property
    def child_lines(self) -> list[str]:
        """Every line the child printed, in order."""
        with self._lock:
            return list(self._child_lines)

    @property
    def stderr_text(self) -> str:
        """What the child wrote to stderr so far (decoded, errors replaced)."""
        with self._lock:
            return "".join(self._stderr)

    @property
    def returncode(self) -> int | None:
        """The child's exit code, None while it runs."""
        return None if self.proc is None else self.proc.poll()

    def wait_until(self, predicate: Callable[[], object], timeout: float = 10.0) -> bool:
        """Wait until ``predicate()`` is true, re-checking after every line either way.

        The predicate runs under the host's lock, so it sees ``sim`` in a consistent state.

        Returns:
            Whether it became true within ``timeout`` seconds (real time).

        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.05))
        return True

    def wait_idle(self, quiet: float = 0.3, timeout: float = 10.0) -> bool:
        """Wait until nothing is spoken, due or queued, and no line has moved for ``quiet`` s.

        Returns:
            Whether that happened within ``timeout`` seconds.

        """
        return self.wait_until(
            lambda: (
                self.sim.idle()
                and self._queued == 0
                and self.clock() - self._last_activity >= quiet
            ),
            timeout,
        )

    # ------------------------------------------------------------------ threads

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _queue(self, events: list[Timed] | list[tuple[float, bytes]]) -> None:
        """Hand lines to the writer; the caller holds the lock, so the order is kept."""
        for _, line in events:
            self._queued += 1
            self._outbox.put(line)
        self._changed.notify_all()

    def _read_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            data = raw.removesuffix(b"\n")
            with self._lock:
                now = self.clock()
                text = data.decode("utf-8", errors="replace").removesuffix("\r")
                self._transcript.append(Entry(now, "child", text))
                self._child_lines.append(text)
                self._last_activity = now
                alive = self.sim.crashed is None
                self._queue(self.sim.on_child_line(data, now))
                if alive and self.sim.crashed is not None:
                    self._outbox.put(_CLOSE)  # the host died: the child's stdin closes

    def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for raw in iter(self.proc.stderr.readline, b""):
            with self._lock:
                self._stderr.append(raw.decode("utf-8", errors="replace"))

    def _schedule(self) -> None:
        while not self._closing.is_set():
            with self._changed:
                due = self.sim.next_event_time()
                now = self.clock()
                if due is not None and due <= now:
                    self._queue(self.sim.advance(now))
                    continue
                # Short waits keep an injected (non-real-time) clock usable too.
                wait = 0.05 if due is None else min(max(due - now, 0.0), 0.05)
                self._changed.wait(wait)

    def _write_stdin(self) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        stdin = self.proc.stdin
        broken = False
        while True:
            item = self._outbox.get()
            if item is _CLOSE:
                with contextlib.suppress(OSError):
                    stdin.close()
                return
            data = item if isinstance(item, bytes) else str(item).encode("utf-8")
            line = data.decode("utf-8", errors="replace")
            began = time.monotonic()
            if not broken:
                try:
                    stdin.write(data + b"\n")
                    stdin.flush()
                except OSError:  # the child has exited or closed stdin
                    broken = True
            blocked = time.monotonic() - began
            with self._lock:
                now = self.clock()
                self.max_write_block = max(self.max_write_block, blocked)
                if not broken:
                    self._transcript.append(Entry(now, "host", line))
                    self._last_activity = now
                self._queued -= 1
                self._changed.notify_all()
