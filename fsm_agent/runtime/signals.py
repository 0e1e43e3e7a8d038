"""The quit signals: Ctrl-C, SIGTERM and (Windows) SIGBREAK end fsm-agent with status 0."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

_QUIT_SIGNALS = ("SIGINT", "SIGTERM", "SIGBREAK")


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
