"""Issue 12's "done when", end to end: the real runtime and controller, the real ``openai``
client, and the fake server speaking each captured dialect (``fsm_agent.testing.dialects``).

The long waits of real servers (40 s of thinking, 40 s before the first byte) are made short by
settings, in proportion: ``stream_timeout`` stands for its default 30 s and the server's wait is
longer than it. That the defaults themselves allow 40 s is shown on a simulated clock.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from agent_cli import run_agent

from fsm_agent.backends.openai_compat import OpenAIBackend
from fsm_agent.core.controller import Controller
from fsm_agent.core.events import Chunk, Progress, StreamEnd, TurnDone, Utterance
from fsm_agent.core.settings import Settings
from fsm_agent.runtime.interpreter import Effects, Interpreter
from fsm_agent.runtime.loop import QUIT, Runtime
from fsm_agent.runtime.record import Recorder, attach
from fsm_agent.sim.host_loop import HostLoop, runtime_delivery
from fsm_agent.sim.host_sim import HostSim
from fsm_agent.testing.dialects import DIALECTS
from fsm_agent.testing.fake_openai import FakeOpenAI

WAIT = 30.0  # the longest any turn may take here before the test fails (never reached when green)
APOLOGY_JA = "ごめんなさい、うまく答えられませんでした。"


class _Runtime(Runtime):
    """The real runtime, keeping each TurnDone for the test."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.turns: list[TurnDone] = []
        self.changed = threading.Condition()

    def turn_done(self, command: TurnDone) -> None:
        super().turn_done(command)
        with self.changed:
            self.turns.append(command)
            self.changed.notify_all()


@dataclass
class Agent:
    """fsm-agent in this process, talking to a simulated host and to ``server``."""

    runtime: _Runtime
    host: HostLoop
    sim: HostSim

    def turn(self, text: str) -> TurnDone:
        """Say ``text``; return the turn's end once its last sentence has been spoken."""
        before = len(self.runtime.turns)
        self.host.say(text)
        with self.runtime.changed:
            done = self.runtime.changed.wait_for(lambda: len(self.runtime.turns) > before, WAIT)
        assert done, f"the turn for {text!r} never ended"
        return self.runtime.turns[before]

    def spoken(self) -> list[str]:
        """Every sentence the host's synthesizer started, in order."""
        return [s.text for s in self.sim.spoken]


