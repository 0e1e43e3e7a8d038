"""Text that grows piece by piece and is read rarely: appending never copies what came before.

A reply arrives in slices of a thousand characters, and a 5 MB one in thousands of them. Keeping
it in a ``str`` attribute with ``self.text += piece`` copies the whole text on every slice
(CPython extends a string in place only for a local variable), so the cost grows with the
square of the reply's length. :class:`TextBuilder` keeps the pieces and joins them only when the
text is read.
"""

from __future__ import annotations

__all__ = ["TextBuilder"]


class TextBuilder:
    """A string built by appending: each append costs its own length, each read joins once.

    Args:
        text: The text to start with.

    """

    __slots__ = ("_length", "_parts")

    def __init__(self, text: str = "") -> None:
        self._parts: list[str] = [text] if text else []
        self._length = len(text)

    def append(self, piece: str) -> None:
        """Add ``piece`` at the end."""
        if piece:
            self._parts.append(piece)
            self._length += len(piece)

    def clear(self) -> None:
        """Make the text empty."""
        self._parts.clear()
        self._length = 0

    def __len__(self) -> int:
        return self._length

    def __str__(self) -> str:
        if len(self._parts) > 1:
            self._parts[:] = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    def __repr__(self) -> str:
        return f"TextBuilder({str(self)!r})"
