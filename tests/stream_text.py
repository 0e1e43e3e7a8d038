"""The reply text of a backend's stream, for tests: its signs of work (Signal) are no text."""

from __future__ import annotations

from collections.abc import Iterable

from fsm_agent.core.backend import Signal


def text_of(stream: Iterable[str | Signal], into: list[str] | None = None) -> str:
    """Join the text pieces of ``stream`` (also appended to ``into`` when given)."""
    pieces = [] if into is None else into
    for piece in stream:
        if isinstance(piece, str):
            pieces.append(piece)
    return "".join(pieces)
