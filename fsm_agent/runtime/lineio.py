"""Bytes in and out: the stdin reader thread and the flushed stdout line writer."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import BinaryIO

from fsm_agent.core.protocol import MAX_INPUT_BYTES

log = logging.getLogger("fsm_agent.io")

EOF_MARK = b""
"""Posted once when the input ends."""


def read_lines(stream: BinaryIO, post: Callable[[bytes], None]) -> None:
    """Read lines from ``stream`` and post each one, never stopping until end of input.

    The host writes to our stdin with a blocking write from its render thread: if we stopped
    reading, the avatar would freeze. So this loop only reads and hands lines over. Of a line
    longer than ``MAX_INPUT_BYTES`` only the first ``MAX_INPUT_BYTES + 1`` bytes are posted (no
    line ending: ``parse_line`` cuts it and takes it only as an utterance); the rest is skipped
    to its end without being held in memory.

    Args:
        stream: A binary stream (``sys.stdin.buffer``).
        post: Called with each line (with its ending) and finally with ``EOF_MARK``.

    """
    try:
        while True:
            line = stream.readline(MAX_INPUT_BYTES + 1)
            if not line:
                break
            if len(line) > MAX_INPUT_BYTES and not line.endswith(b"\n"):
                post(line)
                skipped = len(line)
                while line and not line.endswith(b"\n"):
                    line = stream.readline(65536)
                    skipped += len(line)
                log.debug("cut an over-long input line (%d bytes)", skipped)
                if not line:
                    break
                continue
            post(line)
    except (OSError, ValueError) as exc:  # the pipe closed under us
        log.debug("input closed: %s", exc)
    finally:
        post(EOF_MARK)


def private_stdin() -> BinaryIO:
    """Return a binary reader of our own on a duplicate of the stdin descriptor.

    The reader thread blocks inside ``readline``, holding its reader's lock. If that reader were
    ``sys.stdin.buffer``, the interpreter would try to take the same lock at exit and abort
    (SIGABRT instead of exit status 0). A reader of our own is never touched at exit.
    """
    return open(os.dup(sys.stdin.fileno()), "rb")


def start_reader(stream: BinaryIO, post: Callable[[bytes], None]) -> threading.Thread:
    """Start :func:`read_lines` on a daemon thread and return the thread."""
    thread = threading.Thread(target=read_lines, args=(stream, post), name="stdin", daemon=True)
    thread.start()
    return thread


class LineWriter:
    """Write UTF-8 lines with LF endings and flush after each, whatever the platform.

    Args:
        stream: A binary stream (``sys.stdout.buffer``).
        on_broken: Called once, on the writing thread, when the host has closed the pipe.

    """

    def __init__(self, stream: BinaryIO, on_broken: Callable[[], None] | None = None) -> None:
        self._stream = stream
        self.on_broken = on_broken
        self.broken = False

    def write(self, line: str) -> None:
        """Write one line and flush it; a closed pipe is remembered and reported, not raised."""
        if self.broken:
            return
        try:
            self._stream.write(line.encode("utf-8") + b"\n")
            self._stream.flush()
        except (OSError, ValueError):
            self.broken = True
            log.warning("the host closed our output: stopping")
            _discard_output(self._stream)
            if self.on_broken is not None:
                self.on_broken()


def _discard_output(stream: BinaryIO) -> None:
    """Point the closed output's descriptor at the null device.

    What the failed write left in the stream's buffer is then flushed there at exit, instead of
    failing once more and turning exit status 0 into 120.
    """
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, stream.fileno())
        finally:
            os.close(null)
    except (OSError, ValueError, AttributeError) as exc:  # not a real descriptor
        log.debug("could not discard the closed output: %s", exc)


def watch_output(fd: int, on_closed: Callable[[], None]) -> threading.Thread | None:
    """Call ``on_closed`` as soon as the reader of pipe ``fd`` closes it, before any write fails.

    The host gone from our output means every reply would be lost: nothing more should be
    asked of the LLM. Where ``select.poll`` exists (not on Windows) a daemon thread waits for
    the pipe's error condition; elsewhere the next write notices it.

    Returns:
        The watching thread, or None where the platform cannot watch.

    """
    import select

    if not hasattr(select, "poll"):
        return None

    def watch() -> None:
        poller = select.poll()
        poller.register(fd, 0)  # no events asked for: only error, hang-up and invalid come
        try:
            events = poller.poll()
        except OSError:
            return
        if any(mask & (select.POLLERR | select.POLLHUP) for _, mask in events):
            log.warning("the host closed our output: stopping")
            on_closed()

    thread = threading.Thread(target=watch, name="stdout-watch", daemon=True)
    thread.start()
    return thread
