"""The chat mode's screen: the typewriter line of the reply being spoken, and log lines above it.

Printed sentences wrap at the terminal's width (wide CJK characters count two columns); a log
line or a note arrives above the line being typed, which is then redrawn.
"""

from __future__ import annotations

import logging
import shutil
import sys
import threading
from typing import TextIO

from fsm_agent.core.events import TurnDone
from fsm_agent.modes.term import Palette

__all__ = ["Screen", "ScreenLog"]


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _after_sentence(tail: str, sentence: str, window: int = 80) -> str:
    """Drop from ``tail`` the streamed text that ``sentence`` was made of.

    The spoken sentence is the streamed text cleaned (markdown, emoji, spaces), so its
    characters are looked for in order, each within ``window`` characters of the last.
    """
    at = 0
    for ch in sentence:
        if ch.isspace():
            continue
        found = tail.find(ch, at, at + window)
        if found >= 0:
            at = found + 1
    return tail[at:].lstrip()


class Screen:
    """What the user sees; safe from any thread.

    On a terminal the reply streams in on a live line (typewriter) and each sentence is printed
    for good, marked with ``»``, when its ``SYNTH_START`` goes out. Piped, only the marked
    sentences are printed, one per line.

    Args:
        out: The output stream.
        live: Redraw a live line (a terminal that can return to the line's start and erase it).
        paint: Colours.

    """

    def __init__(self, out: TextIO, live: bool, paint: Palette) -> None:
        self.out = out
        self.live = live
        self.paint = paint
        self._lock = threading.Lock()
        self._tail = ""
        self._shown = False
        self.active = False

    def piece(self, text: str) -> None:
        """A piece of the reply arrived."""
        with self._lock:
            if not self.active:
                return  # a cancelled stream's last piece
            self._tail += text
            if self.live:
                self._draw_tail()

    def sentence(self, text: str) -> None:
        """A sentence is being spoken."""
        with self._lock:
            self._tail = _after_sentence(self._tail, text)
            self._clear_tail()
            self.out.write(self.paint("» ", "green") + self.paint(text, "bold") + "\n")
            if self.live and self.active:
                self._draw_tail()
            self.out.flush()

    def turn_over(self, done: TurnDone | None) -> None:
        """The reply ended (or there was none to stop)."""
        with self._lock:
            self.active = False
            self._clear_tail()
            if done is not None and done.outcome == "interrupted":
                rest = " ".join(self._tail.split())
                note = f"  ⏹ interrupted{': ' + rest[:60] + '…' if rest else ''}"
                self.out.write(self.paint(note, "dim") + "\n")
            elif done is not None and done.outcome == "failed":
                self.out.write(
                    self.paint("  (the reply failed; see the warning above)", "red") + "\n"
                )
            elif done is not None and done.outcome == "empty":
                self.out.write(self.paint("  (an empty reply)", "dim") + "\n")
            self._tail = ""
            self.out.flush()

    def say(self, text: str, *styles: str) -> None:
        """Print a line of the chat itself."""
        with self._lock:
            self._clear_tail()
            self.out.write(self.paint(text, *styles) + "\n")
            self.out.flush()

    def interject(self, text: str) -> None:
        """Print a log line on stderr between the chat's lines, never inside the live line."""
        with self._lock:
            self._clear_tail()
            self.out.flush()
            sys.stderr.write(text + "\n")
            sys.stderr.flush()
            if self.live and self.active:
                self._draw_tail()

    def _draw_tail(self) -> None:
        columns = max(20, shutil.get_terminal_size().columns - 4)
        shown = " ".join(self._tail.split())
        while shown and _width(shown) > columns:
            shown = shown[1:]
        self._clear_tail()
        if shown:
            self.out.write("\r\x1b[K" + self.paint("… " + shown, "dim"))
            self._shown = True
        self.out.flush()

    def _clear_tail(self) -> None:
        if self._shown:
            self.out.write("\r\x1b[K")
            self._shown = False


class ScreenLog(logging.Handler):
    """The chat's log on the terminal: between the chat's lines, never inside the live line."""

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.screen = screen

    def emit(self, record: logging.LogRecord) -> None:
        """Print one formatted record."""
        try:
            self.screen.interject(self.format(record))
        except Exception:
            self.handleError(record)
