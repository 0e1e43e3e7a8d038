"""The running summary over the wire (issue 17): 50 turns, the real runtime and openai client.

The fake server plays a model that answers chat requests and, asked by the summarizer's prompt,
condenses the turns it is given. The test checks, from the server's request log and the
runtime's own order of events, that every chat request stays within the token budget, that a
summary is never asked for between an utterance and its reply's first SYNTH_START (one still
running is cancelled before the reply's request), and that the summary reaches later requests
and the history file.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from fsm_agent.core.backend import Backend, Messages, ReplyStream
from fsm_agent.core.controller import Controller
from fsm_agent.core.events import (
    CancelSummary,
    Event,
    StartStream,
    Summarize,
    SummaryDone,
    SummaryFailed,
)
from fsm_agent.core.history import estimate_tokens
from fsm_agent.core.settings import Settings
from fsm_agent.core.summary import SUMMARY_PROMPT
from fsm_agent.runtime.history_file import parse, remembered_history
from fsm_agent.runtime.loop import QUIT, Runtime
from fsm_agent.sim.host_loop import HostLoop, runtime_delivery
from fsm_agent.sim.host_sim import HostSim
from fsm_agent.testing.fake_openai import FakeOpenAI

BUDGET = 400
TURNS = 50
SUMMARY_START = SUMMARY_PROMPT[:40]


def fake_model(messages: Messages) -> str:
    """Answer a chat turn, or condense the turns when the summarizer asks."""
    if messages[0]["content"].startswith(SUMMARY_START):
        text = messages[-1]["content"]
        old = text.split("Summary so far:\n", 1)[1].split("\n\nNew turns:", 1)[0]
        numbers = [int(n) for n in re.findall(r"things? (\d+)", old)]
        numbers += [int(n) for n in re.findall(r"^User: I like thing(\d+)", text, flags=re.M)]
        return f"The user likes things {min(numbers)} to {max(numbers)}, one per turn."
    return f"Oh, {messages[-1]['content'].split()[-1]} is a fine thing to like. Tell me more!"


class WatchedRuntime(Runtime):
    """The runtime, writing down (on its loop thread) when it starts and cancels requests."""

    def __init__(self, *args: object, log: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.log = log

    def feed(self, event: Event) -> None:
        if isinstance(event, SummaryDone | SummaryFailed):
            self.log.append(("summary-back", str(event.job)))
        super().feed(event)

    def start_stream(self, command: StartStream) -> None:
        self.log.append(("stream", command.messages[-1]["content"]))
        super().start_stream(command)

    def summarize(self, command: Summarize) -> None:
        self.log.append(("summarize", str(command.job)))
        super().summarize(command)

    def cancel_summary(self, command: CancelSummary) -> None:
        self.log.append(("cancel-summary", str(command.job)))
        super().cancel_summary(command)


class Finishing:
    """A backend whose streams tell when they end, so the test can wait for a summary."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.running = 0
        self.lock = threading.Condition()

    def open(self, messages: Messages) -> ReplyStream:
        with self.lock:
            self.running += 1
        try:
            return _Ending(self.backend.open(messages), self)
        except Exception:
            self.done()
            raise

    def done(self) -> None:
        with self.lock:
            self.running -= 1
            self.lock.notify_all()


class _Ending:
    def __init__(self, stream: ReplyStream, owner: Finishing) -> None:
        self.stream = stream
        self.owner = owner
        self.closed = False

    @property
    def total_tokens(self) -> int | None:
        return self.stream.total_tokens

    def __iter__(self) -> Iterator[str]:
        try:
            yield from self.stream
        finally:
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.stream.close()
            self.owner.done()


def test_fifty_turns_stay_within_the_budget_and_summaries_never_delay_a_reply(
    tmp_path: Path,
) -> None:
    history_path = tmp_path / "memory.jsonl"
    with FakeOpenAI(reply=fake_model) as server:
        settings = replace(
            Settings(),
            base_url=server.base_url,
            api_key_env="FSM_TEST_NO_KEY",
            system_prompt="You are brief.",
            lang="en",
            voice="slt_voice_normal",
            history_tokens=BUDGET,
            summary_tokens=100,
            summarize=True,
            history_file=history_path,
        )
        from fsm_agent.backends.openai_compat import OpenAIBackend

        backend = OpenAIBackend(settings)
        summaries = Finishing(backend)
        history, history_file = remembered_history(settings)
        controller = Controller(settings, history)
        order: list[tuple[str, str]] = []
        runtime = WatchedRuntime(
            controller,
            backend,
            lambda line: None,
            log=order,
            history_file=history_file,
            summary_backend=summaries,
        )
        turns_over = threading.Condition()
        runtime.observers.append(lambda kind, line: order.append((kind, line)))

        def notify(kind: str, line: str) -> None:
            with turns_over:
                turns_over.notify_all()

        runtime.observers.append(notify)
        sim = HostSim(chars_per_second=4000.0, min_seconds=0.002, stop_latency=0.002)
        loop_thread = threading.Thread(target=runtime.run, daemon=True)
        with HostLoop(runtime_delivery(runtime.post), sim) as host:
            runtime.write = host.child_line
            loop_thread.start()
            words = [f"thing{i}" for i in range(TURNS)]
            for i, word in enumerate(words):
                host.say(f"I like {word}")
                with turns_over:
                    assert turns_over.wait_for(lambda n=i: runtime.turns_done > n, 20)
                if i % 2:  # every other turn: let the summary finish before the next one
                    with summaries.lock:
                        assert summaries.lock.wait_for(lambda: summaries.running == 0, 20)
            runtime.post(QUIT)
            loop_thread.join(10)
        assert sim.violations == []

    chats = [r.body["messages"] for r in server.chat_requests if r.body and "messages" in r.body]
    replies = [m for m in chats if not m[0]["content"].startswith(SUMMARY_START)]
    asked = [m for m in chats if m[0]["content"].startswith(SUMMARY_START)]
    assert len(replies) == TURNS
    assert len(asked) >= 5
    for messages in replies:  # every request within the budget, its own utterance included
        assert sum(estimate_tokens(m["content"]) for m in messages) <= BUDGET
    # the summary reaches the requests: late ones remember likes no longer sent as turns
    last = replies[-1]
    assert "I like thing0" not in str(last[1:])
    remembered = re.search(r"The user likes things 0 to (\d+)", last[0]["content"])
    assert remembered and int(remembered[1]) >= 30

    # ordering: between an utterance and its first SYNTH_START no summary is asked for, and a
    # running one is cancelled before the reply's request is sent
    running: str | None = None
    waiting_for_first_sentence = False
    for kind, detail in order:
        if kind == "in" and detail.startswith("RECOG_EVENT_STOP|"):
            waiting_for_first_sentence = True
        elif kind == "out" and detail.startswith("SYNTH_START|"):
            waiting_for_first_sentence = False
        elif kind == "summarize":
            assert not waiting_for_first_sentence, order
            running = detail
        elif kind == "cancel-summary":
            assert detail == running
            running = None
        elif kind == "summary-back" and detail == running:
            running = None
        elif kind == "stream":
            assert running is None or not waiting_for_first_sentence, order
    assert any(kind == "cancel-summary" for kind, _ in order)  # the cancel path was taken

    # the summary and the turns are in the file: a restart sends the same conversation
    saved = parse(history_path.read_bytes())
    assert saved.summary == controller.history.summary
    reloaded, file = remembered_history(settings)
    assert file is not None
    file.close()
    assert reloaded.messages() == controller.history.messages()
