"""The real ``fsm-agent`` process against a simulated MMDAgent-EX and a loopback OpenAI server.

Each test is one promise of the AnyScript mode (issue 2, points 1 to 9). The host simulator
behaves as PROTOCOL.md says: it echoes every line, does not queue SYNTH_START (a second one
cuts the first off and is recorded as a violation), sends no events for an unknown voice, can
lose STOPs, and has other characters speaking. Waits are bounded only to avoid hangs.
"""

from __future__ import annotations

import itertools
import queue
import re
import signal
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_cli import clean_env

from fsm_agent.core.memory import mark_interrupted
from fsm_agent.core.speech_time import UNHEARD_SLACK, estimate
from fsm_agent.core.voices import widen_ascii
from fsm_agent.sim.host_process import HostProcess
from fsm_agent.sim.host_sim import HostSim
from fsm_agent.testing.fake_openai import FakeOpenAI, connection_refused_url

SECRET = "sk-test-FSMSECRET-0123456789abcdef"
REPLY = "はい、元気です。今日はいい天気ですね。Let us talk. What shall we do?"
SENTENCES = ["はい、元気です。", "今日はいい天気ですね。", "Let us talk.", "What shall we do?"]
# What the Japanese (Open JTalk) default voice is sent: ASCII widened, so it cannot crash the host
SPOKEN = [widen_ascii(s) for s in SENTENCES]
ENGLISH = ("--lang", "en", "--voice", "slt_voice_normal")
WAIT = 30.0


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(reply=REPLY, token_delay=0.005) as srv:
        yield srv


def agent_env(base_url: str) -> dict[str, str]:
    return clean_env(OPENAI_API_KEY=SECRET, OPENAI_BASE_URL=base_url, PYTHONIOENCODING="ascii")


def start_host(base_url: str, *flags: str, sim: HostSim | None = None) -> HostProcess:
    args = [
        sys.executable,
        "-m",
        "fsm_agent",
        "--synth-timeout",
        "1",
        "--stream-timeout",
        "5",
        *flags,
    ]
    return HostProcess(
        args, sim or HostSim(chars_per_second=200.0, min_seconds=0.05), env=agent_env(base_url)
    ).start()


def synth_texts(host: HostProcess) -> list[str]:
    return [line.split("|", 3)[3] for line in host.child_lines if line.startswith("SYNTH_START|")]


def finish(host: HostProcess) -> None:
    assert host.wait_idle(quiet=0.3, timeout=WAIT)
    assert host.close() == 0
    assert host.sim.violations == []


def test_sentences_go_one_at_a_time_each_after_our_stop(server: FakeOpenAI) -> None:
    host = start_host(server.base_url)
    host.chatter()  # other characters speak and stop while we do
    host.say("こんにちは")
    assert host.wait_until(lambda: len(host.sim.spoken) >= 1, WAIT)
    host.chatter()
    assert host.wait_until(lambda: len(synth_texts(host)) == len(SENTENCES), WAIT)
    finish(host)
    assert synth_texts(host) == SPOKEN
    ours = [s for s in host.sim.spoken if s.alias == "0"]
    assert [s.text for s in ours] == SPOKEN
    assert not any(s.cut for s in ours)
    assert all(a.end <= b.start for a, b in itertools.pairwise(ours))


def test_first_sentence_is_spoken_while_the_stream_still_runs() -> None:
    with FakeOpenAI(
        reply="First one. " + "Then more words follow slowly. " * 8, token_delay=0.05
    ) as srv:
        host = start_host(srv.base_url, "--voice", "slt_voice_normal")
        host.say("hello")
        assert host.wait_until(lambda: synth_texts(host), WAIT)
        assert srv.active_streams == 1
        assert synth_texts(host)[0] == "First one."
        host.close()


@pytest.mark.parametrize("how", ["unknown voice", "every STOP lost"])
def test_lost_stop_is_given_up_after_a_deadline(server: FakeOpenAI, how: str) -> None:
    if how == "unknown voice":
        host = start_host(server.base_url, "--voice", "no_such_voice", "--synth-timeout", "0.2")
    else:
        sim = HostSim(chars_per_second=200.0, min_seconds=0.05, lose_stop_every=1)
        # a host 100 times faster than the real one: the wait after each START follows suit
        host = start_host(
            server.base_url, "--synth-timeout", "0.2", "--synth-speed", "100", sim=sim
        )
    host.say("hi")
    assert host.wait_until(lambda: len(synth_texts(host)) == len(SENTENCES), WAIT)
    finish(host)
    assert synth_texts(host) == SPOKEN


