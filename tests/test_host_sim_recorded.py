"""HostSim is the real host: each way it used to differ, checked against the recorded runs.

The recordings (tests/data/mmdagent-ex-runs) are of the real MMDAgent-EX with fsm-agent inside
(see their README). Each test below takes one behaviour from them and checks the simulator
against it, timings within the ranges recorded.
"""

from __future__ import annotations

import os
import signal
import sys

import pytest
from recordings import RUNS, child_received, delays_after, driver_lines, host_lines, spoken_whole

from fsm_agent.sim.host_process import HostProcess
from fsm_agent.sim.host_sim import CUT_LATENCY, STOP_LATENCY, HostSim

# The driver made character 9 speak in run2-4 and two. In run3 and run4 its two SYNTH_STARTs sent
# together while idle were both spoken whole, in run2 the second cut the first off 8 ms in: a
# race inside the host, which the simulator settles as a cut-in (as in run2).
SYNTH_RUNS = ("run2", "two")
EVENTS = ("SYNTH_EVENT_START", "SYNTH_EVENT_STOP", "LIPSYNC_STOP")


def lines(events: list[tuple[float, str]]) -> list[str]:
    return [line for _, line in events]


def recorded_events(run: str, alias: str) -> list[str]:
    """The synthesizer's events for ``alias`` in a recorded run, in order."""
    return [
        line.split("|")[0]
        for _, line in host_lines(run)
        if line.split("|")[0] in EVENTS and line.split("|")[1:2] == [alias]
    ]


def simulated_events(run: str, alias: str) -> tuple[list[str], HostSim]:
    """The same, from HostSim played the driver's lines of ``alias`` at their recorded times."""
    sim = HostSim()
    got: list[tuple[float, str]] = []
    for at, line in driver_lines(run):
        if line.split("|")[1:2] == [alias]:
            got += sim.on_child_line(line, at)
    got += sim.advance(float("inf"))
    return [line.split("|")[0] for _, line in got if line.split("|")[0] in EVENTS], sim


@pytest.mark.parametrize("run", SYNTH_RUNS)
def test_the_driver_s_lines_give_the_recorded_events_in_the_recorded_order(run: str) -> None:
    """Cut-ins, SYNTH_STOP while speaking and while idle, an unknown voice, empty text, ``|`` in
    the text, two SYNTH_STARTs at once: the simulator answers each as the real host did."""
    simulated, sim = simulated_events(run, "9")
    assert simulated == recorded_events(run, "9")
    assert sim.crashed is None


def _range(values: list[float]) -> tuple[float, float]:
    assert values, "the recordings hold no such case"
    return min(values), max(values)


def test_the_stop_after_synth_stop_comes_as_late_as_on_the_real_host() -> None:
    low, high = _range([d for run in RUNS for d in delays_after(run, "SYNTH_STOP")])
    assert 0.6 < low <= STOP_LATENCY <= high < 0.9  # 0.66-0.87 s recorded
    sim = HostSim()
    sim.on_child_line("SYNTH_START|0|mei_voice_normal|とても長い文章を話しています。", 0.0)
    assert lines(sim.on_child_line("SYNTH_STOP|0", 1.0)) == ["SYNTH_STOP|0", "LIPSYNC_STOP|0"]
    assert sim.advance(1.0 + low - 0.01) == []
    assert sim.advance(1.0 + high) == [(pytest.approx(1.0 + STOP_LATENCY), "SYNTH_EVENT_STOP|0")]


def test_after_a_cut_in_the_old_stop_comes_later_and_before_the_new_start() -> None:
    low, high = _range([d for run in RUNS for d in delays_after(run, "SYNTH_START")])
    assert low <= CUT_LATENCY <= high  # 6-880 ms recorded
    for run in RUNS:  # on the real host the old STOP always came before the new START
        seen = host_lines(run)
        for i, (_, line) in enumerate(seen):
            alias = line.split("|")[1] if "|" in line else ""
            before = [x for _, x in seen[:i] if x.split("|")[1:2] == [alias]]
            if line.startswith("LIPSYNC_STOP|") and before[-1].startswith("SYNTH_START|"):
                after = [x for _, x in seen[i + 1 :] if x.split("|")[1:2] == [alias]]
                events = [x.split("|")[0] for x in after if x.startswith("SYNTH_EVENT_")]
                if events:
                    assert events[0] == "SYNTH_EVENT_STOP", (run, line)
    sim = HostSim()
    sim.on_child_line("SYNTH_START|0|mei_voice_normal|最初の長い文です。", 0.0)
    assert lines(sim.on_child_line("SYNTH_START|0|mei_voice_normal|次の文。", 0.5)) == [
        "SYNTH_START|0|mei_voice_normal|次の文。",
        "LIPSYNC_STOP|0",
    ]
    later = lines(sim.advance(0.5 + CUT_LATENCY))
    assert later[:2] == ["SYNTH_EVENT_STOP|0", "SYNTH_EVENT_START|0"]


