"""The simulated MMDAgent-EX host: the pure rules, then the process driver with a tiny child."""

from __future__ import annotations

import sys
import textwrap

import pytest

from fsm_agent.sim.host_process import HostProcess
from fsm_agent.sim.host_sim import HostSim, Spoken

START = "SYNTH_START|0|slt_voice_normal|"  # English (Flite): ASCII text is fine
JA = "SYNTH_START|0|mei_voice_normal|"  # Japanese (Open JTalk): ASCII-heavy text kills the host


def lines(events: list[tuple[float, str]]) -> list[str]:
    return [line for _, line in events]


def sim(**kwargs: object) -> HostSim:
    kwargs.setdefault("chars_per_second", 10.0)
    kwargs.setdefault("min_seconds", 0.0)
    kwargs.setdefault("lipsync", False)
    return HostSim(**kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------ pure rules


def test_synth_start_is_echoed_started_and_stopped_after_speaking_time() -> None:
    host = sim()
    out = host.on_child_line(START + "0123456789", 1.0)
    assert out == [(1.0, START + "0123456789"), (1.0, "SYNTH_EVENT_START|0")]
    assert host.next_event_time() == pytest.approx(2.0)
    assert host.advance(1.5) == []
    assert host.speaking("0")
    assert host.advance(9.0) == [(pytest.approx(2.0), "SYNTH_EVENT_STOP|0")]
    assert not host.speaking() and host.idle()
    assert host.spoken == [Spoken("0", "0123456789", 1.0, pytest.approx(2.0), False)]
    assert host.violations == []


def test_longer_text_speaks_longer() -> None:
    host = HostSim()
    assert host.speaking_seconds("a" * 40) > host.speaking_seconds("a" * 10) > 0


def test_lipsync_follows_start() -> None:
    out = lines(HostSim().on_child_line(START + "hello", 0.0))
    assert out[1] == "SYNTH_EVENT_START|0" and out[2].startswith("LIPSYNC_START|0|")


def test_every_line_is_echoed_and_unknown_types_are_violations() -> None:
    host = sim()
    assert lines(host.on_child_line("MOTION_ADD|0|a|b.vmd|PART|ONCE", 0.0)) == [
        "MOTION_ADD|0|a|b.vmd|PART|ONCE"
    ]
    assert [v.kind for v in host.violations] == ["unexpected_type"]
    allowed = sim(allowed_types={"SYNTH_START", "SYNTH_STOP", "MOTION_ADD"})
    allowed.on_child_line("MOTION_ADD|0|a|b.vmd|PART|ONCE", 0.0)
    assert allowed.violations == []


def test_empty_line_ignored_and_trailing_cr_stripped() -> None:
    host = sim()
    assert host.on_child_line("", 0.0) == []
    assert lines(host.on_child_line(START + "hi\r", 0.0)) == [START + "hi", "SYNTH_EVENT_START|0"]
    assert host.violations == []


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("SYNTH_START|0|no_such_voice|hello", None),
        ("SYNTH_START|0|mei_voice_normal|", "empty_text"),
        ("SYNTH_START|0|mei_voice_normal", "malformed"),
        ("SYNTH_START", "malformed"),
    ],
)
def test_no_events_for_unknown_voice_empty_text_or_malformed(line: str, kind: str | None) -> None:
    host = sim()
    assert lines(host.on_child_line(line, 0.0)) == [line]  # only the echo
    assert host.next_event_time() is None and host.spoken == []
    assert [v.kind for v in host.violations] == ([kind] if kind else [])
    if kind is None:
        assert "unknown voice" in host.ignored[0][2]


def test_burge_in_cuts_off_and_is_a_violation() -> None:
    host = sim(cut_latency=0.1)
    host.on_child_line(START + "first sentence", 0.0)
    out = lines(host.on_child_line(START + "second", 0.5))
    assert out == [START + "second"]  # the old STOP and the new START come a little later
    assert [v.kind for v in host.violations] == ["burged_in"]
    assert host.spoken[0] == Spoken("0", "first sentence", 0.0, 0.5, True)
    assert host.advance(0.6) == [
        (pytest.approx(0.6), "SYNTH_EVENT_STOP|0"),
        (pytest.approx(0.6), "SYNTH_EVENT_START|0"),
    ]
    # The first sentence's own STOP is gone: only the second one's comes.
    assert lines(host.advance(100.0)) == ["SYNTH_EVENT_STOP|0"]


def test_next_sentence_after_stop_is_no_violation() -> None:
    host = sim()
    host.on_child_line(START + "first", 0.0)
    stop_time = host.next_event_time()
    assert stop_time is not None
    out = host.on_child_line(START + "second", stop_time + 0.01)
    assert lines(out)[:2] == ["SYNTH_EVENT_STOP|0", START + "second"]
    assert host.violations == []


def test_other_alias_speaks_independently() -> None:
    host = sim()
    host.on_child_line(START + "ours", 0.0)
    host.on_child_line("SYNTH_START|1|slt_voice_normal|theirs", 0.1)
    assert host.violations == [] and host.speaking("0") and host.speaking("1")


def test_synth_stop_gives_a_late_stop_only_while_speaking() -> None:
    host = sim(stop_latency=0.05)
    assert lines(host.on_child_line("SYNTH_STOP|0", 0.0)) == ["SYNTH_STOP|0"]
    assert host.next_event_time() is None
    host.on_child_line(START + "a long sentence to interrupt", 1.0)
    assert lines(host.on_child_line("SYNTH_STOP|0", 1.2)) == ["SYNTH_STOP|0"]  # not at once
    assert host.advance(1.2) == []
    assert host.advance(10.0) == [(pytest.approx(1.25), "SYNTH_EVENT_STOP|0")]
    assert host.spoken[0].cut and host.spoken[0].end == 1.2
    assert host.violations == []


