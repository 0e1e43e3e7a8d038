"""``fsm-agent demo --fast`` end to end: the exchange it shows keeps the protocol's promises."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fsm_agent.demo import USER_3, SimHost, speaking_seconds
from fsm_agent.term import Palette, wants_color


def run_demo(*flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fsm_agent", "demo", "--fast", *flags],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


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
        "PLUGIN_EVENT_ENABLE|AnyScript",
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
    assert "SYNTH_START|0|mei_voice_normal|こんにちは！" in sent
    assert "SYNTH_START|0|mei_voice_normal|今日は晴れて、気温は23.5度くらいになりそうです。" in sent
    assert "SYNTH_START|0|mei_voice_normal|Sure!" in sent


def test_barge_in_stops_speech_and_keeps_only_what_was_heard(
    demo: subprocess.CompletedProcess[str],
) -> None:
    found = rows(demo.stdout)
    barge = found.index(("host->agent", f"RECOG_EVENT_STOP|{USER_3}"))
    after = [t for label, t in found[barge:] if label == "agent->host"]
    assert after[0] == "SYNTH_STOP|0"
    assert after[1] == "SYNTH_START|0|mei_voice_normal|どういたしまして。"
    history = [t for label, t in found if label == "history"]
    assert (
        history[-3] == "AI: Sure! Tokyo is the capital of Japan, home to about 14 million people."
    )
    assert "cherry" not in "".join(history)


def test_demo_record_replays_the_same(tmp_path: Path) -> None:
    record = tmp_path / "demo.jsonl"
    result = run_demo("--record", str(record))
    assert result.returncode == 0, result.stderr
    first = json.loads(record.read_text(encoding="utf-8").splitlines()[0])
    assert first["line"].endswith(" demo")
    replayed = subprocess.run(
        [sys.executable, "-m", "fsm_agent", "replay", str(record)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
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


def test_sim_host_speaks_longer_sentences_longer_and_answers_stop() -> None:
    assert speaking_seconds("こんにちは。") < speaking_seconds("こんにちは。今日はいい天気ですね。")
    posted: list[bytes] = []
    host = SimHost(posted.append, scale=100.0)
    host.receive("SYNTH_START|0|mei_voice_normal|Hello.")
    host.receive("SYNTH_STOP|0")
    host.receive("SYNTH_STOP|0")  # not speaking any more: nothing follows
    assert [line.decode().strip() for line in posted] == [
        "SYNTH_START|0|mei_voice_normal|Hello.",
        "SYNTH_EVENT_START|0",
        "LIPSYNC_START|0",
        "SYNTH_STOP|0",
        "SYNTH_EVENT_STOP|0",
        "SYNTH_STOP|0",
    ]


def test_no_colour_off_a_terminal_or_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not wants_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_color(sys.__stdout__)  # type: ignore[arg-type]
    assert Palette(False)("x", "bold") == "x"
    assert Palette(True)("x", "bold") == "\x1b[1mx\x1b[0m"
