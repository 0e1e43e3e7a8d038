"""Terminal output for the human-facing modes (demo, chat, replay): UTF-8 and optional colour."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TextIO

_CODES = {
    "dim": "2",
    "bold": "1",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}


def utf8_output(stream: TextIO) -> TextIO:
    """Make ``stream`` write UTF-8 whatever the platform's code page (Japanese on Windows pipes).

    Args:
        stream: ``sys.stdout`` or ``sys.stderr``.

    Returns:
        The same stream, reconfigured where it can be.

    """
    reconfigure = getattr(stream, "reconfigure", None)
    if callable(reconfigure):
        # a stream already written to in another encoding stays as it is
        with contextlib.suppress(OSError, ValueError):
            reconfigure(encoding="utf-8", errors="replace")
    return stream


def ansi_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal that understands escape sequences (cursor and colour)."""
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        if not stream.isatty():
            return False
    except (AttributeError, ValueError):
        return False
    return _enable_windows_ansi() if sys.platform == "win32" else True


def wants_color(stream: TextIO) -> bool:
    """Colour only on such a terminal, and never when ``NO_COLOR`` is set."""
    return not os.environ.get("NO_COLOR") and ansi_terminal(stream)


def _enable_windows_ansi() -> bool:
    """Turn on escape sequences in a Windows console (off by default in the classic console)."""
    try:
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.GetStdHandle(-11)  # STD_OUTPUT_HANDLE
        mode = ctypes.c_uint32()
        if not kernel32.GetConsoleMode(handle, ctypes.byref(mode)):
            return False
        return bool(kernel32.SetConsoleMode(handle, mode.value | 0x0004))
    except Exception:  # no console, or an old Windows: plain text then
        return False


class Palette:
    """Wraps text in ANSI colours, or leaves it alone when colour is off.

    Args:
        enabled: Whether to colour.

    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        """Return ``text`` in ``styles`` (``"dim"``, ``"bold"``, ``"cyan"``, ...)."""
        if not self.enabled or not styles:
            return text
        codes = ";".join(_CODES[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"
