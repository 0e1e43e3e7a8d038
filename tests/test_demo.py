"""``fsm-agent demo --fast`` end to end: the exchange it shows keeps the protocol's promises."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from agent_cli import run_agent

from fsm_agent.backends.offline import OfflineStream
from fsm_agent.core.settings import DEFAULT_IDLE_PROMPT, ConfigError, Settings
from fsm_agent.core.voices import widen_ascii as W
from fsm_agent.modes.demo import REPLIES, USER_3, Demo, demo_backend, demo_host, demo_replies
from fsm_agent.modes.term import Palette, wants_color
from fsm_agent.sim.host_loop import HostLoop
from fsm_agent.sim.host_sim import HostSim


def run_demo(*flags: str) -> subprocess.CompletedProcess[str]:
    return run_agent("demo", "--fast", *flags)


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    return run_demo()


def rows(out: str) -> list[tuple[str, str]]:
    """(label, text) of each transcript line."""
    found = []
    for line in out.splitlines():
        _time, label, text = line.split(maxsplit=2)
        found.append((label, text))
    return found


def test_exits_cleanly_without_colour_when_piped(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, demo.stderr
    assert demo.stderr == ""
    assert "\x1b[" not in demo.stdout
    assert demo.stdout.splitlines()[0].split()[1:] == [
        "host->agent",
        "PLUGIN_EVENT_ENABLE|Variables",
    ]


def test_one_sentence_of_ours_at_a_time(demo: subprocess.CompletedProcess[str]) -> None:
    outstanding = False
    spoken = 0
    for label, text in rows(demo.stdout):
        if label == "agent->host" and text.startswith("SYNTH_START|0|"):
            assert not outstanding, f"a SYNTH_START before the previous STOP: {text}"
            outstanding = True
            spoken += 1
        elif label == "agent->host" and text == "SYNTH_STOP|0":
            outstanding = False  # a barge-in stopped it
        elif label == "host->agent" and text == "SYNTH_EVENT_STOP|0":
            outstanding = False
    assert spoken >= 6
    assert "SYNTH_EVENT_STOP|1   (another character)" in demo.stdout


def test_sentences_are_split_where_a_person_pauses(demo: subprocess.CompletedProcess[str]) -> None:
    sent = [t for label, t in rows(demo.stdout) if label == "agent->host"]
    assert "SYNTH_START|0|mei_voice_happy|" + W("こんにちは！") in sent  # [happy]: its voice
    assert (
        "SYNTH_START|0|mei_voice_normal|" + W("今日は晴れて、気温は23.5度くらいになりそうです。")
        in sent
    )
    assert "SYNTH_START|0|mei_voice_normal|" + W("Sure!") in sent


def test_barge_in_stops_speech_and_keeps_only_what_was_heard(
    demo: subprocess.CompletedProcess[str],
) -> None:
    found = rows(demo.stdout)
    barge = found.index(("host->agent", f"RECOG_EVENT_STOP|{USER_3}"))
    after = [t for label, t in found[barge:] if label == "agent->host"]
    assert after[0] == "SYNTH_STOP|0"
    assert after[1] == "MOTION_ADD|0|action|motions/action/ojigi.vmd|PART|ONCE   (gesture)"
    assert after[2] == "SYNTH_START|0|mei_voice_normal|" + W("どういたしまして。")
    history = [t for label, t in found if label == "history"]
    tokyo = history.index("user: Can you tell me about Tokyo in English?")
    # the sentence cut off by the barge-in was not heard to its end: only the mark stays
    assert history[tokyo + 1] == "AI: [nod]Sure! …"
    assert "cherry" not in "".join(history)


def test_demo_record_replays_the_same(tmp_path: Path) -> None:
    record = tmp_path / "demo.jsonl"
    result = run_demo("--record", str(record))
    assert result.returncode == 0, result.stderr
    first = json.loads(record.read_text(encoding="utf-8").splitlines()[0])
    assert first["line"].endswith(" demo")
    replayed = run_agent("replay", str(record))
    assert "# the same lines as in the recording" in replayed.stdout, replayed.stdout


def test_a_closed_pipe_ends_the_demo_quietly() -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "fsm_agent", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.readline()
    child.stdout.close()  # like `fsm-agent demo | head -1`
    assert child.wait(timeout=30) == 0
    assert child.stderr.read() == b""
    child.stderr.close()


def recording_delivery() -> tuple[list[str], threading.Event, Callable[[str], None]]:
    """A HostLoop ``deliver`` that keeps every line and flags the first SYNTH_EVENT_STOP|0."""
    posted: list[str] = []
    stopped = threading.Event()

    def deliver(line: str) -> None:
        posted.append(line)
        if line == "SYNTH_EVENT_STOP|0":
            stopped.set()

    return posted, stopped, deliver


def test_demo_host_speaks_longer_sentences_longer_and_answers_stop() -> None:
    sim = demo_host(scale=100.0)
    assert sim.speaking_seconds("こんにちは。") < sim.speaking_seconds(
        "こんにちは。今日はいい天気ですね。"
    )
    posted, stopped, deliver = recording_delivery()
    with HostLoop(deliver, sim) as host:
        host.child_line("SYNTH_START|0|slt_voice_normal|Hello.")
        host.child_line("SYNTH_STOP|0")
        assert stopped.wait(10.0)  # a little later, as the synthesizer stops
        host.child_line("SYNTH_STOP|0")  # not speaking any more: nothing follows
    assert [line.split("|")[:2] for line in posted] == [
        ["SYNTH_START", "0"],
        ["SYNTH_EVENT_START", "0"],
        ["LIPSYNC_START", "0"],
        ["SYNTH_STOP", "0"],
        ["LIPSYNC_STOP", "0"],  # at once, as the real host
        ["SYNTH_EVENT_STOP", "0"],
        ["SYNTH_STOP", "0"],
        ["LIPSYNC_STOP", "0"],  # not speaking: no SYNTH_EVENT_STOP, only this
    ]
    assert sim.violations == []
    assert [(s.text, s.cut) for s in sim.spoken] == [("Hello.", True)]


def test_host_loop_delivers_the_end_of_a_sentence_on_time() -> None:
    posted, stopped, deliver = recording_delivery()
    with HostLoop(deliver, demo_host(scale=0.01)) as host:
        host.startup()
        host.child_line("SYNTH_START|0|slt_voice_normal|Hi.")
        assert stopped.wait(10.0)
    assert posted[:7] == HostSim.startup()
    assert posted[-1] == "SYNTH_EVENT_STOP|0"


def test_the_demo_breaks_no_host_rule_in_process() -> None:
    demo = Demo(Settings(), 1 / 15, io.StringIO())
    assert demo.run() == 0
    assert demo.sim.violations == []
    assert len(demo.sim.spoken) >= 6
    assert demo.screen.out.getvalue().splitlines()[-1].endswith("no rule broken")  # type: ignore[attr-defined]


def test_a_broken_host_rule_fails_the_demo() -> None:
    out = io.StringIO()
    demo = Demo(Settings(), 1 / 15, out)
    # Now the barge-in's SYNTH_STOP is one.
    demo.sim.allowed_types = frozenset({"SYNTH_START", "MOTION_ADD"})
    assert demo.run() == 1
    assert [v.kind for v in demo.sim.violations] == ["unexpected_type"]
    assert "violation   unexpected_type" in out.getvalue()


def test_offline_stream_paces_and_reports_pieces_for_the_demo() -> None:
    news: list[str] = []
    backend = demo_backend(scale=0.01, notify=news.append)
    stream = backend.open([{"role": "user", "content": USER_3}])
    pieces = list(stream)
    assert "".join(pieces) == REPLIES[USER_3]
    assert news == [
        "request sent",
        f"first piece: {pieces[0]!r}",
        f"reply complete: {len(pieces)} pieces",
    ]
    assert stream.total_tokens == len(pieces)
    closed: list[tuple[int, bool]] = []
    early = OfflineStream("one two three", 0.0, on_end=lambda n, done: closed.append((n, done)))
    for _ in early:
        early.close()
    assert closed == [(1, False)] and early.total_tokens is None


def test_no_colour_off_a_terminal_or_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not wants_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_color(sys.__stdout__)  # type: ignore[arg-type]
    assert Palette(False)("x", "bold") == "x"
    assert Palette(True)("x", "bold") == "\x1b[1mx\x1b[0m"


# ---- --no-stream and --backend ------------------------------------------------------------


def llm_news(out: str) -> list[str]:
    return [text for label, text in rows(out) if label == "llm"]


def sent_lines(out: str) -> list[str]:
    """The speech lines we printed (gestures left out)."""
    return [
        text
        for label, text in rows(out)
        if label == "agent->host" and text.startswith(("SYNTH_START", "SYNTH_STOP"))
    ]


def test_no_stream_delivers_each_reply_whole_and_still_splits_it() -> None:
    result = run_demo("--no-stream")
    assert result.returncode == 0, result.stderr
    news = llm_news(result.stdout)
    requests = [n for n in news if n.startswith("request sent")]
    # Three answers and the idle remark (the greeting is a fixed text: no request).
    assert requests == ["request sent (no streaming: the reply comes whole)"] * 4
    assert [n for n in news if n.startswith("reply complete")] == ["reply complete: 1 pieces"] * 4
    assert not any(n.startswith("first piece") for n in news)
    sent = sent_lines(result.stdout)
    assert sent[2:5] == [  # one reply, arrived at once, spoken sentence by sentence
        "SYNTH_START|0|mei_voice_happy|" + W("こんにちは！"),
        "SYNTH_START|0|mei_voice_normal|" + W("今日は晴れて、気温は23.5度くらいになりそうです。"),
        "SYNTH_START|0|mei_voice_normal|" + W("散歩にぴったりの一日ですね。"),
    ]
    assert "SYNTH_STOP|0" in sent  # the barge-in still happens
    assert result.stdout.rstrip().endswith("no rule broken")


def test_script_backend_gives_the_replies(tmp_path: Path) -> None:
    script = tmp_path / "replies.txt"
    script.write_text("Hello there. How are you?\n---\nShort one.\n---\nBye.\n", encoding="utf-8")
    result = run_demo("--backend", f"script:{script}")
    assert result.returncode == 0, result.stderr
    assert sent_lines(result.stdout) == [
        "SYNTH_START|0|mei_voice_normal|" + W("こんにちは、メイです。"),  # the demo's greeting
        "SYNTH_START|0|mei_voice_normal|" + W("今日もよろしくね！"),
        "SYNTH_START|0|mei_voice_normal|" + W("Hello there."),
        "SYNTH_START|0|mei_voice_normal|" + W("How are you?"),
        "SYNTH_START|0|mei_voice_normal|" + W("Short one."),  # one sentence: the turn ends before
        "SYNTH_START|0|mei_voice_normal|" + W("Bye."),  # the scripted user speaks up again
        "SYNTH_START|0|mei_voice_normal|" + W("Hello there."),  # the idle remark: the script
        "SYNTH_START|0|mei_voice_normal|" + W("How are you?"),
    ]
    history = [text for label, text in rows(result.stdout) if label == "history"]
    assert history[1:] == [
        "user: (The user has just arrived.)",
        "AI: [wave]こんにちは、メイです。今日もよろしくね！",  # with its tag, for the model
        "user: こんにちは。今日はどんな一日になりそう？",
        "AI: Hello there. How are you?",
        "user: Can you tell me about Tokyo in English?",
        "AI: Short one.",
        f"user: {USER_3}",
        "AI: Bye.",
        f"user: {DEFAULT_IDLE_PROMPT}",
        "AI: Hello there. How are you?",
    ]


def test_echo_backend_repeats_the_user() -> None:
    result = run_demo("--backend", "echo", "--no-stream")
    assert result.returncode == 0, result.stderr
    sent = sent_lines(result.stdout)
    # the first clause goes first (first_clause = 8), also when the reply comes whole
    pair = [
        "SYNTH_START|0|mei_voice_normal|" + W("You said:"),
        "SYNTH_START|0|mei_voice_normal|" + USER_3,
    ]
    assert any(sent[i : i + 2] == pair for i in range(len(sent)))


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--backend", "openai"], "demo calls no server: --backend takes echo or script:FILE"),
        (["--backend", "script:no-such-file.txt"], "cannot read the reply script"),
    ],
)
def test_a_backend_the_demo_cannot_use_is_one_line(flags: list[str], message: str) -> None:
    result = run_demo(*flags)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr, result.stderr


def test_demo_replies_come_from_the_settings(tmp_path: Path) -> None:
    script = tmp_path / "r.txt"
    script.write_text("From the file.\n", encoding="utf-8")
    asked = [{"role": "user", "content": USER_3}]
    assert demo_replies(Settings(), backend_given=False)(asked) == REPLIES[USER_3]
    assert demo_replies(Settings(backend="echo"), True)(asked) == f"You said: {USER_3}"
    assert demo_replies(Settings(backend=f"script:{script}"), True)(asked) == "From the file."
    with pytest.raises(ConfigError):
        demo_replies(Settings(), backend_given=True)


def test_the_avatar_greets_gestures_and_makes_a_remark(
    demo: subprocess.CompletedProcess[str],
) -> None:
    ours = [t for label, t in rows(demo.stdout) if label == "agent->host"]
    wave = "MOTION_ADD|0|action|motions/action/wavehand.vmd|PART|ONCE   (gesture)"
    assert ours[:2] == [wave, "SYNTH_START|0|mei_voice_normal|" + W("こんにちは、メイです。")]
    happy = ours.index("SYNTH_START|0|mei_voice_happy|" + W("こんにちは！"))
    assert ours[happy - 1].startswith("MOTION_ADD|0|action|motions/action/mei/mei_laugh.vmd")
    remark = "SYNTH_START|0|mei_voice_normal|" + W(
        "そういえば、東京の桜は三月の終わりごろが見ごろですよ。"
    )
    assert ours[-1] == remark
    assert not any("[" in t for t in ours if t.startswith("SYNTH_START"))
