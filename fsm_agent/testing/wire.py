"""The OpenAI chat-completions wire format, as the fake server writes it.

Pure functions: what the reply text is, how it is cut into chunks, and the JSON objects for
streamed chunks, whole completions and errors, shaped like OpenAI's own.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from fsm_agent.core.backend import last_user_text

Messages = list[dict[str, Any]]
Reply = str | Mapping[str, str] | Callable[[Messages], str] | None
"""A fixed reply, a map from the last user text to a reply, or a function of the messages."""

# Like OpenAI's own error bodies: (type, code, default message).
_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request (fake)."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Forbidden (fake)."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist (fake)."),
    409: ("invalid_request_error", None, "Conflict (fake)."),
    422: ("invalid_request_error", None, "Unprocessable entity (fake)."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached (fake)."),
    500: ("server_error", None, "The server had an error while processing your request (fake)."),
    502: ("server_error", None, "Bad gateway (fake)."),
    503: ("server_error", None, "The engine is currently overloaded (fake)."),
}


def default_reply(messages: Messages) -> str:
    """A deterministic three-sentence reply to the last user message."""
    text = last_user_text(messages).strip()
    return f"You said: {text}. That is interesting! Tell me more?"


def reply_text(reply: Reply, messages: Messages) -> str:
    """Return the reply for ``messages`` according to ``reply``."""
    if reply is None:
        return default_reply(messages)
    if isinstance(reply, str):
        return reply
    if isinstance(reply, Mapping):
        text = last_user_text(messages)
        return reply[text] if text in reply else default_reply(messages)
    return str(reply(messages))


def split_chunks(text: str, sizes: tuple[int, int], seed: int) -> list[str]:
    """Cut ``text`` into pieces of ``sizes[0]..sizes[1]`` characters, the same for the same seed."""
    low, high = max(1, sizes[0]), max(1, sizes[0], sizes[1])
    rng = random.Random(seed)
    pieces: list[str] = []
    i = 0
    while i < len(text):
        n = rng.randint(low, high)
        pieces.append(text[i : i + n])
        i += n
    return pieces


def limit_chunks(pieces: list[str], limit: int | None) -> Iterator[str]:
    """Yield ``pieces`` until ``limit`` characters are out, cutting the piece that crosses it."""
    sent = 0
    for piece in pieces:
        if limit is not None and sent + len(piece) > limit:
            if limit > sent:
                yield piece[: limit - sent]
            return
        sent += len(piece)
        yield piece


def count_tokens(text: str) -> int:
    """A rough, deterministic token count (about four characters per token)."""
    return (len(text) + 3) // 4


def prompt_tokens(messages: Messages) -> int:
    """Rough token count of a request's messages."""
    total = 0
    for message in messages:
        if isinstance(message, dict):
            total += 4 + count_tokens(str(message.get("content", "")))
    return total


def usage(prompt: int, completion: int) -> dict[str, int]:
    """A ``usage`` object."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def chunk(
    ident: str,
    created: int,
    model: str,
    delta: dict[str, Any],
    finish_reason: str | None = None,
    with_usage: bool = False,
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` with a single choice."""
    obj: dict[str, Any] = {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }
    if with_usage:
        obj["usage"] = None  # OpenAI sends null on every chunk but the last one
    return obj


def usage_chunk(ident: str, created: int, model: str, use: dict[str, int]) -> dict[str, Any]:
    """The final chunk sent with ``stream_options.include_usage``: no choices, only usage."""
    return {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [],
        "usage": use,
    }


def completion(
    ident: str, created: int, model: str, text: str, use: dict[str, int]
) -> dict[str, Any]:
    """A whole ``chat.completion`` (the answer to a non-streaming request)."""
    return {
        "id": ident,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": use,
    }


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """OpenAI's error JSON: ``{"error": {"message", "type", "param", "code"}}``."""
    kind, code, default = _ERRORS.get(status, ("api_error", None, f"HTTP {status} (fake)."))
    return {"error": {"message": message or default, "type": kind, "param": None, "code": code}}
