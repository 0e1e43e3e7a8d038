"""What a second speech unit costs as heard: the recorded audio of the real MMDAgent-EX.

Run from the repository root:  python benchmarks/heard_pause.py [RUNS_FOLDER]

Reads the ``heard-*`` runs under tests/data/mmdagent-ex-runs (see its README): the real host
speaking fsm-agent's scripted reply turn after turn, as one unit or, with ``--first-clause 4``,
as two (split at the 、), while the audio it played was recorded (``heard-intervals.tsv``: the
sound found in it, on the clock of ``host-stdout.tsv``). Each run's ``run.env`` gives its audio
``setting``, its ``units`` (one/two) and its reply. Prints, per setting, medians over the turns:

- per reply, the pause a listener hears at the ``、`` inside one unit, and between the two units
  (the longest silence inside the turn's speech); the latter taken apart into last sound ->
  SYNTH_EVENT_STOP of the first unit, fsm-agent's SYNTH_EVENT_STOP -> SYNTH_START, and
  SYNTH_START -> first sound of the second;
- per unit: SYNTH_START -> first sound, LIPSYNC_START -> first sound (how far the mouth runs
  ahead of the voice), last sound -> SYNTH_EVENT_STOP, the synthesizer's trailing silence
  (output that is not sound), and ``unit_pause.py``'s figure (last phoneme by LIPSYNC_START's
  durations -> SYNTH_EVENT_STOP) for comparison.

And from the ``stops-<setting>`` runs (another character, alias 9, stopped 1 s into a long
sentence, five times each way): SYNTH_STOP -> SYNTH_EVENT_STOP and how much of the sentence was
heard before and after the SYNTH_STOP; a cut-in (SYNTH_START while speaking) -> the old
sentence's SYNTH_EVENT_STOP.
"""

from __future__ import annotations

import itertools
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "tests" / "data" / "mmdagent-ex-runs"


@dataclass
class Unit:
    """One SYNTH_START of alias 0 and what the host said about it."""

    sent: float
    lip: float = 0.0
    phonemes: float = 0.0  # seconds, LIPSYNC_START's durations added up
    stop: float = 0.0


@dataclass
class Turn:
    """One user turn: the units of the answer and the sound heard until the next turn."""

    start: float
    units: list[Unit] = field(default_factory=list)
    sounds: list[tuple[float, float]] = field(default_factory=list)
    outputs: list[tuple[float, float]] = field(default_factory=list)


def read_tsv(path: Path) -> list[list[str]]:
    """Rows of a tab-separated file, comment lines left out."""
    text = path.read_text(encoding="utf-8")
    return [row.split("\t") for row in text.splitlines() if row and not row.startswith("#")]


def turns_of(folder: Path) -> list[Turn]:
    """The turns of one run, with alias 0's units and the heard intervals in each."""
    turns: list[Turn] = []
    for stamp, message in read_tsv(folder / "host-stdout.tsv"):
        t = float(stamp)
        kind, _, rest = message.partition("|")
        if kind == "RECOG_EVENT_STOP":
            turns.append(Turn(t))
        elif not turns:
            continue
        elif kind == "SYNTH_START" and rest.startswith("0|"):
            turns[-1].units.append(Unit(t))
        elif kind == "LIPSYNC_START" and rest.startswith("0|") and turns[-1].units:
            durations = rest.split("|", 1)[1].split(",")[1::2]
            turns[-1].units[-1].lip = t
            turns[-1].units[-1].phonemes = sum(int(d) for d in durations) / 1000
        elif message == "SYNTH_EVENT_STOP|0" and turns[-1].units:
            turns[-1].units[-1].stop = t
    ends = [turn.start for turn in turns[1:]] + [float("inf")]
    for start, end, kind in read_tsv(folder / "heard-intervals.tsv"):
        a, b = float(start), float(end)
        for turn, limit in zip(turns, ends, strict=True):
            if turn.start <= a < limit:
                (turn.sounds if kind == "sound" else turn.outputs).append((a, b))
    return turns


def longest_silence(sounds: list[tuple[float, float]]) -> tuple[float, float]:
    """(start, end) of the longest silence between two sounds."""
    gaps = [(b[0] - a[1], a[1], b[0]) for a, b in itertools.pairwise(sounds)]
    _, start, end = max(gaps)
    return start, end


def unit_figures(
    unit: Unit, sounds: list[tuple[float, float]], outputs: list[tuple[float, float]]
) -> dict[str, float]:
    """Per-unit timings; ``sounds`` are the unit's own, ``outputs`` the turn's."""
    first, last = sounds[0][0], sounds[-1][1]
    tail = [b for a, b in outputs if a <= last <= b]
    return {
        "start": first - unit.sent,
        "lip": first - unit.lip,
        "stop": unit.stop - last,
        "tail": (tail[0] - last) if tail else 0.0,
        "after": unit.stop - unit.lip - unit.phonemes,
    }


def measure(folder: Path) -> tuple[list[float], list[dict[str, float]], list[tuple[float, ...]]]:
    """The turns' break (longest silence), per-unit figures, and for two units the parts."""
    breaks: list[float] = []
    units: list[dict[str, float]] = []
    parts: list[tuple[float, ...]] = []
    for turn in turns_of(folder):
        done = [u for u in turn.units if u.stop]
        if not done or len(done) != len(turn.units) or len(turn.sounds) < 2:
            continue  # not spoken to its end, or nothing heard: say so below
        start, end = longest_silence(turn.sounds)
        breaks.append(end - start)
        if len(done) == 1:
            units.append(unit_figures(done[0], turn.sounds, turn.outputs))
            continue
        first, second = done[0], done[1]
        if not start <= first.stop <= end + 0.1:
            continue  # the longest silence is not the one between the units
        before = [s for s in turn.sounds if s[1] <= start]
        after = [s for s in turn.sounds if s[0] >= end]
        units.append(unit_figures(first, before, turn.outputs))
        units.append(unit_figures(second, after, turn.outputs))
        parts.append((first.stop - start, second.sent - first.stop, end - second.sent))
    return breaks, units, parts