def test_the_synth_deadline_grows_with_each_sentence_length(
    server: FakeOpenAI, tmp_path: Path
) -> None:
    log_file = tmp_path / "agent.log"
    host = start_host(
        server.base_url,
        "--synth-timeout",
        "2",
        "--synth-seconds-per-char",
        "0.5",
        "--log-level",
        "debug",
        "--log-file",
        str(log_file),
    )
    host.say("hi")
    assert host.wait_until(lambda: len(synth_texts(host)) == len(SENTENCES), WAIT)
    finish(host)
    armed = [float(x) for x in re.findall(r"synth deadline in ([0-9.]+) s", read(log_file))]
    # per sentence: when sent, the whole wait; at the host's echo of the line, synth_timeout for
    # its START; from the START, the expected speech with room (this fast simulated host's
    # sentences are too short to teach the voice's pace, so both whole waits are the same)
    expected = []
    for text in SPOKEN:
        speech = max(0.5 * len(text), UNHEARD_SLACK * estimate(text, "open_jtalk"))
        whole = pytest.approx(2 + speech, abs=0.001)
        expected += [whole, pytest.approx(2.0), whole]
    assert armed == expected
    assert armed[5] > armed[2]  # a longer sentence, a longer wait


def test_three_turns_through_the_process_open_one_connection(server: FakeOpenAI) -> None:
    host = start_host(server.base_url)
    for turn in range(1, 4):
        host.say(f"turn {turn}")
        assert host.wait_until(lambda t=turn: len(synth_texts(host)) == t * len(SENTENCES), WAIT)
        assert host.wait_idle(quiet=0.2, timeout=WAIT)
    finish(host)
    assert len(server.chat_requests) == 3
    assert server.connections_opened == 1


def test_the_log_file_tells_each_turn_sentence_state_and_latency(
    server: FakeOpenAI, tmp_path: Path
) -> None:
    log_file = tmp_path / "agent.log"
    host = start_host(server.base_url, "--log-level", "debug", "--log-file", str(log_file))
    for text in ("こんにちは", "second turn"):
        host.say(text)
        assert host.wait_until(lambda t=text: "turn done" in read(log_file).split(t, 1)[-1], WAIT)
    finish(host)
    logged = read(log_file)
    for text in ("こんにちは", "second turn"):
        assert f"user: {text}" in logged  # each turn's user text
    says = re.findall(r"say: (.*)", logged)
    assert says == SENTENCES * 2  # each sentence sent (the log keeps what the LLM said)
    states = re.findall(r"state -> (\w+)", logged)  # each state change, at debug level
    assert states[:2] == ["Generating", "Speaking"]
    assert states.count("Idle") == 2 and states[-1] == "Idle"
    latencies = re.findall(
        r"latency: first token (\d+) ms, first SYNTH_START (\d+) ms after the utterance", logged
    )
    assert len(latencies) == 2  # per turn: time to the first token and to the first SYNTH_START
    assert all(int(token) <= int(synth) for token, synth in latencies)


@pytest.mark.parametrize(
    ("fault", "spoken_before_failure"),
    [
        ({"fault": 500}, 0),
        ({"fault": 429, "retry_after": "0"}, 0),
        ({"fault": 401}, 0),
        ({"cut_after": len("はい、元気です。今日")}, 1),
        ({"malformed_after": len("はい、元気です。")}, 1),
        ({"error_event_after": 0}, 0),
    ],
)
def test_llm_failure_returns_to_idle_and_keeps_history_consistent(
    server: FakeOpenAI, fault: dict[str, object], spoken_before_failure: int
) -> None:
    host = start_host(server.base_url, "--error-reply", "ごめんなさい。", "--max-retries", "0")
    server.push(**fault)  # type: ignore[arg-type]
    host.say("first")
    expected = SPOKEN[:spoken_before_failure] if spoken_before_failure else ["ごめんなさい。"]
    assert host.wait_until(lambda: synth_texts(host) == expected, WAIT)
    assert server.wait_until(lambda: server.active_streams == 0, WAIT)
    assert host.wait_idle(quiet=0.3, timeout=WAIT)
    spoken = synth_texts(host)
    assert spoken == expected
    host.say("second")
    assert host.wait_until(lambda: len(synth_texts(host)) == len(spoken) + len(SENTENCES), WAIT)
    finish(host)
    history = server.chat_requests[-1].body["messages"][1:]
    if spoken_before_failure:
        assert history[:2] == [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "はい、元気です。"},
        ]
    else:  # nothing of the failed turn was heard: it is not kept
        assert history[0] == {"role": "user", "content": "second"}
    assert history[-1] == {"role": "user", "content": "second"}


