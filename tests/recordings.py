"""The recorded runs of the real MMDAgent-EX (tests/data/mmdagent-ex-runs), read for tests.

``host-stdout.tsv`` holds every message the host dispatched, timestamped on one clock. From it:
the sentences each character spoke whole (SYNTH_EVENT_START -> SYNTH_EVENT_STOP, not cut), the
delay of the STOP after a SYNTH_STOP, and of the old sentence's STOP after a cut-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RUNS_DIR = Path(__file__).parent / "data" / "mmdagent-ex-runs"
RUNS = ("run2", "run3", "run4", "alllog", "two", "childdeath", "eof")


@dataclass(frozen=True)
class Said:
    """One sentence the host spoke to its natural end."""

    run: str
    alias: str
    voice: str
    text: str
    seconds: float  # SYNTH_EVENT_START -> SYNTH_EVENT_STOP


def host_lines(run: str) -> list[tuple[float, str]]:
    """``(time, line)`` of every message the host dispatched in ``run``."""
    path = RUNS_DIR / run / "host-stdout.tsv"
    out: list[tuple[float, str]] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if "\t" in raw:
            time, line = raw.split("\t", 1)
            out.append((float(time), line))
    return out


def spoken_whole(run: str) -> list[Said]:
    """The sentences of ``run`` spoken to their end.

    No SYNTH_START or SYNTH_STOP for that alias came between their START and their STOP.
    """
    out: list[Said] = []
    pending: dict[str, tuple[str, str]] = {}  # alias -> (voice, text) of the last SYNTH_START
    speaking: dict[str, tuple[float, str, str, bool]] = {}  # alias -> (start, voice, text, cut)
    for time, line in host_lines(run):
        fields = line.split("|")
        kind, alias = fields[0], fields[1] if len(fields) > 1 else ""
        if kind == "SYNTH_START" and len(fields) >= 4:
            if alias in speaking:
                speaking[alias] = (*speaking[alias][:3], True)
            pending[alias] = (fields[2], "|".join(fields[3:]))
        elif kind == "SYNTH_STOP" and alias in speaking:
            speaking[alias] = (*speaking[alias][:3], True)
        elif kind == "SYNTH_EVENT_START" and alias in pending:
            voice, text = pending.pop(alias)
            speaking[alias] = (time, voice, text, False)
        elif kind == "SYNTH_EVENT_STOP" and alias in speaking:
            start, voice, text, cut = speaking.pop(alias)
            if not cut:
                out.append(Said(run, alias, voice, text, time - start))
    return out


def delays_after(run: str, trigger: str) -> list[float]:
    """Seconds from each ``trigger`` of a speaking alias to its next SYNTH_EVENT_STOP.

    ``trigger`` is ``SYNTH_STOP``, or ``SYNTH_START`` for a cut-in.
    """
    out: list[float] = []
    speaking: set[str] = set()
    waiting: dict[str, float] = {}
    for time, line in host_lines(run):
        fields = line.split("|")
        kind, alias = fields[0], fields[1] if len(fields) > 1 else ""
        if kind == trigger and alias in speaking and alias not in waiting:
            waiting[alias] = time
        if kind == "SYNTH_EVENT_START":
            speaking.add(alias)
        elif kind == "SYNTH_EVENT_STOP":
            if alias in waiting:
                out.append(time - waiting.pop(alias))
            speaking.discard(alias)
    return out


def driver_lines(run: str) -> list[tuple[float, str]]:
    """``(time, line)`` of what the driver wrote to the host (a line without a time was sent
    together with the one before it)."""
    out: list[tuple[float, str]] = []
    path = RUNS_DIR / run / "driver-sent.tsv"
    for raw in path.read_text(encoding="utf-8").splitlines():
        if "\t" in raw:
            time, line = raw.split("\t", 1)
            out.append((float(time), line))
        elif raw and out:
            out.append((out[-1][0], raw))
    return out


def child_received(run: str) -> list[str]:
    """The lines an AnyScript child received in ``run``, in order."""
    path = RUNS_DIR / run / "child1-stdin.tsv"
    return [
        raw.split("\t", 2)[2]
        for raw in path.read_text(encoding="utf-8").splitlines()
        if raw.count("\t") >= 2
    ]