def test_synth_stop_while_idle_gives_only_lipsync_stop() -> None:
    # recorded: run2-4 send SYNTH_STOP|9 after its sentences ended
    for run in ("run2", "run3", "run4"):
        seen = host_lines(run)
        idle_stops = [
            i
            for i, (_, line) in enumerate(seen)
            if line == "SYNTH_STOP|9"
            and [x for _, x in seen[:i] if x.split("|")[1:2] == ["9"]][-1] == "SYNTH_EVENT_STOP|9"
        ]
        assert idle_stops
        for i in idle_stops:
            nxt = [x for _, x in seen[i + 1 :] if x.split("|")[1:2] == ["9"]]
            assert nxt[0] == "LIPSYNC_STOP|9" and nxt[1].startswith("SYNTH_START|")
    sim = HostSim()
    assert lines(sim.on_child_line("SYNTH_STOP|9", 0.0)) == ["SYNTH_STOP|9", "LIPSYNC_STOP|9"]
    assert sim.next_event_time() is None


def test_two_synth_starts_while_speaking_lose_the_middle_and_say_the_last_twice() -> None:
    recorded = [line for _, line in host_lines("two") if line.startswith("SYNTH_EVENT_")]
    simulated, sim = simulated_events("two", "9")
    assert simulated == recorded_events("two", "9")
    assert [e for e in simulated if e != "LIPSYNC_STOP"] == [x.split("|")[0] for x in recorded]
    said = [s.text for s in sim.spoken]
    assert "びーです。" not in said  # the middle one, never spoken
    assert said.count("しーです。") == 4  # the last one, twice, in each of the two rounds


def test_speaking_times_are_those_of_the_real_host() -> None:
    sim = HostSim()
    recorded = [
        s for run in RUNS for s in spoken_whole(run) if s.seconds > 2.5 and "|" not in s.text
    ]
    assert len(recorded) > 20
    for said in recorded:  # the real times vary by a second with the audio's start
        assert abs(sim.speaking_seconds(said.text) - said.seconds) < 0.25 * said.seconds + 1.0
    long = next(s for s in recorded if len(s.text) > 70)
    assert sim.speaking_seconds(long.text) == pytest.approx(long.seconds, rel=0.15)
    # 60 full-width digits: 24.75 s on the real host (PROTOCOL.md): 2.5 digits a second
    assert sim.speaking_seconds("１２３４５６７８９０" * 6 + "。") == pytest.approx(24.75, rel=0.05)


def test_the_host_starts_with_every_plugin_enabled_and_the_time() -> None:
    for run in ("run2", "run3", "run4", "two", "childdeath"):
        first = child_received(run)[:7]
        assert [x.split("|")[0] for x in first] == [x.split("|")[0] for x in HostSim.startup()]
        assert first[:6] == HostSim.startup()[:6]


@pytest.mark.parametrize(
    "text",
    [
        "Hello! My name is Mei.",
        "https://example.com/a/b?c=d",
        "1234567890" * 4,
        "123456789012345678901234567890123456789012345678901234567890。",  # run3's crash
    ],
)
def test_a_sentence_open_jtalk_cannot_take_kills_the_host(text: str) -> None:
    sim = HostSim()
    sim.on_child_line("SYNTH_START|0|mei_voice_normal|はい。", 0.0)
    line = f"SYNTH_START|0|mei_voice_normal|{text}"
    assert lines(sim.on_child_line(line, 5.0)) == ["SYNTH_EVENT_STOP|0", line]  # then nothing
    assert sim.crashed == 5.0 and [v.kind for v in sim.violations] == ["host_crash"]
    assert sim.on_child_line("SYNTH_START|0|mei_voice_normal|はい。", 6.0) == []  # dead
    assert sim.advance(100.0) == [] and sim.idle()
    english = HostSim()  # Flite takes the same text
    assert "SYNTH_EVENT_START|0" in lines(
        english.on_child_line(f"SYNTH_START|0|slt_voice_normal|{text}", 0.0)
    )


def test_the_recorded_crash_is_the_only_line_that_kills_the_simulated_host() -> None:
    crashers = []
    for run in RUNS:
        sim = HostSim()
        for _at, line in host_lines(run):
            fields = line.split("|")
            if fields[0] == "SYNTH_START" and len(fields) >= 4 and sim.would_crash(*fields[2:4]):
                crashers.append((run, line))
    assert crashers == [
        ("run3", "SYNTH_START|0|mei_voice_normal|" + "1234567890" * 6 + "。"),
    ]
    assert host_lines("run3")[-1][1] == crashers[0][1]  # the last line the host dispatched


def test_a_host_death_closes_the_child_s_stdin() -> None:
    child = "import sys\nprint('SYNTH_START|0|mei_voice_normal|Hello, world.', flush=True)\n"
    child += "sys.stdin.read()\nprint('eof', file=sys.stderr, flush=True)\n"
    with HostProcess([sys.executable, "-c", child]) as host:
        assert host.wait_until(lambda: host.sim.crashed is not None, 30)
        assert host.wait_until(lambda: "eof" in host.stderr_text, 30)
        assert host.close(timeout=30) == 0


def test_the_host_sigkills_its_child_when_it_quits() -> None:
    child = "import signal, sys, time\n"
    child += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('up', flush=True)\n"
    child += "time.sleep(60)\n"
    host = HostProcess([sys.executable, "-c", child]).start()
    assert host.wait_until(lambda: host.child_lines == ["up"], 30)
    code = host.quit(timeout=30)
    assert code == (-signal.SIGKILL if os.name != "nt" else 1)