def test_connection_refused_is_a_failed_turn_not_a_crash() -> None:
    host = start_host(connection_refused_url(), "--error-reply", "Sorry.", "--max-retries", "0")
    host.say("anyone there?")
    assert host.wait_until(lambda: synth_texts(host) == [widen_ascii("Sorry.")], WAIT)
    finish(host)


def test_a_close_delimited_stream_cut_midway_is_a_failed_turn() -> None:
    # framing="close": the end of the body is the connection closing, so a cut looks like an
    # end; only the missing [DONE] and finish_reason show that the reply was not complete.
    with FakeOpenAI(reply=REPLY, token_delay=0.005, framing="close") as srv:
        host = start_host(srv.base_url, "--max-retries", "0")
        srv.push(cut_after=len("はい、元気です。今日"))
        host.say("first")
        assert host.wait_until(lambda: "turn failed" in host.stderr_text, WAIT)
        assert host.wait_idle(quiet=0.3, timeout=WAIT)
        assert synth_texts(host) == SPOKEN[:1]  # spoken stays spoken; "今日" is a fragment
        host.say("second")
        assert host.wait_until(lambda: len(synth_texts(host)) == 1 + len(SENTENCES), WAIT)
        finish(host)
        assert "ended before the reply was complete" in host.stderr_text
        history = srv.chat_requests[-1].body["messages"][1:]
    assert history == [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "はい、元気です。"},
        {"role": "user", "content": "second"},
    ]


def test_barge_in_while_the_request_waits_for_headers_closes_it_at_once(
    server: FakeOpenAI,
) -> None:
    host = start_host(server.base_url, "--max-retries", "1")
    server.push("no_answer")  # the first request gets no headers, ever
    host.say("first")
    assert server.wait_until(lambda: len(server.chat_requests) == 1, WAIT)
    host.say("second")
    assert server.wait_until(lambda: server.closed_early == 1, WAIT)  # the client hung up
    assert host.wait_until(lambda: len(synth_texts(host)) == len(SENTENCES), WAIT)
    finish(host)
    assert len(server.chat_requests) == 2  # the cancelled request was not retried
    # nothing was heard of the first reply: only the mark of the interruption is kept
    assert server.chat_requests[-1].body["messages"][1:] == [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "…"},
        {"role": "user", "content": "second"},
    ]


def test_barge_in_stops_speech_cancels_stream_and_keeps_only_what_was_heard() -> None:
    long_reply = "One. Two. Three. " + "Four and more. " * 40
    replies = {"tell me a story": long_reply, "stop": "OK."}
    sim = HostSim(chars_per_second=20.0, min_seconds=0.05)
    with FakeOpenAI(reply=replies, token_delay=0.02) as srv:
        host = start_host(srv.base_url, *ENGLISH, sim=sim)
        host.say("tell me a story")
        assert host.wait_until(lambda: len(synth_texts(host)) >= 2, WAIT)
        host.say("stop")
        assert host.wait_until(lambda: "OK." in synth_texts(host), WAIT)
        finish(host)
        assert "SYNTH_STOP|0" in host.child_lines
        assert srv.wait_until(lambda: srv.closed_early >= 1, WAIT)
        heard = srv.chat_requests[-1].body["messages"][2]
        assert heard["role"] == "assistant"
        said_before = synth_texts(host)[: synth_texts(host).index("OK.")]
        # the last one was cut off by the SYNTH_STOP: not heard to its end, so not kept
        assert heard["content"] == mark_interrupted(" ".join(said_before[:-1]), "ellipsis")
        assert "Four and more." * 3 not in heard["content"]


