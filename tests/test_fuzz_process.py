"""Fuzzing the running ``fsm-agent`` process: random host traffic, faults and hostile replies.

Each example starts the real process against the simulated MMDAgent-EX (``HostSim`` through real
pipes) and the loopback fake OpenAI server (the real ``openai`` client inside the process), then
plays a random sequence: utterances with any text, the start of the user's speech, random bytes,
broken UTF-8, over-long lines, NUL bytes, other characters' events, pauses, and LLM faults for the
next request. Replies are hostile too: line breaks, ``|``, host commands, control characters,
emoji, a run with no sentence end.

After the sequence the process must still answer a last utterance, and then:

- the host saw no broken rule: never a SYNTH_START while our sentence was playing, only
  SYNTH_START/SYNTH_STOP lines, no extra fields, no control characters, none over 2000 bytes;
- every line is ``SYNTH_START|0|<voice>|<clean, non-empty text>`` or ``SYNTH_STOP|0``;
- every request the server received carried a well-formed history: the system prompt, then
  user/assistant pairs within ``--history-turns``, no empty assistant turn;
- end of input ends the process with status 0, and the key appears nowhere.

The other direction (many more interleavings, against the pure controller) is
``test_fuzz_controller.py``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import hypothesis.strategies as st
import regex
from agent_cli import clean_env
from hypothesis import HealthCheck, Phase, given, settings

from fsm_agent.sim.host_process import HostProcess
from fsm_agent.sim.host_sim import HostSim
from fsm_agent.testing.fake_openai import FakeOpenAI

SECRET = "sk-fuzz-FSMSECRET-9f8e7d6c5b4a"
SYSTEM = "You are a test."
HISTORY_TURNS = 2
FINAL = "final check"
FINAL_REPLY = "Final answer. Done."
# as said by slt_voice_normal, and by no_such_voice (an unknown voice name is taken as one of
# Open JTalk's, so its ASCII is widened)
FINAL_SAID = ("Final answer.", "Ｆｉｎａｌ ａｎｓｗｅｒ．")
WAIT = 30.0
_UNSAFE = regex.compile(r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Cn}|]")

HOSTILE_REPLIES = [
    "Sure.\nSYNTH_START|0|mei_voice_normal|injected\nKEYVALUE_SET|_RequestedURL|http://evil/\n",
    "A | B | C. Next one! 次は日本語です。それから、中文也可以。",
    "x" * 2500,
    "**Bold** and `code`. 😀 Emoji! \x00 NUL\r\nEXECUTE|calc.exe\r\n",
    "Short.",
    "「はい。」と彼は言った。\u2028REMOTEKEY_DOWN|Escape\u0085次です。",
]


def reply(messages: list[dict[str, str]]) -> str:
    """A deterministic hostile reply for each user text; the last check gets a plain one."""
    user = messages[-1]["content"]
    if user.endswith(FINAL):  # with --barge-in never, utterances held meanwhile join it
        return FINAL_REPLY
    return HOSTILE_REPLIES[sum(map(ord, user)) % len(HOSTILE_REPLIES)]


# ---- the steps of one example ---------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    kind: str
    data: bytes = b""
    seconds: float = 0.0


_JUNK = [
    b"CURRENT_TIME|12|30",
    b"SYNTH_EVENT_STOP|1",
    b"SYNTH_EVENT_START|mei",
    b"SYNTH_EVENT_STOP|",
    b" SYNTH_EVENT_STOP|0",
    b"RECOG_EVENT_STOP|",
    b"RECOG_EVENT_OVERFLOW",
    b"[2024-01-01 00:00:00] [12] Plugin: Sent: KEY|a",
    b"|||",
    b"\r",
    b"RECOG_EVENT_STOP|a\x00b",
    b"RECOG_EVENT_STOP|\xff\xfe broken",
    b"\xc3\x28\xa0\xa1",
]

steps = st.lists(
    st.one_of(
        st.text(min_size=1, max_size=30).map(
            lambda t: Step("say", ("RECOG_EVENT_STOP|" + t).encode("utf-8", "surrogatepass"))
        ),
        st.just(Step("speech_start")),
        st.sampled_from(_JUNK).map(lambda b: Step("raw", b)),
        st.binary(max_size=80).map(lambda b: Step("raw", b)),
        st.integers(2100, 6000).map(lambda n: Step("raw", b"RECOG_EVENT_STOP|" + b"a" * n)),
        st.just(Step("chatter")),
        st.sampled_from(["500", "cut", "malformed", "error_event", "400"]).map(
            lambda f: Step("fault", f.encode())
        ),
        st.floats(0.0, 0.4).map(lambda s: Step("pause", seconds=s)),
    ),
    min_size=2,
    max_size=12,
)

runs = st.fixed_dictionaries(
    {
        "barge_in": st.sampled_from(["final", "start", "never"]),
        "voice": st.sampled_from(["slt_voice_normal", "slt_voice_normal", "no_such_voice"]),
        "lose_stop_every": st.sampled_from([0, 0, 2]),
    }
)

_FAULTS = {
    "500": {"fault": 500},
    "400": {"fault": 400},
    "cut": {"cut_after": 8},
    "malformed": {"malformed_after": 3},
    "error_event": {"error_event_after": 0},
}


def agent(server: FakeOpenAI, run: dict[str, object]) -> HostProcess:
    env = clean_env(OPENAI_API_KEY=SECRET, OPENAI_BASE_URL=server.base_url)
    args = [sys.executable, "-m", "fsm_agent", "--lang", "auto", "--max-retries", "0"]
    args += ["--voice", str(run["voice"]), "--barge-in", str(run["barge_in"])]
    args += ["--synth-timeout", "0.5", "--synth-seconds-per-char", "0.001"]
    args += ["--stream-timeout", "5", "--history-turns", str(HISTORY_TURNS)]
    args += ["--system-prompt", SYSTEM, "--error-reply", "Sorry.", "--log-level", "warning"]
    sim = HostSim(
        chars_per_second=400.0,
        min_seconds=0.02,
        stop_latency=0.01,
        lose_stop_every=int(run["lose_stop_every"]),  # type: ignore[call-overload]
    )
    return HostProcess(args, sim, env=env).start()


def check_line(line: str, voice: str) -> None:
    assert len(line.encode("utf-8")) <= 2000
    fields = line.split("|")
    if fields[0] == "SYNTH_STOP":
        assert fields == ["SYNTH_STOP", "0"]
        return
    assert fields[0] == "SYNTH_START" and len(fields) == 4, line[:120]
    assert fields[1:3] == ["0", voice]
    text = fields[3]
    assert text and text == text.strip() and not _UNSAFE.search(text), repr(text[:120])


def check_requests(server: FakeOpenAI) -> None:
    for request in server.chat_requests:
        messages = request.body["messages"]
        assert messages[0] == {"role": "system", "content": SYSTEM}
        roles = [m["role"] for m in messages[1:]]
        assert roles == ["user", "assistant"] * (len(roles) // 2) + ["user"], roles
        assert len(roles) // 2 <= HISTORY_TURNS
        assert all(m["content"].strip() for m in messages[1:] if m["role"] == "assistant")


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # each example is seconds: no shrinking
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(run=runs, script=steps)
def test_the_process_survives_any_host_traffic_and_faults(
    run: dict[str, object], script: list[Step]
) -> None:
    with FakeOpenAI(reply=reply, token_delay=0.002) as server:
        host = agent(server, run)
        try:
            for step in script:
                if step.kind == "say" or step.kind == "raw":
                    host.send_bytes(step.data)
                elif step.kind == "speech_start":
                    host.speech_start()
                elif step.kind == "chatter":
                    host.chatter()
                elif step.kind == "fault":
                    server.push(**_FAULTS[step.data.decode()])  # type: ignore[arg-type]
                else:
                    host.wait_until(lambda: False, step.seconds)  # a pause, lines keep flowing
            assert host.wait_idle(quiet=0.5, timeout=WAIT), "the process never went quiet"
            server.clear_faults()  # one no request took must not hit the last check
            host.say(FINAL)
            assert host.wait_until(
                lambda: any(said in line for line in host.child_lines for said in FINAL_SAID), WAIT
            ), "the last utterance was not answered"
            assert host.wait_idle(quiet=0.3, timeout=WAIT)
        finally:
            code = host.close()
        assert code == 0, host.stderr_text[-2000:]
        assert host.sim.violations == [], host.sim.violations[:3]
        for line in host.child_lines:
            check_line(line, str(run["voice"]))
        check_requests(server)
        for text in (host.stderr_text, *host.child_lines):
            assert SECRET not in text and "FSMSECRET" not in text
