"""The conversation sent with each request, and how it is trimmed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import regex

log = logging.getLogger("fsm_agent.core.history")

SCALE_BOUNDS = (1 / 16, 16.0)
"""The server's token count over our estimate that a usage report may set.

Real tokenizers stay well inside: about 1x for English and CJK, up to some 8x for scripts that
byte-level tokenizers cut into pieces (Devanagari, Thai). A report outside is not believed
(``total_tokens: 1000000000`` would otherwise make every turn too big to keep)."""

_WIDE = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]")

SUMMARY_HEADING = "What was said earlier in this conversation, in short:"
"""Put before the running summary, after the system prompt, in the request's system message."""


def estimate_tokens(text: str) -> int:
    """Estimate the tokens a text costs when the server reports no usage.

    About one token per CJK character and one per four other characters, plus a few for the
    message's framing: close enough to keep a budget, never used for billing.

    Args:
        text: A message's content.

    Returns:
        The estimated token count.

    """
    wide = len(_WIDE.findall(text))
    return wide + (len(text) - wide + 3) // 4 + 4


@dataclass(slots=True)
class Turn:
    """One committed exchange: what the user said and what of the reply the user heard.

    Attributes:
        user: What the user said.
        assistant: What of the reply the user heard (with the interruption mark, if any).
        n: The turn's number in this conversation (1, 2, ...); a summary names the last
            number it covers.
        interrupted: The user cut the reply off.

    """

    user: str
    assistant: str
    n: int = 0
    interrupted: bool = False