def test_barge_in_on_speech_start_and_never() -> None:
    replies = {"story": "One. Two. Three. Four. Five. Six.", "next": "Next."}
    sim = HostSim(chars_per_second=10.0, min_seconds=0.1)
    with FakeOpenAI(reply=replies, token_delay=0.005) as srv:
        host = start_host(srv.base_url, "--barge-in", "start", *ENGLISH, sim=sim)
        host.say("story")
        assert host.wait_until(lambda: synth_texts(host), WAIT)
        host.speech_start()
        assert host.wait_until(lambda: "SYNTH_STOP|0" in host.child_lines, WAIT)
        host.say("next")
        assert host.wait_until(lambda: "Next." in synth_texts(host), WAIT)
        finish(host)

        host = start_host(srv.base_url, "--barge-in", "never", *ENGLISH, sim=sim)
        host.say("story")
        assert host.wait_until(lambda: synth_texts(host), WAIT)
        host.say("next")
        assert host.wait_until(lambda: "Next." in synth_texts(host), WAIT)
        finish(host)
        assert synth_texts(host) == ["One.", "Two.", "Three.", "Four.", "Five.", "Six.", "Next."]
        assert "SYNTH_STOP|0" not in host.child_lines


def test_llm_text_never_becomes_a_second_message() -> None:
    evil = (
        "Sure.\nKEYVALUE_SET|_RequestedURL|https://example.com\rPLUGIN_DISABLE|Open_JTalk\n"
        "EXECUTE|calc.exe\x00 Done|ok. " + "長い文、" * 400 + "終わり。\n\n\n"
    )
    with FakeOpenAI(reply=evil, token_delay=0.0) as srv:
        host = start_host(srv.base_url)
        host.say("do it")
        assert host.wait_until(lambda: any("終わり" in t for t in synth_texts(host)), WAIT)
        finish(host)
    lines = host.child_lines
    assert lines
    for line in lines:
        assert line.split("|")[0] in ("SYNTH_START", "SYNTH_STOP")
        assert len(line.encode("utf-8")) <= 2000
        assert line.count("|") == 3
        assert line.split("|")[3].strip()
    assert any(line.endswith("|" + widen_ascii("Sure.")) for line in lines)  # a Japanese voice


def test_bad_input_lines_are_ignored_and_the_next_utterance_is_answered(server: FakeOpenAI) -> None:
    junk = [
        b"\xff\xfe\xfd garbage\n",
        b"RECOG_EVENT_STOP|\xe3\x81\n",  # cut UTF-8
        b"\x00\x00\x00\n",
        b"\n",
        b"|||\n",
        b"RECOG_EVENT_STOP|" + b"x" * 100_000 + b"\n",  # over-long
        b"SYNTH_EVENT_STOP\n",
        b"SOMETHING_UNKNOWN|1|2|3\n",
        b"SYNTH_START|0|mei_voice_normal|echoed line\n",
        b"RECOG_EVENT_STOP|\n",
    ]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fsm_agent",
            "--synth-timeout",
            "0.2",
            "--synth-seconds-per-char",
            "0",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=agent_env(server.base_url),
    )
    out, err = proc.communicate(
        b"".join(junk) + "RECOG_EVENT_STOP|こんにちは\n".encode(), timeout=WAIT
    )
    # stdin ended right away: the process must still exit 0, and nothing junk-driven came out
    assert proc.returncode == 0, err.decode(errors="replace")
    assert all(line.startswith(b"SYNTH_START|0|") for line in out.splitlines())
    assert b"Traceback" not in err
    # the same junk, then an utterance, with the host staying connected
    host = start_host(server.base_url)
    for raw in junk:
        host.send(raw.decode("utf-8", errors="replace").rstrip("\n"))
    host.say("こんにちは")
    assert host.wait_until(lambda: len(synth_texts(host)) == len(SENTENCES), WAIT)
    finish(host)
    assert "Traceback" not in host.stderr_text


def test_end_of_input_exits_zero_mid_stream_leaving_no_thread(tmp_path: Path) -> None:
    # Exit within a second is measured by benchmarks/exit_time.py; here: it exits, with 0.
    log_file = tmp_path / "agent.log"
    with FakeOpenAI(reply="word " * 2000, token_delay=0.05) as srv:
        host = start_host(srv.base_url, "--log-level", "debug", "--log-file", str(log_file))
        host.say("talk forever")
        assert host.wait_until(lambda: srv.active_streams == 1, WAIT)
        assert host.close(timeout=WAIT) == 0
        assert srv.wait_until(lambda: srv.active_streams == 0, WAIT)
    assert "threads left at exit: non-daemon: none;" in read(log_file)


