"""The conversation sent with each request, and how it is trimmed."""

from __future__ import annotations

from dataclasses import dataclass, field

import regex

_WIDE = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]")


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
    """One committed exchange: what the user said and what of the reply the user heard."""

    user: str
    assistant: str


@dataclass
class History:
    """A system prompt followed by user/assistant turns, trimmed by count and by tokens.

    Args:
        system_prompt: Sent first with every request; never trimmed.
        max_turns: Keep at most this many turns (0 keeps none).
        max_tokens: Keep the whole conversation within this many tokens.

    """

    system_prompt: str
    max_turns: int = 20
    max_tokens: int = 3000
    turns: list[Turn] = field(default_factory=list)
    _scale: float = 1.0

    def messages(self, user_text: str | None = None) -> list[dict[str, str]]:
        """Return the request's messages, optionally with a new user message at the end."""
        out: list[dict[str, str]] = []
        if self.system_prompt:
            out.append({"role": "system", "content": self.system_prompt})
        for turn in self.turns:
            out.append({"role": "user", "content": turn.user})
            out.append({"role": "assistant", "content": turn.assistant})
        if user_text is not None:
            out.append({"role": "user", "content": user_text})
        return out

    def commit(self, user: str, assistant: str) -> None:
        """Append a finished turn and trim to the limits."""
        self.turns.append(Turn(user, assistant))
        self.trim()

    def clear(self) -> None:
        """Forget every turn; the system prompt stays."""
        self.turns.clear()

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
        if reported_total > 0 and estimated > 0:
            self._scale = reported_total / estimated
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

        The budget (``max_tokens``) stays lowered, so later turns fit too. The server's
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
            self._scale = prompt_tokens / estimated
        user = round(estimate_tokens(user_text) * self._scale)
        if context_tokens and context_tokens > 0:
            reserve = reply_tokens if reply_tokens else context_tokens // 4
            budget = context_tokens - min(reserve, context_tokens // 2) - user
        else:
            budget = round(estimated * self._scale) // 2 - user
        before = len(self.turns)
        self.max_tokens = max(0, min(self.max_tokens, budget))
        # Unlike trim(), down to no turn at all: a request that does not fit is never answered.
        while self.turns and self.tokens() > self.max_tokens:
            del self.turns[0]
        return len(self.turns) < before

    def tokens(self) -> int:
        """Return the (calibrated) estimated token count of the whole conversation."""
        raw = sum(estimate_tokens(m["content"]) for m in self.messages())
        return round(raw * self._scale)

    def trim(self) -> None:
        """Drop the oldest turns until both limits hold; the system prompt is never dropped."""
        excess = len(self.turns) - max(self.max_turns, 0)
        if excess > 0:
            del self.turns[:excess]
        while self.turns and self.tokens() > self.max_tokens:
            del self.turns[0]
