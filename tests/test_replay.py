"""``fsm-agent replay``: host transcripts through the controller on a simulated clock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SYNTH = "SYNTH_START|0|mei_voice_normal|"


def replay(path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fsm_agent", "replay", str(path), *flags],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_plain_lines_one_sentence_per_stop(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "plain.txt",
        "PLUGIN_EVENT_ENABLE|AnyScript\n"
        "RECOG_EVENT_STOP|こんにちは。元気？\n"
        "SYNTH_START|0|mei_voice_normal|You said: こんにちは。\n"  # our own line echoed back
        "SYNTH_EVENT_START|0\n"
        "SYNTH_EVENT_STOP|1\n"  # another character: must not release our next sentence
        "CURRENT_TIME|12|00\n"
        "SYNTH_EVENT_STOP|0\n"
        "SYNTH_EVENT_START|0\n"
        "SYNTH_EVENT_STOP|0\n",
    )
    result = replay(path, "--sent-only")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [SYNTH + "You said: こんにちは。", SYNTH + "元気？"]


def test_trace_shows_states_and_the_turn(tmp_path: Path) -> None:
    path = write(tmp_path, "t.txt", "RECOG_EVENT_STOP|Hi. Bye.\nSYNTH_EVENT_STOP|0\n")
    out = replay(path).stdout
    assert "host>   RECOG_EVENT_STOP|Hi. Bye." in out
    assert "state   Speaking" in out
    assert "agent>  SYNTH_START|0|mei_voice_normal|You said: Hi." in out
    # "Bye." got neither START nor STOP: its deadline passed and it does not count as heard
    assert "turn    done; heard: 'You said: Hi.'" in out
    assert "# sent 2 lines; final state Idle" in out
    assert "\x1b[" not in out  # piped: no colour


def test_alllog_times_let_a_lost_stop_pass_its_deadline(tmp_path: Path) -> None:
    # The STOP of the first sentence never comes; 30 s later the deadline has moved on, so the
    # second sentence was sent without it, and with no real waiting.
    path = write(
        tmp_path,
        "alllog.txt",
        "[12:00:00.000] [0] Plugin_Julius: Sent: RECOG_EVENT_STOP|One. Two.\n"
        "\n"
        "[12:00:00.100] [6] Plugin_Open_JTalk: Sent: SYNTH_EVENT_START|0\n"
        "[12:00:30.000] [1800] Plugin_Julius: Sent: RECOG_EVENT_START\n",
    )
    result = replay(path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    sent = [line for line in lines if "agent>" in line]
    assert sent[0].endswith(SYNTH + "You said: One.")
    assert sent[1].endswith(SYNTH + "Two.")
    assert float(sent[1].split()[0]) > 5.0  # sent at the simulated deadline, not at once


def test_barge_in_stops_speech_and_answers_the_new_utterance(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "barge.txt",
        "RECOG_EVENT_STOP|First. Second.\n"
        "SYNTH_EVENT_START|0\n"
        "RECOG_EVENT_STOP|Stop!\n"
        "SYNTH_EVENT_STOP|0\n"  # the late STOP after our SYNTH_STOP: swallowed
        "SYNTH_EVENT_START|0\n"
        "SYNTH_EVENT_STOP|0\n",
    )
    assert replay(path, "--sent-only").stdout.splitlines() == [
        SYNTH + "You said: First.",
        "SYNTH_STOP|0",
        SYNTH + "You said: Stop!",
    ]


def test_script_backend_and_determinism(tmp_path: Path) -> None:
    script = write(tmp_path, "replies.txt", "Hello there. How are you?\n---\nSecond reply.\n")
    path = write(
        tmp_path,
        "t.txt",
        "RECOG_EVENT_STOP|a\nSYNTH_EVENT_STOP|0\nSYNTH_EVENT_STOP|0\nRECOG_EVENT_STOP|b\n",
    )
    first = replay(path, "--backend", f"script:{script}")
    assert first.returncode == 0, first.stderr
    assert first.stdout == replay(path, "--backend", f"script:{script}").stdout
    sent = [
        line.split("agent>")[1].strip() for line in first.stdout.splitlines() if "agent>" in line
    ]
    assert sent == [SYNTH + "Hello there.", SYNTH + "How are you?", SYNTH + "Second reply."]


def test_settings_flags_apply(tmp_path: Path) -> None:
    path = write(tmp_path, "t.txt", "RECOG_EVENT_STOP|Hi.\nSYNTH_EVENT_STOP|7\n")
    out = replay(path, "--sent-only", "--alias", "7", "--voice", "slt_voice_normal").stdout
    assert out.splitlines() == ["SYNTH_START|7|slt_voice_normal|You said: Hi."]


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    result = replay(tmp_path / "nope.txt")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("fsm-agent: error: cannot read")
    assert len(result.stderr.strip().splitlines()) == 1
