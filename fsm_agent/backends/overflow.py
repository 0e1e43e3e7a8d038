"""Telling a "request too long for the model's context" error from other failures.

Each server says it in its own words; where it gives the numbers, they are read:

- llama.cpp's llama-server: HTTP 400, ``"type": "exceed_context_size_error"`` with
  ``n_prompt_tokens`` and ``n_ctx`` (captured: ``data/server-wire``), message "request (877
  tokens) exceeds the available context size (256 tokens), try increasing it".
- OpenAI, vLLM and LiteLLM (which passes it on as ``ContextWindowExceededError``): HTTP 400,
  ``code: "context_length_exceeded"`` or a message "This model's maximum context length is 2048
  tokens. However, you requested 2100 tokens (2000 in the messages, ...)" / "...your request
  has 3000 input tokens" / "...your messages resulted in 130000 tokens".
- LM Studio: "...the model is loaded with context length of only 4096 tokens...".
- Anthropic behind a proxy: "prompt is too long: 210000 tokens > 200000 maximum".

Standard library only: the ``openai`` exception is read by its attributes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fsm_agent.core.backend import ContextOverflow

_STATUSES = (400, 413, 422)
_WORDS = re.compile(
    r"context[ _](?:length|size|window)|exceed_context_size|maximum context"
    r"|prompt is too long|too many tokens|input is too long|reduce the length",
    re.IGNORECASE,
)
_CONTEXT = re.compile(
    r"(?:available context size \(|maximum context length is |context length of only "
    r"|context window of |tokens > )(\d[\d,]*)",
    re.IGNORECASE,
)
_PROMPT = re.compile(
    r"(?:request \(|you requested |request has |resulted in |prompt is too long: )(\d[\d,]*)",
    re.IGNORECASE,
)


def context_overflow(exc: BaseException) -> ContextOverflow | None:
    """Return ``exc`` as a :class:`ContextOverflow` if it says the request is too long.

    Args:
        exc: What the request raised (an ``openai.APIStatusError`` carries ``status_code``,
            ``body`` and ``message``).

    Returns:
        The overflow with the numbers the server gave, or None for any other failure.

    """
    status = getattr(exc, "status_code", None)
    if status not in _STATUSES:
        return None
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, Mapping) else None
    error = error if isinstance(error, Mapping) else {}
    message = str(error.get("message") or getattr(exc, "message", "") or exc)
    kind = f"{error.get('type', '')} {error.get('code', '')}"
    if not (_WORDS.search(kind) or _WORDS.search(message)):
        return None
    prompt = _number(error.get("n_prompt_tokens")) or _found(_PROMPT, message)
    context = _number(error.get("n_ctx")) or _found(_CONTEXT, message)
    return ContextOverflow(message, prompt, context)


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _found(pattern: re.Pattern[str], text: str) -> int | None:
    match = pattern.search(text)
    return int(match.group(1).replace(",", "")) if match else None