@pytest.fixture
def agent_for(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-reasoning")
    made: list[tuple[_Runtime, HostLoop, threading.Thread, Recorder | None]] = []

    def make(server: FakeOpenAI, **changes: Any) -> Agent:
        settings = replace(Settings(), base_url=server.base_url, max_retries=0, **changes)
        controller = Controller(settings)
        sim = HostSim(chars_per_second=2000.0, min_seconds=0.01, stop_latency=0.01)
        backend = OpenAIBackend(settings)
        backend.loop_and_client()  # `import openai` done: the short timeouts time the server only
        runtime = _Runtime(controller, backend, lambda line: None)
        recorder = attach(runtime, settings, "run")
        host = HostLoop(runtime_delivery(runtime.post), sim).start()
        runtime.write = host.child_line
        thread = threading.Thread(target=runtime.run, name="agent-loop", daemon=True)
        thread.start()
        made.append((runtime, host, thread, recorder))
        return Agent(runtime, host, sim)

    yield make
    for runtime, host, thread, recorder in made:
        runtime.post(QUIT)
        thread.join(5.0)
        host.close()
        if recorder is not None:
            recorder.close()


# ---- 1. the thinking is never spoken nor kept ------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_think_in_the_content_speaks_only_the_reply(agent_for: Any, dialect: str) -> None:
    reply = "<think>The user greets me. I should greet back warmly.</think>\n\nこんにちは！"
    with FakeOpenAI(reply, dialect=dialect) as server:
        agent = agent_for(server)
        done = agent.turn("こんにちは")
        assert agent.spoken() == ["こんにちは！"]
        assert (done.outcome, done.heard) == ("done", "こんにちは！")
        assert agent.runtime.controller.history.messages()[-1] == {
            "role": "assistant",
            "content": "こんにちは！",
        }
        # and the next turn is answered as usual
        server.reply = "元気です。"
        assert agent.turn("元気？").heard == "元気です。"


def test_think_in_a_whole_reply_without_streaming(agent_for: Any) -> None:
    with FakeOpenAI("<think>Greeting. Answer briefly.</think>こんにちは！元気です。") as server:
        agent = agent_for(server, no_stream=True)
        done = agent.turn("こんにちは")
        assert agent.spoken() == ["こんにちは！", "元気です。"]
        assert done.heard == "こんにちは！元気です。"


def test_a_reply_with_only_the_closing_tag_is_not_kept_and_teaches_the_next_turn(
    agent_for: Any,
) -> None:
    replies = {
        "hi": "The user greets me. I greet back.</think>Hello there!",
        "how are you": "They ask how I am.</think>Fine, thanks!",
    }
    with FakeOpenAI(replies, dialect="llama-server") as server:
        agent = agent_for(server, voice="slt_voice_normal", lang="en")
        first = agent.turn("hi")
        assert first.heard == "Hello there!"
        second = agent.turn("how are you")
        assert second.heard == "Fine, thanks!"
        assert "They ask how I am." not in agent.spoken()  # learnt: nothing of it is said
        assert [m["content"] for m in agent.runtime.controller.history.messages()[-4:]] == [
            "hi",
            "Hello there!",
            "how are you",
            "Fine, thanks!",
        ]


# ---- 2. a server that is working is not given up on -------------------------------------------


@pytest.mark.parametrize("dialect", ["llama-server", "vllm", "openai"])
def test_reasoning_deltas_longer_than_the_stream_timeout_are_answered(
    agent_for: Any, dialect: str
) -> None:
    # 25 reasoning chunks 0.1 s apart: 2.5 s of thinking where plain silence fails after 0.8 s.
    thinking = "Let me think about this carefully. " * 5
    with FakeOpenAI(
        "Here is my answer.",
        dialect=dialect,
        reasoning=thinking,
        think_delay=0.1,
        chunk_chars=(7, 7),
    ) as server:
        agent = agent_for(server, stream_timeout=0.8, voice="slt_voice_normal", lang="en")
        done = agent.turn("a hard question")
        assert (done.outcome, agent.spoken()) == ("done", ["Here is my answer."])


@pytest.mark.parametrize("dialect", ["llama-server", "llama-cpp-python"])
def test_a_server_silent_after_its_headers_is_answered(agent_for: Any, dialect: str) -> None:
    # llama-server sends its headers at once, then nothing until the prompt is processed.
    with FakeOpenAI("お待たせしました。", dialect=dialect) as server:
        agent = agent_for(server, stream_timeout=0.5)
        server.push(delay_first=2.0)
        done = agent.turn("長い質問")
        assert (done.outcome, agent.spoken()) == ("done", ["お待たせしました。"])


def test_a_server_that_never_answers_is_still_given_up_on(agent_for: Any) -> None:
    with FakeOpenAI("unused") as server:
        agent = agent_for(server, stream_timeout=0.5)
        server.push("no_answer")  # not even headers: the server is gone
        done = agent.turn("もしもし")
        assert (done.outcome, agent.spoken()) == ("failed", [APOLOGY_JA])


def test_endless_thinking_ends_at_the_think_timeout(agent_for: Any) -> None:
    with FakeOpenAI(
        "never said.", reasoning="Hmm. " * 400, think_delay=0.02, chunk_chars=(5, 5)
    ) as server:
        agent = agent_for(server, stream_timeout=0.5, think_timeout=1.0, error_reply="none")
        done = agent.turn("考えて")
        assert (done.outcome, agent.spoken()) == ("failed", [])


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fired(interp: Interpreter, clock: _Clock, seconds: float, step: float) -> None:
    """Let ``seconds`` pass in steps, firing what falls due."""
    end = clock.now + seconds
    while clock.now < end:
        clock.now = min(end, clock.now + step)
        interp.fire_due()


def test_the_defaults_allow_40_s_of_thinking_and_40_s_before_the_first_byte() -> None:
    """With default settings, on a simulated clock: each 40 s wait is answered."""
    for progress in ("thinking", "accepted"):
        clock = _Clock()
        controller = Controller(Settings(voice="slt_voice_normal", lang="en"))
        interp = Interpreter(controller, Effects(), clock)
        interp.feed(Utterance("hi"))
        interp.feed(Progress(1, "accepted"))  # the response headers came
        if progress == "thinking":  # a reasoning delta a second, for 40 s
            for _ in range(40):
                _fired(interp, clock, 1.0, 1.0)
                interp.feed(Progress(1, "thinking"))
        else:  # silence for 40 s, then the first byte
            _fired(interp, clock, 40.0, 1.0)
        assert controller.state == "Generating", progress
        commands = interp.feed(Chunk(1, "Hello there. "))
        commands += interp.feed(StreamEnd(1))
        assert [c for c in commands if isinstance(c, TurnDone)] == [], progress
        assert controller.state == "Draining", progress


def test_the_defaults_give_up_on_a_server_that_is_gone() -> None:
    """No answer at all within stream_timeout (30 s): the turn fails, the apology is said."""
    clock = _Clock()
    controller = Controller(Settings())
    sent: list[str] = []

    class Host(Effects):
        def send(self, command: Any) -> None:
            sent.append(command.line)

    interp = Interpreter(controller, Host(), clock)
    interp.feed(Utterance("hi"))
    _fired(interp, clock, 29.0, 1.0)
    assert controller.state == "Generating"
    _fired(interp, clock, 2.0, 1.0)
    assert sent == [f"SYNTH_START|0|mei_voice_normal|{APOLOGY_JA}"]


# ---- 3. the filler ------------------------------------------------------------------------


def test_the_filler_fills_a_slow_reply_once_and_never_over_our_speech(agent_for: Any) -> None:
    with FakeOpenAI("お待たせしました。", dialect="llama-server") as server:
        agent = agent_for(
            server,
            filler="auto",
            filler_after=0.2,
            filler_message="MOTION_ADD|{alias}|think|motions/think.vmd|PART|ONCE",
        )
        lines: list[str] = []
        agent.runtime.observers.append(lambda way, line: lines.append(line) if way == "out" else 0)
        server.push(delay_first=1.0)
        done = agent.turn("ねえ")
        assert agent.spoken() == ["えーと。", "お待たせしました。"]
        assert lines == [
            "MOTION_ADD|0|think|motions/think.vmd|PART|ONCE",
            "SYNTH_START|0|mei_voice_normal|えーと。",
            "SYNTH_START|0|mei_voice_normal|お待たせしました。",
        ]
        assert done.heard == "お待たせしました。"
        assert not [v for v in agent.sim.violations if v.kind == "burged_in"]
        agent.turn("もう一回")  # a fast reply: no filler
        assert agent.spoken()[2:] == ["お待たせしました。"]


# ---- 4. the conversation does not lock --------------------------------------------------------


@pytest.mark.parametrize("dialect", ["llama-server", "vllm", "litellm", "openai"])
def test_after_a_context_overflow_the_turn_and_later_turns_are_answered(
    agent_for: Any, dialect: str
) -> None:
    story = "Once upon a time a cat lived in a small house by the sea. " * 8
    replies = {"tell me a story": story, "and then?": "The end.", "thanks": "You are welcome."}
    with FakeOpenAI(replies, dialect=dialect, n_ctx=150) as server:
        agent = agent_for(server, voice="slt_voice_normal", lang="en", max_reply_chars=4000)
        assert agent.turn("tell me a story").outcome == "done"
        refused_before = _refused(server)
        done = agent.turn("and then?")  # the story no longer fits: 400, trimmed, sent again
        assert (done.outcome, done.heard) == ("done", "The end.")
        assert _refused(server) == refused_before + 1
        later = agent.turn("thanks")
        assert (later.outcome, later.heard) == ("done", "You are welcome.")
        assert _refused(server) == refused_before + 1  # the limit was learnt


def _refused(server: FakeOpenAI) -> int:
    """How many chat requests the server refused as too long."""
    from fsm_agent.testing.wire import prompt_tokens

    n_ctx = server.state.n_ctx or 0
    return sum(
        1
        for r in server.requests
        if isinstance(r.body, dict) and prompt_tokens(r.body["messages"]) > n_ctx
    )


# ---- 5. a failed turn is not silent -----------------------------------------------------------


@pytest.mark.parametrize(
    ("voice", "apology"),
    [("mei_voice_normal", APOLOGY_JA), ("slt_voice_normal", "Sorry, I could not answer that.")],
)
def test_a_failed_turn_says_the_default_apology(agent_for: Any, voice: str, apology: str) -> None:
    with FakeOpenAI("unused") as server:
        agent = agent_for(server, voice=voice)
        server.push(500)
        done = agent.turn("hello")
        assert (done.outcome, agent.spoken()) == ("failed", [apology])
        assert agent.runtime.controller.history.turns == []


def test_the_apology_can_be_turned_off(agent_for: Any) -> None:
    with FakeOpenAI("unused") as server:
        agent = agent_for(server, error_reply="none")
        server.push(503)
        done = agent.turn("hello")
        assert (done.outcome, agent.spoken()) == ("failed", [])


# ---- 6. a recorded session replays as it ran ---------------------------------------------------


def test_a_record_of_thinking_and_an_overflow_replays_as_it_ran(
    agent_for: Any, tmp_path: Path
) -> None:
    """The record keeps the signs of work and the overflow's numbers: replay takes the same
    path (without them, replay would see 2.5 s of silence and fail where the run answered)."""
    record = tmp_path / "session.jsonl"
    story = "Once upon a time a cat lived in a small house by the sea. " * 8
    replies = {"tell me a story": story, "and then?": "The end."}
    with FakeOpenAI(
        replies, reasoning="Let me think. " * 5, think_delay=0.1, chunk_chars=(7, 7), n_ctx=150
    ) as server:
        agent = agent_for(
            server, stream_timeout=0.8, voice="slt_voice_normal", lang="en", record=record
        )
        agent.turn("tell me a story")
        assert agent.turn("and then?").heard == "The end."
        sent = [line for line in _lines_sent(record)]
    replayed = run_agent("replay", str(record), "--sent-only")
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.splitlines() == sent
    assert sent[-1] == "SYNTH_START|0|slt_voice_normal|The end."


def _lines_sent(record: Path) -> list[str]:
    entries = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    return [e["line"] for e in entries if e["dir"] == "out"]