@dataclass
class History:
    """A system prompt, a running summary, then user/assistant turns, trimmed to the limits.

    Args:
        system_prompt: Sent first with every request; never trimmed.
        max_turns: Keep at most this many turns (0 keeps none).
        max_tokens: Keep the whole conversation within this many tokens.
        summarize: Keep trimmed turns in ``pending`` until a summary covers them; without
            it they are forgotten at once.

    Attributes:
        summary: The running summary of turns trimmed earlier ("" when none).
        pending: Turns trimmed but not yet in the summary, oldest first.

    """

    system_prompt: str
    max_turns: int = 20
    max_tokens: int = 3000
    summarize: bool = False
    turns: list[Turn] = field(default_factory=list)
    summary: str = ""
    pending: list[Turn] = field(default_factory=list)
    _scale: float = 1.0
    _distrusted: bool = False  # an absurd usage report has been logged
    _next_n: int = 1

    def system_content(self) -> str:
        """Return the system message: the prompt, then the summary when there is one."""
        if not self.summary:
            return self.system_prompt
        block = f"{SUMMARY_HEADING}\n{self.summary}"
        return f"{self.system_prompt}\n\n{block}" if self.system_prompt else block

    def messages(self, user_text: str | None = None) -> list[dict[str, str]]:
        """Return the request's messages, optionally with a new user message at the end.

        The summary goes into the one system message rather than a second one: many chat
        templates (llama.cpp, Gemma, Mistral) reject a system message after the first.
        """
        out: list[dict[str, str]] = []
        system = self.system_content()
        if system:
            out.append({"role": "system", "content": system})
        for turn in self.turns:
            out.append({"role": "user", "content": turn.user})
            out.append({"role": "assistant", "content": turn.assistant})
        if user_text is not None:
            out.append({"role": "user", "content": user_text})
        return out

    def request(self, user_text: str) -> list[dict[str, str]]:
        """Trim so that the history and ``user_text`` fit the budget together; the messages.

        Args:
            user_text: The new utterance.

        Returns:
            What :meth:`messages` returns for it.

        """
        room = self.max_tokens - round(estimate_tokens(user_text) * self._scale)
        self._drop_while(lambda: self.tokens() > room)
        return self.messages(user_text)

    def commit(self, user: str, assistant: str, *, interrupted: bool = False) -> Turn:
        """Append a finished turn, number it and trim to the limits.

        Returns:
            The turn (it may already be trimmed away when the limits are tight).

        """
        turn = Turn(user, assistant, self._next_n, interrupted)
        self._next_n += 1
        self.turns.append(turn)
        self.trim()
        return turn

    def load(self, turns: Iterable[Turn], summary: str = "") -> None:
        """Start from a saved conversation (its numbers kept), trimmed to today's limits."""
        self.turns = list(turns)
        self.summary = summary
        self.pending = []
        self._next_n = max((t.n for t in self.turns), default=0) + 1
        self.trim()

    def clear(self) -> None:
        """Forget every turn, the summary and what waited for it; the system prompt stays."""
        self.turns.clear()
        self.pending.clear()
        self.summary = ""
        self._next_n = 1

    def set_summary(self, text: str, through: int) -> None:
        """Take a new running summary that covers every turn up to number ``through``.

        Args:
            text: The summary (already cut to its size).
            through: The number of the newest turn it covers.

        """
        self.summary = text
        self.pending = [t for t in self.pending if t.n > through]
        self.trim()

    def calibrate(
        self, reported_total: int, request_messages: list[dict[str, str]], reply: str
    ) -> None:
        """Adjust the token estimate to what the server reported for the last request.

        The turns kept are trimmed again at the new scale, so the next request fits the budget
        even when this turn commits nothing (a barge-in before anything was heard).

        Args:
            reported_total: ``usage.total_tokens`` of the request.
            request_messages: The messages that request sent.
            reply: The whole reply text it produced.

        """
        estimated = sum(estimate_tokens(m["content"]) for m in request_messages)
        estimated += estimate_tokens(reply)
        if reported_total <= 0 or estimated <= 0:
            return
        scale = reported_total / estimated
        low, high = SCALE_BOUNDS
        if scale < low:
            # Harmless (the estimate stays), and what a count of the reply alone looks like.
            log.debug("usage %d for about %d tokens sent: not believed", reported_total, estimated)
            return
        if scale > high:
            if not self._distrusted:
                log.warning(
                    "the server reported %d tokens where about %d were sent: usage not believed",
                    reported_total,
                    estimated,
                )
                self._distrusted = True
            return
        self._scale = scale
        self.trim()

    def fit_context(
        self,
        request: list[dict[str, str]],
        user_text: str,
        prompt_tokens: int | None,
        context_tokens: int | None,
        reply_tokens: int | None = None,
    ) -> bool:
        """The server refused ``request`` as too long: learn its limit and trim to fit it.

        The budget (``max_tokens``, the request with its utterance) stays lowered, so later
        turns fit too (:meth:`request` keeps to it). The server's
        numbers are used where it gives them: ``prompt_tokens`` calibrates the estimate,
        ``context_tokens`` less room for the reply is the new budget. Without them the
        budget is half of what the refused request cost.

        Args:
            request: The refused request's messages.
            user_text: Its last user message, sent again with the retry.
            prompt_tokens: The request's size as the server counted it, if given.
            context_tokens: The model's context size, if given.
            reply_tokens: Room to leave for the reply (``max_tokens``); a quarter of the
                context when None.

        Returns:
            Whether the request is now shorter (retrying can help).

        """
        estimated = sum(estimate_tokens(m["content"]) for m in request)
        if prompt_tokens and prompt_tokens > 0 and estimated > 0:
            low, high = SCALE_BOUNDS  # absurd numbers must not wipe the history (issue 13)
            self._scale = min(max(prompt_tokens / estimated, low), high)
        if context_tokens and context_tokens > 0:
            reserve = reply_tokens if reply_tokens else context_tokens // 4
            budget = context_tokens - min(reserve, context_tokens // 2)
        else:
            budget = round(estimated * self._scale) // 2
        before = len(self.turns)
        self.max_tokens = max(0, min(self.max_tokens, budget))
        room = self.max_tokens - round(estimate_tokens(user_text) * self._scale)
        self._drop_while(lambda: self.tokens() > room)  # what goes waits for the summary
        return len(self.turns) < before

    def tokens(self) -> int:
        """Return the (calibrated) estimated token count of the whole conversation."""
        raw = sum(estimate_tokens(m["content"]) for m in self.messages())
        return round(raw * self._scale)

    def trim(self) -> None:
        """Drop the oldest turns until both limits hold.

        The system prompt is never dropped, and the token budget never drops the last exchange:
        a conversation that forgets what was just said is worse than one request over budget.
        """
        excess = len(self.turns) - max(self.max_turns, 0)
        if excess > 0:
            self._drop(excess)
        self._drop_while(lambda: self.tokens() > self.max_tokens, keep=1)

    def _drop_while(self, too_big: Callable[[], bool], keep: int = 0) -> None:
        """Drop the oldest turns while ``too_big``, keeping at least the last ``keep``."""
        while len(self.turns) > keep and too_big():
            self._drop(1)

    def _drop(self, count: int) -> None:
        dropped, self.turns[:count] = self.turns[:count], []
        if self.summarize:
            self.pending.extend(dropped)