def agent(base_url: str, *flags: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=agent_env(base_url),
    )


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM cannot be sent to a child on Windows")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_quit_signal_mid_stream_exits_zero_leaving_no_thread(signum: int, tmp_path: Path) -> None:
    log_file = tmp_path / "agent.log"
    with FakeOpenAI(reply="word " * 2000, token_delay=0.05) as srv:
        proc = agent(
            srv.base_url, "-m", "fsm_agent", "--log-level", "debug", "--log-file", str(log_file)
        )
        assert proc.stdin is not None
        proc.stdin.write(b"RECOG_EVENT_STOP|hi\n")
        proc.stdin.flush()
        assert srv.wait_until(lambda: srv.active_streams == 1, WAIT)
        proc.send_signal(signum)
        assert proc.wait(timeout=WAIT) == 0
        assert srv.wait_until(lambda: srv.active_streams == 0, WAIT)
        err = proc.stderr.read() if proc.stderr else b""
    assert b"Traceback" not in err
    assert "threads left at exit: non-daemon: none;" in read(log_file)


def console_script() -> list[str]:
    """What the installed ``fsm-agent`` command runs, as ``python`` arguments.

    The entry point is read from pyproject.toml; pip's generated script (and its Windows .exe)
    imports the named module and calls the named function.
    """
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    scripts = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["scripts"]
    module, _, function = scripts["fsm-agent"].partition(":")
    return ["-c", f"import sys; from {module} import {function}; sys.exit({function}())"]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM cannot be sent to a child on Windows")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("command", ["python -m fsm_agent", "fsm-agent"])
def test_a_quit_signal_during_start_up_exits_zero(
    server: FakeOpenAI, signum: int, command: str
) -> None:
    # -X importtime reports each import as it finishes: the signal goes out as soon as the
    # command line module starts importing, long before the command is ready (it used to exit
    # -15, or with a KeyboardInterrupt traceback; the installed command did while it imported
    # the command line module, before it took the signals).
    entry = ["-m", "fsm_agent"] if command.startswith("python") else console_script()
    proc = agent(server.base_url, "-X", "importtime", *entry)
    lines: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    assert proc.stderr is not None
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stderr], daemon=True)
    reader.start()
    try:
        while not re.search(rb"\|\s+argparse$", lines.get(timeout=WAIT).rstrip()):
            pass
        proc.send_signal(signum)
        assert proc.wait(timeout=WAIT) == 0
    finally:
        proc.kill()
        proc.wait()
    reader.join(WAIT)
    rest = b""
    while not lines.empty():
        rest += lines.get()
    assert b"Traceback" not in rest
    assert b"fsm-agent ready" not in rest  # it was indeed still starting


def test_api_key_never_appears_in_output_logs_or_record(server: FakeOpenAI, tmp_path: Path) -> None:
    log_file = tmp_path / "agent.log"
    record = tmp_path / "agent.jsonl"
    host = start_host(
        server.base_url,
        "--log-level",
        "debug",
        "--log-file",
        str(log_file),
        "--record",
        str(record),
        "--max-retries",
        "0",
        "--error-reply",
        "none",  # the failed first turn says nothing: "second" cannot barge in on an apology
    )
    server.push("echo_key_in_error")
    host.say("first")
    # The next utterance would barge in on the first turn: wait until its failure is logged.
    assert host.wait_until(lambda: "401" in read(log_file), WAIT)
    host.say("second")
    assert host.wait_until(lambda: len(synth_texts(host)) == len(SENTENCES), WAIT)
    finish(host)
    assert server.chat_requests[0].headers.get("authorization") == f"Bearer {SECRET}"
    logged, recorded = read(log_file), read(record)
    assert "HTTP 401" in recorded  # the failure was logged and recorded ...
    assert "Incorrect API key provided: [redacted]" in recorded
    for text in (logged, recorded, host.stderr_text, "\n".join(host.child_lines)):
        assert SECRET not in text  # ... without the key
        assert "FSMSECRET" not in text


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""
