"""The conversation sent with each request, and how it is trimmed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import regex

log = logging.getLogger("fsm_agent.core.history")

SCALE_BOUNDS = (1 / 16, 16.0)
"""The server's token count over our estimate that a usage report may set.

Real tokenizers stay well inside: about 1x for English and CJK, up to some 8x for scripts that
byte-level tokenizers cut into pieces (Devanagari, Thai). A report outside is not believed
(``total_tokens: 1000000000`` would otherwise make every turn too big to keep)."""

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
    _distrusted: bool = False  # an absurd usage report has been logged

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
        if reported_total <= 0 or estimated <= 0:
            return
        scale = reported_total / estimated
        low, high = SCALE_BOUNDS
        if not low <= scale <= high:
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
            del self.turns[:excess]
        while len(self.turns) > 1 and self.tokens() > self.max_tokens:
            del self.turns[0]