def stops(folder: Path) -> tuple[list[float], list[float], list[float], list[float]]:
    """SYNTH_STOP -> STOP, sound before and after the SYNTH_STOP, cut-in -> the old STOP."""
    events = [(float(t), m) for t, m in read_tsv(folder / "host-stdout.tsv")]
    sounds = [
        (float(a), float(b)) for a, b, k in read_tsv(folder / "heard-intervals.tsv") if k == "sound"
    ]
    stop, before, after, cut = [], [], [], []
    for stamp, line in read_tsv(folder / "driver-sent.tsv"):
        t = float(stamp)
        ends = [u for u, m in events if u >= t and m == "SYNTH_EVENT_STOP|9"]
        if not ends:
            continue
        if line == "SYNTH_STOP|9":
            starts = [u for u, m in events if u <= t and m == "SYNTH_EVENT_START|9"]
            mine = [(a, b) for a, b in sounds if starts[-1] <= b and a <= ends[0] + 0.1]
            stop.append(ends[0] - t)
            before.append(sum(min(b, t) - a for a, b in mine if a < t))
            after.append(sum(b - max(a, t) for a, b in mine if b > t))
        elif line.startswith("SYNTH_START|9|"):
            began = sum(1 for u, m in events if u < t and m == "SYNTH_EVENT_START|9")
            ended = sum(1 for u, m in events if u < t and m == "SYNTH_EVENT_STOP|9")
            if began > ended:  # alias 9 was speaking: a cut-in
                cut.append(ends[0] - t)
    return stop, before, after, cut


FIGURES = (
    ("start", "SYNTH_START -> first sound"),
    ("lip", "LIPSYNC_START -> first sound"),
    ("stop", "last sound -> SYNTH_EVENT_STOP"),
    ("tail", "  of which trailing silence (not sound)"),
    ("after", "last phoneme -> SYNTH_EVENT_STOP (unit_pause)"),
)


def run_env(folder: Path) -> dict[str, str]:
    """The run's ``run.env``: setting, units (one/two), audio, replies, flags."""
    text = (folder / "run.env").read_text(encoding="utf-8")
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def med(values: list[float]) -> str:
    """Median in seconds, how many, and the range."""
    if not values:
        return "-"
    low, high = min(values), max(values)
    return f"{statistics.median(values):.2f} s (n={len(values)}, {low:.2f}-{high:.2f})"


def runs_by_setting(folder: Path) -> dict[str, dict[str, dict[str, Path]]]:
    """The heard-* runs under ``folder``: setting -> reply -> units ("one"/"two") -> run."""
    out: dict[str, dict[str, dict[str, Path]]] = {}
    for run in sorted(folder.glob("heard-*")):
        if (run / "run.env").is_file():
            env = run_env(run)
            out.setdefault(env["setting"], {}).setdefault(env["replies"], {})[env["units"]] = run
    return out


def report(folder: Path, setting: str, replies: dict[str, dict[str, Path]]) -> None:
    """Print one audio setting's figures."""
    first = next(iter(replies.values()))
    print(f"\n{setting}: {run_env(next(iter(first.values())))['audio']}")
    units: dict[str, list[dict[str, float]]] = {"one": [], "two": []}
    all_parts: list[tuple[float, ...]] = []
    for reply, runs in replies.items():
        print(f"  reply {reply}")
        if "one" in runs:
            pause, found, _ = measure(runs["one"])
            units["one"] += found
            print(f"    pause at its 、 inside one unit:   {med(pause)}")
        if "two" in runs:
            gap, found, parts = measure(runs["two"])
            units["two"] += found
            all_parts += parts
            print(f"    gap between its two units:        {med(gap)}")
    if all_parts:
        last, react, start = (statistics.median(c) for c in zip(*all_parts, strict=True))
        print(f"  the gap between two units, all replies (n={len(all_parts)}):")
        print(f"    = last sound -> SYNTH_EVENT_STOP {last:.2f} s")
        print(f"    + SYNTH_EVENT_STOP -> next SYNTH_START {react:.3f} s (fsm-agent)")
        print(f"    + SYNTH_START -> first sound {start:.2f} s")
    for name, figures in units.items():
        if figures:
            print(
                f"  per unit, all replies ({name} unit{'s' * (name == 'two')}, n={len(figures)}):"
            )
            for key, label in FIGURES:
                print(f"    {label:<47}{statistics.median(u[key] for u in figures):.2f} s")
    if (folder / f"stops-{setting}").is_dir():
        stop, before, after, cut = stops(folder / f"stops-{setting}")
        print("  SYNTH_STOP|9 1 s into a sentence:")
        print(f"    SYNTH_STOP -> SYNTH_EVENT_STOP                 {med(stop)}")
        print(f"    sentence heard before the SYNTH_STOP           {med(before)}")
        print(f"    sentence heard after it                        {med(after)}")
        print("  a cut-in (SYNTH_START|9 1 s into a sentence):")
        print(f"    SYNTH_START -> the old SYNTH_EVENT_STOP        {med(cut)}")


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else RUNS
    settings = runs_by_setting(folder)
    if not settings:
        print(f"no heard-* runs under {folder}")
        return
    print(f"Heard on the real MMDAgent-EX ({folder}); medians over the turns")
    for setting, replies in settings.items():
        report(folder, setting, replies)


if __name__ == "__main__":
    main()
