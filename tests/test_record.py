"""``--record FILE``: the exchange as JSON lines; replaying it gives the same lines."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path

from agent_cli import run_agent

from fsm_agent.core.voices import widen_ascii as W
from fsm_agent.runtime.record import Recorder

SYNTH = "SYNTH_START|0|mei_voice_normal|"


def host_session(args: list[str], utterances: list[str], sentences: int) -> list[str]:
    """Run ``fsm-agent`` as MMDAgent-EX would and answer every SYNTH_START like Open JTalk.

    Returns the lines the child printed. Each utterance is sent once the previous reply's
    ``sentences`` sentences have been spoken.
    """
    child = subprocess.Popen(
        [sys.executable, "-m", "fsm_agent", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert child.stdin is not None and child.stdout is not None
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in child.stdout], daemon=True).start()  # type: ignore[union-attr]
    printed: list[str] = []

    def send(text: str) -> None:
        child.stdin.write(text.encode("utf-8") + b"\n")  # type: ignore[union-attr]
        child.stdin.flush()  # type: ignore[union-attr]

    try:
        for utterance in utterances:
            send(f"RECOG_EVENT_STOP|{utterance}")
            spoken = 0
            while spoken < sentences:
                line = lines.get(timeout=20).decode("utf-8").rstrip("\n")
                printed.append(line)
                send(line)  # the host echoes every line back to every child
                if line.startswith("SYNTH_START|0|"):
                    send("SYNTH_EVENT_START|0")
                    send("SYNTH_EVENT_STOP|0")
                    spoken += 1
        child.stdin.close()
        assert child.wait(timeout=20) == 0
    finally:
        if child.poll() is None:
            child.kill()
    return printed


def entries(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_run_mode_records_and_replays_the_same(tmp_path: Path) -> None:
    record = tmp_path / "session.jsonl"
    printed = host_session(
        ["--backend", "echo", "--record", str(record)], ["Hello there. How are you?"], 3
    )
    # The echo backend streams word by word: its first clause goes before the rest
    # (first_clause = 8 by default).
    assert printed == [SYNTH + W("You said:"), SYNTH + W("Hello there."), SYNTH + W("How are you?")]

    got = entries(record)
    assert got[0]["dir"] == "meta" and str(got[0]["line"]).endswith(" run")
    assert {e["dir"] for e in got} >= {"in", "out", "state", "open", "chunk", "end"}
    assert [e["line"] for e in got if e["dir"] == "out"] == printed
    assert {
        "t": got[1]["t"],
        "dir": "in",
        "line": "RECOG_EVENT_STOP|Hello there. How are you?",
    } in got
    times = [float(e["t"]) for e in got]  # type: ignore[arg-type]
    assert times == sorted(times)
    pieces = "".join(str(e["line"]) for e in got if e["dir"] == "chunk")
    assert pieces == "You said: Hello there. How are you?"

    result = run_agent("replay", str(record))
    assert result.returncode == 0, result.stderr
    assert "replies: 1 recorded replies" in result.stdout
    assert "# the same lines as in the recording" in result.stdout


def test_replay_reports_where_a_recording_differs(tmp_path: Path) -> None:
    record = tmp_path / "r.jsonl"
    rows = [
        {"t": 0, "dir": "in", "line": "RECOG_EVENT_STOP|x"},
        {"t": 0.01, "dir": "open", "line": "x", "stream": 1},
        {"t": 0.02, "dir": "chunk", "line": "Recorded reply.", "stream": 1},
        {"t": 0.03, "dir": "end", "line": "", "stream": 1},
        {"t": 0.04, "dir": "out", "line": SYNTH + "Something else."},
    ]
    record.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = run_agent("replay", str(record)).stdout
    assert f"agent>  {SYNTH}{W('Recorded reply.')}" in out
    assert "# differs from the recording at sent line 1:" in out
    assert f"#   recorded: {SYNTH}Something else." in out


def test_recorder_keeps_unicode_and_survives_a_closed_file(tmp_path: Path) -> None:
    ticks = iter([10.0, 10.5, 11.0, 12.0])
    recorder = Recorder(tmp_path / "x.jsonl", clock=lambda: next(ticks))
    recorder("in", "RECOG_EVENT_STOP|こんにちは")
    recorder.close()
    recorder("out", "after close")  # ignored, not raised
    assert entries(tmp_path / "x.jsonl") == [
        {"t": 0.5, "dir": "in", "line": "RECOG_EVENT_STOP|こんにちは"}
    ]
    assert "こんにちは" in (tmp_path / "x.jsonl").read_text(encoding="utf-8")


def test_unwritable_record_file_is_one_line(tmp_path: Path) -> None:
    result = run_agent("--backend", "echo", "--record", str(tmp_path))
    assert result.returncode == 2
    assert "cannot write the record file" in result.stderr
