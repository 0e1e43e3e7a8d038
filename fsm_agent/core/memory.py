"""The controller's memory: what a turn leaves in the history, the running summary, forgetting.

Pure like the controller: each method returns the commands it causes. The history file and
the summary's LLM request are the runtime's (``Remember``, ``Summarize``, ...).
"""

from __future__ import annotations

import logging

from fsm_agent.core.events import (
    CancelSummary,
    ClearMemory,
    Command,
    Remember,
    RememberSummary,
    Summarize,
    SummaryDone,
    SummaryFailed,
)
from fsm_agent.core.history import History
from fsm_agent.core.settings import MIN_SUMMARY_TOKENS, BargeInMark, Settings
from fsm_agent.core.summary import clean_summary, summary_request

log = logging.getLogger("fsm_agent.core.memory")

SUMMARY_REQUEST_MIN_TOKENS = 1000
"""A summary request may take this much even when the history's budget is smaller: its own
instructions, the summary so far and at least a few turns must fit."""

MARKS: dict[str, str] = {"ellipsis": "…", "note": "[interrupted]", "none": ""}
"""What ends a reply the user cut off, by ``barge_in_mark``."""


def mark_interrupted(heard: str, style: BargeInMark) -> str:
    """Return what to keep of a reply the user cut off: what was heard, then the mark.

    Args:
        heard: The sentences the user heard to their end ("" for none).
        style: ``barge_in_mark``.

    Returns:
        E.g. ``"Sure. Let me think …"``, ``"はい…"``; "" with ``none`` and nothing heard.

    """
    sign = MARKS[style]
    if not sign or not heard:
        return heard or sign
    glue = "" if sign == "…" and not heard[-1].isascii() else " "
    return heard + glue + sign


class Memory:
    """Commits turns, keeps the running summary going between turns, forgets on request.

    Args:
        history: The conversation (the controller's).
        settings: ``barge_in_mark``, ``summarize``, ``summary_tokens``.

    Attributes:
        asked: The last summary request made (None before the first).

    """

    def __init__(self, history: History, settings: Settings) -> None:
        self.history = history
        self.mark: BargeInMark = settings.barge_in_mark
        self.summarize = settings.summarize
        # The summary lives inside the history's budget: at most a third of it.
        self.summary_tokens = min(
            settings.summary_tokens, max(MIN_SUMMARY_TOKENS, history.max_tokens // 3)
        )
        self.asked: Summarize | None = None
        self._job = 0
        self._running = False
        self._due = bool(history.pending)  # a failure waits for the next turn to retry

    def commit(self, user: str, heard: str, *, interrupted: bool) -> list[Command]:
        """Keep a finished turn: what the user heard, marked when the user cut it off.

        Args:
            user: What the user said.
            heard: The sentences the user heard to their end, joined.
            interrupted: The user cut the reply off.

        Returns:
            ``Remember`` for the history file, or nothing when there is nothing to keep.

        """
        assistant = mark_interrupted(heard, self.mark) if interrupted else heard
        if not assistant:
            return []
        turn = self.history.commit(user, assistant, interrupted=interrupted)
        self._due = True
        return [Remember(turn.n, turn.user, turn.assistant, turn.interrupted)]

    def summary_due(self) -> bool:
        """Trimmed turns wait for the summary, none is being made, and the last did not fail."""
        return self.summarize and self._due and bool(self.history.pending) and not self._running

    def start_summary(self) -> list[Command]:
        """Ask for the next summary (call while idle, when :meth:`summary_due`)."""
        self._job += 1
        self._running = True
        messages, through = summary_request(
            self.history.summary,
            self.history.pending,
            self.summary_tokens // 2,
            max(self.history.max_tokens, SUMMARY_REQUEST_MIN_TOKENS),
        )
        self.asked = Summarize(self._job, tuple(messages), through)
        return [self.asked]

    def before_turn(self) -> list[Command]:
        """A turn begins: a summary still being made must not hold up its reply."""
        if not self._running:
            return []
        self._running = False
        log.debug("summary %d cancelled: a turn begins", self._job)
        return [CancelSummary(self._job)]

    def take_summary(self, event: SummaryDone) -> list[Command]:
        """Keep the summary that came back (if it is the latest asked for and not forgotten).

        One cancelled a moment too late still counts: it covers turns that are still waiting.

        Returns:
            ``RememberSummary`` for the history file, or nothing.

        """
        if event.job != self._job:
            return []
        self._running = False
        text = clean_summary(event.text, self.summary_tokens)
        if not text:
            log.warning("the summary came back empty; trying again after the next turn")
            self._due = False
            return []
        self.history.set_summary(text, event.through)
        log.info("summary now covers the turns up to %d", event.through)
        return [RememberSummary(text, event.through)]

    def summary_failed(self, event: SummaryFailed) -> None:
        """The summary request failed: try again after the next turn, not in a loop."""
        if event.job == self._job:
            self._running = False
            self._due = False
            log.warning("the summary request failed: %s", event.reason)

    def forget(self) -> list[Command]:
        """Forget the conversation, its summary and any summary under way."""
        commands = self.before_turn()
        self._job += 1  # a late answer of any earlier job is ignored
        self._due = False
        self.history.clear()
        log.info("the conversation is forgotten")
        return [*commands, ClearMemory()]
