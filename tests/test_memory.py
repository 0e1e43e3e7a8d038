"""The controller's memory (issue 17): the interruption mark, summary rounds and forgetting."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fsm_agent.core.events import (
    CancelSummary,
    ClearMemory,
    Remember,
    RememberSummary,
    Summarize,
    SummaryDone,
    SummaryFailed,
)
from fsm_agent.core.history import History, estimate_tokens
from fsm_agent.core.memory import Memory, mark_interrupted
from fsm_agent.core.settings import Settings


@pytest.mark.parametrize(
    ("heard", "style", "kept"),
    [
        ("Sure. Let me think.", "ellipsis", "Sure. Let me think. …"),
        ("はい、そうです。", "ellipsis", "はい、そうです。…"),
        ("", "ellipsis", "…"),
        ("Sure.", "note", "Sure. [interrupted]"),
        ("", "note", "[interrupted]"),
        ("Sure.", "none", "Sure."),
        ("", "none", ""),
    ],
)
def test_the_interruption_mark(heard: str, style: str, kept: str) -> None:
    assert mark_interrupted(heard, style) == kept  # type: ignore[arg-type]


def memory(**changes: object) -> Memory:
    settings = replace(Settings(system_prompt="sys"), **changes)  # type: ignore[arg-type]
    history = History(
        "sys", settings.history_turns, settings.history_tokens, summarize=settings.summarize
    )
    return Memory(history, settings)


def test_a_committed_turn_is_remembered_with_its_number() -> None:
    m = memory()
    assert m.commit("hi", "Hello.", interrupted=False) == [Remember(1, "hi", "Hello.", False)]
    assert m.commit("tell me", "", interrupted=True) == [Remember(2, "tell me", "…", True)]
    assert m.commit("nothing", "", interrupted=False) == []
    assert memory(barge_in_mark="none").commit("x", "", interrupted=True) == []


def test_no_summary_without_the_setting() -> None:
    m = memory(history_turns=1)
    for i in range(5):
        m.commit(f"u{i}", f"a{i}", interrupted=False)
    assert not m.history.pending
    assert not m.summary_due()


def test_a_summary_round_covers_the_trimmed_turns() -> None:
    m = memory(history_turns=2, summarize=True)
    for i in range(4):
        m.commit(f"u{i}", f"a{i}", interrupted=False)
    assert [t.n for t in m.history.pending] == [1, 2]
    assert m.summary_due()
    (ask,) = m.start_summary()
    assert isinstance(ask, Summarize) and ask.through == 2
    assert "u0" in ask.messages[-1]["content"] and "u1" in ask.messages[-1]["content"]
    assert not m.summary_due()  # one at a time
    kept = m.take_summary(SummaryDone(ask.job, "  <think>hm</think> The user counted.  ", 2))
    assert kept == [RememberSummary("The user counted.", 2)]
    assert m.history.pending == []
    assert "The user counted." in m.history.messages()[0]["content"]


def test_a_turn_cancels_the_summary_and_a_late_answer_still_counts() -> None:
    m = memory(history_turns=1, summarize=True)
    m.commit("u0", "a0", interrupted=False)
    m.commit("u1", "a1", interrupted=False)
    (ask,) = m.start_summary()
    assert m.before_turn() == [CancelSummary(ask.job)]
    assert m.before_turn() == []
    assert m.take_summary(SummaryDone(ask.job, "Late but right.", ask.through))
    assert m.history.summary == "Late but right."


def test_a_failed_summary_waits_for_the_next_turn() -> None:
    m = memory(history_turns=1, summarize=True)
    m.commit("u0", "a0", interrupted=False)
    m.commit("u1", "a1", interrupted=False)
    (ask,) = m.start_summary()
    m.summary_failed(SummaryFailed(ask.job, "HTTP 500"))
    assert not m.summary_due()  # no retry loop while idle
    m.commit("u2", "a2", interrupted=False)
    assert m.summary_due()


def test_forget_clears_everything_and_ignores_a_late_summary() -> None:
    m = memory(history_turns=1, summarize=True)
    m.commit("u0", "a0", interrupted=False)
    m.commit("u1", "a1", interrupted=False)
    (ask,) = m.start_summary()
    assert m.forget() == [CancelSummary(ask.job), ClearMemory()]
    assert m.take_summary(SummaryDone(ask.job, "old", ask.through)) == []
    assert m.history.turns == [] and m.history.pending == [] and m.history.summary == ""
    assert m.commit("again", "Hi.", interrupted=False) == [Remember(1, "again", "Hi.", False)]


def test_fifty_turns_with_summaries_stay_within_the_budget() -> None:
    m = memory(history_tokens=400, summary_tokens=120, summarize=True)
    for i in range(50):
        request = m.history.request(f"Question number {i}: what about topic {i}? " * 2)
        assert sum(estimate_tokens(msg["content"]) for msg in request) <= 400, i
        m.commit(f"Question number {i}", f"Answer {i}. " * 12, interrupted=False)
        while m.summary_due():
            (ask,) = m.start_summary()
            assert isinstance(ask, Summarize)
            words = f"The user asked questions up to number {ask.through} and got answers. "
            m.take_summary(SummaryDone(ask.job, words * 20, ask.through))  # too long: cut
    assert m.history.summary.startswith("The user asked questions up to number")
    assert m.history.pending == []
    assert m.history.tokens() <= 400
