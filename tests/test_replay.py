"""``fsm-agent replay``: host transcripts through the controller on a simulated clock."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from agent_cli import run_agent

from fsm_agent.core.voices import widen_ascii as W
from fsm_agent.modes.replay_transcript import read_transcript, spoken_replies

SYNTH = "SYNTH_START|0|mei_voice_normal|"


def replay(path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    # These transcripts hold the echo backend's first sentences whole ("You said: Hi."), as
    # fsm-agent sent them before first_clause was on by default.
    return run_agent("replay", str(path), "--first-clause", "0", *flags)


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
    result = replay(path, "--sent-only", "--backend", "echo")  # not the transcript's words
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [SYNTH + W("You said: こんにちは。"), SYNTH + W("元気？")]


def test_trace_shows_states_and_the_turn(tmp_path: Path) -> None:
    path = write(
        tmp_path, "t.txt", "RECOG_EVENT_STOP|Hi. Bye.\nSYNTH_EVENT_START|0\nSYNTH_EVENT_STOP|0\n"
    )
    out = replay(path).stdout
    assert "host>   RECOG_EVENT_STOP|Hi. Bye." in out
    assert "state   Speaking" in out
    assert "agent>  SYNTH_START|0|mei_voice_normal|" + W("You said: Hi.") in out
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
    assert sent[0].endswith(SYNTH + W("You said: One."))
    assert sent[1].endswith(SYNTH + W("Two."))
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
        SYNTH + W("You said: First."),
        "SYNTH_STOP|0",
        SYNTH + W("You said: Stop!"),
    ]


def test_script_backend_and_determinism(tmp_path: Path) -> None:
    script = write(tmp_path, "replies.txt", "Hello there. How are you?\n---\nSecond reply.\n")
    path = write(
        tmp_path,
        "t.txt",
        "RECOG_EVENT_STOP|a\nSYNTH_EVENT_START|0\nSYNTH_EVENT_STOP|0\n"
        "SYNTH_EVENT_START|0\nSYNTH_EVENT_STOP|0\nRECOG_EVENT_STOP|b\n",
    )
    first = replay(path, "--backend", f"script:{script}")
    assert first.returncode == 0, first.stderr
    assert first.stdout == replay(path, "--backend", f"script:{script}").stdout
    sent = [
        line.split("agent>")[1].strip() for line in first.stdout.splitlines() if "agent>" in line
    ]
    assert sent == [
        SYNTH + W("Hello there."),
        SYNTH + W("How are you?"),
        SYNTH + W("Second reply."),
    ]


def test_settings_flags_apply(tmp_path: Path) -> None:
    path = write(tmp_path, "t.txt", "RECOG_EVENT_STOP|Hi.\nSYNTH_EVENT_STOP|7\n")
    out = replay(path, "--sent-only", "--alias", "7", "--voice", "slt_voice_normal").stdout
    assert out.splitlines() == ["SYNTH_START|7|slt_voice_normal|You said: Hi."]


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    result = replay(tmp_path / "nope.txt")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("fsm-agent: error: cannot read")
    assert len(result.stderr.strip().splitlines()) == 1


# ---- the transcript's own SYNTH_START lines as the replies --------------------------------

# A real session as Plugin_AnyScript_AllLog shows it: our SYNTH_START and SYNTH_STOP lines come
# back among the host's. The user cuts the second sentence of the first reply off.
SESSION_ROWS: list[tuple[str, int, str, str] | str] = [
    ("12:00:00.000", 100, "Plugin_Julius", "RECOG_EVENT_STOP|今日の天気は？"),
    "",
    ("12:00:01.200", 172, "Plugin_AnyScript", "SYNTH_START|0|mei_voice_happy|晴れです。"),
    ("12:00:01.210", 173, "Plugin_Open_JTalk", "SYNTH_EVENT_START|0"),
    ("12:00:02.500", 250, "Plugin_Open_JTalk", "SYNTH_EVENT_STOP|0"),
    (
        "12:00:02.510",
        251,
        "Plugin_AnyScript",
        "SYNTH_START|0|mei_voice_happy|気温は二十度くらいです。",
    ),
    ("12:00:02.520", 252, "Plugin_Open_JTalk", "SYNTH_EVENT_START|0"),
    ("12:00:03.000", 280, "Plugin_Julius", "RECOG_EVENT_STOP|ありがとう"),
    ("12:00:03.010", 281, "Plugin_AnyScript", "SYNTH_STOP|0"),
    ("12:00:03.050", 283, "Plugin_Open_JTalk", "SYNTH_EVENT_STOP|0"),
    ("12:00:04.000", 340, "Plugin_AnyScript", "SYNTH_START|0|mei_voice_happy|どういたしまして。"),
    ("12:00:04.010", 341, "Plugin_Open_JTalk", "SYNTH_EVENT_START|0"),
    ("12:00:05.000", 400, "Plugin_Open_JTalk", "SYNTH_EVENT_STOP|0"),
]
SESSION = "".join(
    row + "\n"
    if isinstance(row, str)
    else f"[2024-05-01 {row[0]}] [{row[1]}] {row[2]}: Sent: {row[3]}\n"
    for row in SESSION_ROWS
)

VOICE = "SYNTH_START|0|mei_voice_happy|"
SESSION_SENT = [
    VOICE + W("晴れです。"),
    VOICE + W("気温は二十度くらいです。"),
    "SYNTH_STOP|0",
    VOICE + W("どういたしまして。"),
]


def test_an_alllog_replays_with_the_words_it_spoke(tmp_path: Path) -> None:
    path = write(tmp_path, "alllog.txt", SESSION)
    assert replay(path, "--sent-only").stdout.splitlines() == SESSION_SENT  # voice taken too
    out = replay(path).stdout
    assert "replies: 2 spoken in the transcript (its SYNTH_START lines)" in out
    # the cut sentence was not heard to its end, so only the first one counts as heard
    assert "turn    interrupted; heard: '晴れです。'" in out
    assert "# the same lines as in the transcript" in out


def test_the_comparison_is_of_the_lines_not_of_their_timing(tmp_path: Path) -> None:
    # An older controller sent its second sentence before the first one's SYNTH_EVENT_STOP;
    # this one waits for it, and sends the same lines.
    path = write(
        tmp_path,
        "plain.txt",
        "RECOG_EVENT_STOP|hi\n"
        "SYNTH_START|0|slt_voice_normal|Hello.\n"
        "SYNTH_START|0|slt_voice_normal|How are you?\n"
        "SYNTH_EVENT_START|0\n"
        "SYNTH_EVENT_STOP|0\n"
        "SYNTH_EVENT_START|0\n"
        "SYNTH_EVENT_STOP|0\n",
    )
    out = replay(path).stdout
    assert out.count("agent>  SYNTH_START|0|slt_voice_normal|") == 2
    assert "# the same lines as in the transcript" in out


def test_where_this_version_differs_from_the_transcript(tmp_path: Path) -> None:
    # An older controller spoke two sentences as one; this one splits them.
    spoken = "SYNTH_START|0|slt_voice_normal|Hello there. How are you?"
    cut = write(tmp_path, "cut.txt", f"RECOG_EVENT_STOP|hi\n{spoken}\n")
    out = replay(cut).stdout
    assert "# differs from the transcript at sent line 1:" in out
    assert f"#   spoken:   {spoken}" in out
    assert "#   replayed: SYNTH_START|0|slt_voice_normal|Hello there." in out
    out = replay(cut, "--voice", "mei_voice_normal").stdout  # --voice wins over the transcript's
    assert "#   replayed: SYNTH_START|0|mei_voice_normal|" + W("Hello there.") in out


def test_spoken_replies_group_by_utterance_and_join_sentences() -> None:
    transcript = read_transcript(
        [
            b"SYNTH_START|0|v|before any utterance: not a reply.",
            b"RECOG_EVENT_STOP|one",
            b"SYNTH_START|0|v|Hello there.",
            b"SYNTH_START|1|v|Another character.",
            b"SYNTH_START|0|v|How are you?",
            b"RECOG_EVENT_STOP|",  # no utterance
            b"RECOG_EVENT_STOP|two",
            b"SYNTH_START|0|v|\xe6\x9d\xb1\xe4\xba\xac\xe3\x81\xa7\xe3\x81\x99\xe3\x80\x82",
            b"SYNTH_START|0|v|\xe6\x99\xb4\xe3\x82\x8c\xe3\x80\x82",
            b"SYNTH_STOP|0",
            b"RECOG_EVENT_STOP|three",
        ]
    )
    spoken = spoken_replies(transcript, "0")
    assert spoken.replies == [("one", "Hello there. How are you?"), ("two", "東京です。晴れ。")]
    assert spoken.sent[-1] == "SYNTH_STOP|0" and len(spoken.sent) == 6
    assert spoken.take("two") is not None and spoken.take("two") is None


def test_backend_given_overrides_the_transcript(tmp_path: Path) -> None:
    path = write(tmp_path, "alllog.txt", SESSION)
    sent = replay(path, "--sent-only", "--backend", "echo").stdout.splitlines()
    assert sent[0] == VOICE + W("You said: 今日の天気は？")


# ---- replay --record ------------------------------------------------------------------------


def test_replay_records_the_replayed_exchange_which_replays_the_same(tmp_path: Path) -> None:
    path = write(tmp_path, "alllog.txt", SESSION)
    record = tmp_path / "replayed.jsonl"
    first = replay(path, "--record", str(record))
    assert first.returncode == 0, first.stderr
    assert f"# recorded to {record}" in first.stdout
    rows = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    assert rows[0]["dir"] == "meta" and rows[0]["line"].endswith(" replay")
    assert rows[0]["settings"]["voice"] == "mei_voice_happy"
    assert [r["line"] for r in rows if r["dir"] == "out"] == SESSION_SENT
    assert {"t": 3.0, "dir": "in", "line": "RECOG_EVENT_STOP|ありがとう"} in rows  # simulated time
    assert [r["line"] for r in rows if r["dir"] == "open"] == ["今日の天気は？", "ありがとう"]
    assert {r["dir"] for r in rows} >= {"in", "out", "state", "open", "chunk", "end"}
    again = replay(record)
    assert "replies: 2 recorded replies" in again.stdout
    assert "# the same lines as in the recording" in again.stdout
    assert replay(record, "--sent-only").stdout.splitlines() == SESSION_SENT


def test_replay_record_with_sent_only_still_records(tmp_path: Path) -> None:
    path = write(tmp_path, "t.txt", "RECOG_EVENT_STOP|Hi.\nSYNTH_EVENT_STOP|0\n")
    record = tmp_path / "r.jsonl"
    result = replay(path, "--sent-only", "--record", str(record))
    assert result.stdout.splitlines() == [SYNTH + W("You said: Hi.")]
    assert SYNTH + W("You said: Hi.") in record.read_text(encoding="utf-8")


def test_replay_record_refuses_bad_files_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "t.txt", "RECOG_EVENT_STOP|Hi.\n")
    same = replay(path, "--record", str(path))
    assert same.returncode == 2 and len(same.stderr.splitlines()) == 1
    assert "would overwrite the file being replayed" in same.stderr
    assert path.read_text(encoding="utf-8") == "RECOG_EVENT_STOP|Hi.\n"
    directory = replay(path, "--record", str(tmp_path))
    assert directory.returncode == 2 and len(directory.stderr.splitlines()) == 1
    assert "cannot write the record file" in directory.stderr
