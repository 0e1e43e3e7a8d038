from __future__ import annotations

from typing import Any

import pytest

from fsm_agent.core.backend import last_user_text
from fsm_agent.core.history import History, estimate_tokens


def test_messages_start_with_the_system_prompt_and_alternate() -> None:
    h = History("be brief", max_turns=5, max_tokens=10_000)
    h.commit("hi", "hello")
    h.commit("how are you", "fine")
    roles = [m["role"] for m in h.messages("next")]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user"]
    assert h.messages()[0] == {"role": "system", "content": "be brief"}


def test_trimmed_by_turn_count_oldest_first() -> None:
    h = History("sys", max_turns=2, max_tokens=10_000)
    for i in range(5):
        h.commit(f"u{i}", f"a{i}")
    assert [t.user for t in h.turns] == ["u3", "u4"]


def test_trimmed_by_tokens_but_system_prompt_stays() -> None:
    h = History("S" * 400, max_turns=100, max_tokens=300)
    for i in range(10):
        h.commit("質問" * 10 + str(i), "答え" * 10)
    assert h.tokens() <= 300
    assert h.messages()[0]["content"] == "S" * 400
    assert 0 < len(h.turns) < 10
    assert h.turns[-1].user.endswith("9")


def test_reported_usage_calibrates_the_estimate() -> None:
    h = History("sys", max_turns=100, max_tokens=1000)
    h.commit("hello", "world")
    before = h.tokens()
    h.calibrate(before * 3, h.messages(), "")
    assert h.tokens() >= before * 2


def test_cjk_costs_more_tokens_per_character_than_latin() -> None:
    assert estimate_tokens("あ" * 100) > estimate_tokens("a" * 100)


def test_absurd_usage_is_not_believed() -> None:
    h = History("sys", max_turns=100, max_tokens=1000)
    h.commit("hello", "world")
    h.commit("how are you", "fine")
    before = h.tokens()
    h.calibrate(1_000_000_000, h.messages("next"), "reply")
    assert h.tokens() == before
    assert len(h.turns) == 2
    h.calibrate(1, h.messages("next"), "a long reply " * 20)  # far too few: not believed either
    assert h.tokens() == before


def test_usage_within_the_bounds_is_believed_up_to_them() -> None:
    h = History("sys", max_turns=100, max_tokens=100_000)
    h.commit("hello", "world")
    messages = h.messages("next")
    estimated = sum(estimate_tokens(m["content"]) for m in messages) + estimate_tokens("")
    h.calibrate(estimated * 15, messages, "")
    assert h.tokens() >= 14 * sum(estimate_tokens(m["content"]) for m in h.messages())


def test_the_token_budget_never_drops_the_last_exchange() -> None:
    h = History("sys", max_turns=10, max_tokens=50)
    h.commit("short", "reply")
    h.commit("a very long question " * 30, "a very long answer " * 30)
    assert [t.user[:6] for t in h.turns] == ["a very"]
    assert h.tokens() > 50


def test_history_turns_zero_still_keeps_none() -> None:
    h = History("sys", max_turns=0, max_tokens=50)
    h.commit("hello", "world")
    assert h.turns == []


@pytest.mark.parametrize(
    ("messages", "text"),
    [
        ([{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}], "hi"),
        (
            [
                {"role": "user", "content": "first"},
                {"role": "assistant", "content": "a"},
                {"role": "user", "content": "second"},
                {"role": "assistant", "content": "b"},
            ],
            "second",
        ),
        (
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "look "},
                        {"type": "image_url", "image_url": {"url": "x"}},
                        {"type": "text", "text": "here"},
                    ],
                }
            ],
            "look here",
        ),
        ([{"role": "system", "content": "s"}], ""),
        ([{"role": "user", "content": None}], ""),
        (["not a message", {"role": "user", "content": "ok"}, 3], "ok"),
        ([], ""),
    ],
)
def test_last_user_text(messages: list[Any], text: str) -> None:
    assert last_user_text(messages) == text


def _long_history() -> History:
    h = History("be brief", max_turns=20, max_tokens=10_000)
    for i in range(6):
        h.commit(f"question {i}", "a long answer " * 40)
    return h


def test_fit_context_uses_the_servers_numbers_and_keeps_the_lower_budget() -> None:
    h = _long_history()
    request = h.messages("next")
    estimated = sum(estimate_tokens(m["content"]) for m in request)
    # the server counts twice our estimate, and its context is half the request
    assert h.fit_context(request, "next", 2 * estimated, estimated) is True
    sent = sum(estimate_tokens(m["content"]) for m in h.messages("next")) * 2
    assert sent <= estimated - estimated // 4  # fits, with a quarter left for the reply
    assert h.max_tokens < 10_000  # learnt: later commits trim to it
    budget = h.max_tokens
    h.commit("more", "a long answer " * 40)
    assert h.tokens() <= budget or len(h.turns) == 1


def test_fit_context_without_numbers_halves_and_reports_when_nothing_can_go() -> None:
    h = _long_history()
    request = h.messages("next")
    before = len(h.turns)
    assert h.fit_context(request, "next", None, None) is True
    assert 0 < len(h.turns) < before
    empty = History("be brief")
    assert empty.fit_context(empty.messages("hi"), "hi", 5000, 100) is False  # nothing to drop


def test_a_request_fits_the_budget_with_its_own_utterance() -> None:
    h = History("sys", max_turns=100, max_tokens=200)
    for i in range(10):
        h.commit(f"question {i} " * 5, f"answer {i} " * 5)
    long_question = "and what about this? " * 30
    request = h.request(long_question)
    assert sum(estimate_tokens(m["content"]) for m in request) <= 200
    assert request[-1] == {"role": "user", "content": long_question}
    assert request[1]["role"] == "user"  # whole turns were dropped, oldest first


def test_the_summary_goes_into_the_one_system_message() -> None:
    h = History("be brief", max_turns=5, max_tokens=10_000, summarize=True)
    h.commit("hi", "hello")
    h.set_summary("The user is Aki.", through=0)
    messages = h.messages("next")
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[0]["content"].startswith("be brief\n\n")
    assert messages[0]["content"].endswith("The user is Aki.")
