"""Last phoneme -> SYNTH_EVENT_STOP on the recorded MMDAgent-EX, and the pauses inside a unit.

Run from the repository root:  python benchmarks/unit_pause.py [RUNS_FOLDER]

Reads the recorded runs of the real host (default ../shared/data/mmdagent-ex-runs, see its
README): for every sentence spoken to its end, the time from its last phoneme (LIPSYNC_START's
phoneme durations added up from LIPSYNC_START) to its SYNTH_EVENT_STOP, and the delay from
SYNTH_EVENT_START to LIPSYNC_START; and the pauses (``pau``) the synthesizer puts inside one
unit, at a 、 for instance.

What the first figure is NOT: the silence a listener hears between two units. The recorded
audio (``benchmarks/heard_pause.py``) shows that SYNTH_EVENT_STOP comes with the end of the
sound (plus the synthesizer's trailing silence, 0.2-0.3 s, which LIPSYNC_START leaves out), and
that the ~1.9 s of these runs was spent BEFORE the voice: on that headless setup the voice starts
~1.7 s after LIPSYNC_START. The host reopens its PortAudio stream for every sentence (ALSA's
pulse plugin reconnects it at each start); the PulseAudio null sink, left with no stream for that
moment, falls back to its 2 s latency and renders 2 s of silence ahead, and its rewind for the
new stream stops at 66.7 ms, so the sentence is queued behind the rest. With the sink held at
20 ms the voice starts 0.05 s after LIPSYNC_START, this figure is 0.13-0.26 s, and two units are
heard 0.25-0.37 s apart, less than the 0.52-0.66 s pause at the 、 inside one unit. On Windows the
host writes to one waveOut device opened once, and SYNTH_EVENT_STOP comes when its last buffer
has been played.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT.parent / "shared" / "data" / "mmdagent-ex-runs"


def measure(folder: Path) -> tuple[list[float], list[float], list[int]]:
    """Per completed unit: seconds after the last phoneme, seconds to the first; pau lengths."""
    after: list[float] = []
    before: list[float] = []
    pauses: list[int] = []
    for path in sorted(folder.glob("*/host-stdout.tsv")):
        start: float | None = None
        speech = lip_at = 0.0
        cut = False
        for row in path.read_text(encoding="utf-8").splitlines():
            stamp, _, message = row.partition("\t")
            t = float(stamp)
            kind, _, rest = message.partition("|")
            if kind == "SYNTH_EVENT_START":
                start, speech, cut = t, 0.0, False
            elif kind == "LIPSYNC_START" and start is not None:
                fields = rest.split("|", 1)[1].split(",")
                durations = [int(d) for d in fields[1::2]]
                speech = sum(durations) / 1000
                lip_at = t
                pauses += [d for p, d in zip(fields[0::2], durations, strict=True) if p == "pau"]
            elif kind in ("LIPSYNC_STOP", "SYNTH_STOP", "SYNTH_START") and start is not None:
                cut = True  # cut off, or cut in on: not spoken to its end
            elif kind == "SYNTH_EVENT_STOP" and start is not None:
                rest_after = t - lip_at - speech
                if speech and not cut and rest_after > 0:
                    after.append(rest_after)
                    before.append(lip_at - start)
                start = None
    return after, before, pauses


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else RUNS
    after, before, pauses = measure(folder)
    if not after:
        print(f"no completed units found under {folder}")
        return
    q = statistics.quantiles(after, n=10)
    print(f"{len(after)} units spoken to their end, in {folder}")
    print(
        f"last phoneme -> SYNTH_EVENT_STOP: median {statistics.median(after):.2f} s "
        f"(10th-90th percentile {q[0]:.2f}-{q[-1]:.2f} s)"
    )
    print(f"SYNTH_EVENT_START -> LIPSYNC_START: median {statistics.median(before) * 1000:.0f} ms")
    print(f"pau inside a unit: {min(pauses)}-{max(pauses)} ms ({len(pauses)} seen)")


if __name__ == "__main__":
    main()
