"""The quit signals: Ctrl-C, SIGTERM and (Windows) SIGBREAK end fsm-agent with status 0."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

_QUIT_SIGNALS = ("SIGINT", "SIGTERM", "SIGBREAK")

QUIT_GRACE = 0.8
"""Seconds an orderly stop may take after a quit signal before the process ends anyway."""

_watchdog: threading.Timer | None = None


def install_quit_signals(quit_: Callable[[], None]) -> dict[int, Any]:
    """Call ``quit_`` on Ctrl-C and SIGTERM where the platform has them.

    Returns:
        The handlers replaced, by signal number (none when not on the main thread).

    """
    previous: dict[int, Any] = {}
    for name in _QUIT_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            previous[signum] = signal.signal(signum, lambda *_: quit_())
        except ValueError:  # not the main thread: signals are not ours to take
            break
    return previous


def restore_signals(previous: dict[int, Any]) -> None:
    """Give back the handlers that :func:`install_quit_signals` replaced."""
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def exit_after_grace(grace: float = QUIT_GRACE) -> None:
    """End the process with status 0 in ``grace`` seconds unless it has exited by then.

    The orderly stop can be held up by what we do not control: a host that does not read our
    output leaves a write blocked in the full pipe, and the loop never sees the quit request.
    A supervisor's SIGTERM must end us within a second whatever the pipe does. Calling this
    again does not postpone the first deadline.
    """
    global _watchdog
    if _watchdog is None:
        _watchdog = threading.Timer(grace, _exit_now, args=(grace,))
        _watchdog.name = "quit-watchdog"
        _watchdog.daemon = True
        _watchdog.start()


def _exit_now(grace: float) -> None:
    # Only the log file hears about it: stderr may be a full pipe too, and would block us.
    record = logging.LogRecord(
        "fsm_agent.runtime.signals",
        logging.WARNING,
        __file__,
        0,
        "still running %.1f s after the quit signal (a write to the host blocked?): exiting now",
        (grace,),
        None,
    )
    for handler in logging.getLogger("fsm_agent").handlers:
        if isinstance(handler, logging.FileHandler):
            try:
                handler.handle(record)
                handler.flush()
            except Exception:  # exiting regardless
                pass
    os._exit(0)
