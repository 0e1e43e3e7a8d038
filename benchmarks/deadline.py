"""How long fsm-agent waits for each sentence's SYNTH_EVENT_STOP, against the real host.

For every sentence the real MMDAgent-EX spoke whole in the recorded runs
(tests/data/mmdagent-ex-runs, Open JTalk's mei_voice_normal), prints how long it took from its
SYNTH_EVENT_START to its SYNTH_EVENT_STOP, the estimate from its text, and the wait with the
default settings: for a voice not heard yet, and once the voice's pace is learnt from the other
runs. The wait minus the real time is how late a lost STOP would be given up on. Ends with the
worst cases and the 60 full-width digits of PROTOCOL.md (24.75 s on the real host). Run from
the repository root:

    python3 benchmarks/deadline.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from recordings import RUNS, spoken_whole  # noqa: E402

from fsm_agent.core.settings import Settings  # noqa: E402
from fsm_agent.core.speech_time import SpeechTimer, estimate  # noqa: E402

ENGINE = "open_jtalk"


def main() -> None:
    """Print the table and the worst cases."""
    defaults = Settings()
    said = [
        s
        for run in RUNS
        for s in spoken_whole(run)
        if s.voice == "mei_voice_normal" and s.seconds >= 0.3
    ]

    def timer() -> SpeechTimer:
        return SpeechTimer(
            defaults.synth_timeout, defaults.synth_seconds_per_char, defaults.synth_speed
        )

    print(
        f"synth_timeout {defaults.synth_timeout:g} s, synth_seconds_per_char "
        f"{defaults.synth_seconds_per_char:g}, synth_speed {defaults.synth_speed:g}"
    )
    print(
        f"{'real s':>7} {'estimate':>8} {'wait new':>8} {'late':>6} {'wait heard':>10} "
        f"{'late':>6}  sentence"
    )
    worst_new = worst_heard = (0.0, "")
    cut = 0
    for s in said:
        new = timer().deadline(s.text, s.voice, ENGINE)
        learnt = timer()
        for other in said:
            if other.run != s.run:
                learnt.heard(other.text, other.voice, ENGINE, other.seconds)
        heard = learnt.deadline(s.text, s.voice, ENGINE)
        cut += (new <= s.seconds) + (heard <= s.seconds)
        worst_new = max(worst_new, (new - s.seconds, s.text))
        worst_heard = max(worst_heard, (heard - s.seconds, s.text))
        print(
            f"{s.seconds:7.2f} {estimate(s.text, ENGINE):8.2f} {new:8.2f} {new - s.seconds:6.2f} "
            f"{heard:10.2f} {heard - s.seconds:6.2f}  {s.run}: {s.text[:24]}"
        )
    digits = "１２３４５６７８９０" * 6 + "。"
    print(f"\n{len(said)} sentences; cut off (wait <= real): {cut}")
    print(
        f"worst give-up after the real end, voice not heard yet: {worst_new[0]:.2f} s "
        f"({worst_new[1][:24]})"
    )
    print(
        f"worst give-up after the real end, voice heard: {worst_heard[0]:.2f} s "
        f"({worst_heard[1][:24]})"
    )
    new = timer().deadline(digits, "v", ENGINE)
    learnt = timer()
    for other in said:
        learnt.heard(other.text, "v", ENGINE, other.seconds)
    heard = learnt.deadline(digits, "v", ENGINE)
    print(
        f"60 full-width digits, 24.75 s on the real host: wait {new:.2f} s for a voice not heard "
        f"yet ({new - 24.75:.2f} s late), {heard:.2f} s once heard ({heard - 24.75:.2f} s late)"
    )


if __name__ == "__main__":
    main()