def test_lost_stop_every_nth() -> None:
    host = sim(lose_stop_every=2)
    got = []
    t = 0.0
    for i in range(4):
        host.on_child_line(f"{START}sentence {i}", t)
        t += 100.0
        got += lines(host.advance(t))
    assert got == ["SYNTH_EVENT_STOP|0", "SYNTH_EVENT_STOP|0"]
    assert len(host.lost_stops) == 2 and not host.speaking()


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        (START + "a|b", "extra_fields"),
        ("SYNTH_STOP|0|x", "extra_fields"),
        (START + "tab\there", "control_char"),
        (START + "nul\x00", "control_char"),
        (START + "x" * 2000, "too_long"),
        (" SYNTH_START|0|mei_voice_normal|x", "unexpected_type"),
        ("KEYVALUE_SET|_RequestedURL|http://example.com", "unexpected_type"),
    ],
)
def test_lines_a_controller_never_prints_are_flagged(line: str, kind: str) -> None:
    host = sim()
    host.on_child_line(line, 0.0)
    assert kind in [v.kind for v in host.violations]


def test_bad_utf8_is_flagged() -> None:
    host = sim()
    host.on_child_line(b"SYNTH_START|0|mei_voice_normal|\xff", 0.0)
    assert [v.kind for v in host.violations] == ["bad_utf8"]


def test_chatter_is_unrelated_traffic_of_other_aliases() -> None:
    host = HostSim(other_aliases=("2", "3"))
    first, second = lines(host.chatter(0.0)), lines(host.chatter(1.0))
    assert "SYNTH_EVENT_STOP|2" in first and "SYNTH_EVENT_STOP|3" in second
    assert any(line.startswith("CURRENT_TIME|") for line in first)
    assert not any(line.endswith("|0") for line in first + second)
    assert host.violations == [] and host.idle()


# ------------------------------------------------------------------ the process driver

CHILD = textwrap.dedent(
    """
    import sys
    pending = []
    for line in sys.stdin:
        line = line.rstrip("\\n")
        if line.startswith("RECOG_EVENT_STOP|"):
            text = line.split("|", 1)[1]
            pending = [text + " one.", text + " two."]
            print("SYNTH_START|0|slt_voice_normal|" + pending.pop(0), flush=True)
        elif line == "SYNTH_EVENT_STOP|0" and pending:
            print("SYNTH_START|0|slt_voice_normal|" + pending.pop(0), flush=True)
        elif line == "BARGE":
            print("SYNTH_START|0|slt_voice_normal|rude", flush=True)
            print("SYNTH_START|0|slt_voice_normal|ruder", flush=True)
        elif line == "UTF8":
            print("SYNTH_START|0|mei_voice_normal|\u3053\u3093\u306b\u3061\u306f", flush=True)
    print("bye", file=sys.stderr, flush=True)
    sys.exit(3)
    """
)


def child_host(**kwargs: object) -> HostProcess:
    host_sim = HostSim(chars_per_second=200.0, min_seconds=0.01, other_aliases=("1",))
    return HostProcess([sys.executable, "-u", "-c", CHILD], host_sim, **kwargs)  # type: ignore[arg-type]


def test_process_speaks_sentence_by_sentence_and_exits_on_eof() -> None:
    with child_host(startup=True) as host:
        host.speech_start()
        host.say("hello")
        assert host.wait_until(lambda: len(host.sim.spoken) == 2, timeout=30)
        assert host.wait_idle(quiet=0.1, timeout=30)
        assert [s.text for s in host.sim.spoken] == ["hello one.", "hello two."]
        assert host.sim.violations == []
        code = host.close(timeout=30)
    assert code == 3
    assert "bye" in host.stderr_text
    sent = [e.line for e in host.transcript if e.sender == "host"]
    assert sent[:9] == [
        *HostSim.startup(),
        "RECOG_EVENT_START",
        "RECOG_EVENT_STOP|hello",
    ]
    # Each of our lines is echoed back before its events.
    assert sent.index(START + "hello one.") < sent.index("SYNTH_EVENT_START|0")
    assert host.child_lines == [START + "hello one.", START + "hello two."]
    times = [e.time for e in host.transcript]
    assert times == sorted(times)


def test_process_records_burge_in_and_chatter_and_utf8() -> None:
    with child_host() as host:
        host.chatter()
        host.send("BARGE")
        assert host.wait_until(lambda: len(host.sim.spoken) == 2, timeout=30)
        assert host.wait_idle(quiet=0.1, timeout=30)
        host.send("UTF8")
        assert host.wait_until(lambda: len(host.sim.spoken) == 3, timeout=30)
        assert host.wait_idle(quiet=0.1, timeout=30)
        assert [v.kind for v in host.sim.violations] == ["burged_in"]
        assert host.sim.spoken[-1].text == "こんにちは"
        assert "SYNTH_EVENT_STOP|1" in [e.line for e in host.transcript]
    assert host.returncode == 3


def test_process_killed_when_it_does_not_exit() -> None:
    host = HostProcess([sys.executable, "-c", "import time; time.sleep(60)"]).start()
    code = host.close(timeout=0.5)
    assert code != 0
