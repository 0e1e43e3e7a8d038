"""How each OpenAI-compatible server really writes a stream, as captured on the wire.

The captures are in ``/work/shared/data/server-wire`` (2026-12-02, real servers on loopback, see
its README); each dialect below writes what its capture shows:

- ``openai``: OpenAI's own shape: a role chunk with ``content: ""``, ``usage: null`` on every
  chunk when usage is asked for, a usage chunk with ``choices: []``.
- ``llama-server`` (llama.cpp, build 11669): first delta ``{"role":"assistant","content":null}``;
  keys in its order (``choices`` first); usage chunk with ``choices: []`` plus ``timings``; sends
  ``Keep-Alive: timeout=5`` yet closes the connection after every stream; thinking as
  ``reasoning_content``; a context overflow is ``exceed_context_size_error`` with
  ``n_prompt_tokens`` and ``n_ctx``.
- ``llama-cpp-python``: first delta ``{"role":"assistant"}`` without content; ``logprobs`` and
  ``finish_reason: null`` on every chunk; no usage chunk at all (``include_usage`` ignored).
- ``litellm`` (proxy): role and first text in one chunk; no ``finish_reason`` key until the
  end; usage chunk with ``choices: [{"index":0,"delta":{}}]``; error ``code`` as a string.
- ``vllm``: role chunk with ``content: ""`` and extra keys ``prompt_token_ids``/``prompt_text``;
  ``token_ids`` on each choice; the last content chunk is ``content: ""`` with
  ``finish_reason: "stop"`` and ``stop_reason``; thinking as ``reasoning``.

The reasoning field names and the overflow wordings of servers other than llama-server were not
captured: they follow each server's documentation and source (vLLM ``reasoning``, formerly
``reasoning_content``; OpenAI/vLLM "This model's maximum context length is ..."; LiteLLM's
``ContextWindowExceededError``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DIALECTS = ("openai", "llama-server", "llama-cpp-python", "litellm", "vllm")


@dataclass(frozen=True, slots=True)
class Meta:
    """What every chunk of one stream repeats."""

    ident: str
    created: int
    model: str
    include_usage: bool


@dataclass(frozen=True, slots=True)
class Dialect:
    """One server's way of writing a stream.

    Args:
        name: One of :data:`DIALECTS`.

    """

    name: str = "openai"

    def __post_init__(self) -> None:
        if self.name not in DIALECTS:
            raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}, not {self.name!r}")

    @property
    def closes_after_stream(self) -> bool:
        """Whether the server closes the connection after each streamed response."""
        return self.name == "llama-server"

    @property
    def extra_headers(self) -> dict[str, str]:
        """Response headers of its own."""
        return {"Keep-Alive": "timeout=5"} if self.name == "llama-server" else {}

    @property
    def reasoning_field(self) -> str:
        """The delta key its thinking comes in."""
        return "reasoning" if self.name == "vllm" else "reasoning_content"

    @property
    def joins_role_and_text(self) -> bool:
        """Whether the first text comes in the role chunk (LiteLLM)."""
        return self.name == "litellm"

    def role(self, m: Meta, first_text: str | None = None) -> dict[str, Any]:
        """The first chunk: the role (and, for LiteLLM, the first text)."""
        delta: dict[str, Any] = {"role": "assistant", "content": ""}
        if self.name == "llama-server":
            delta["content"] = None
        elif self.name == "llama-cpp-python":
            del delta["content"]
        elif self.name == "litellm":
            delta["content"] = first_text or ""
        obj = self._chunk(m, delta, None)
        if self.name == "vllm":
            obj["prompt_token_ids"] = None
            obj["prompt_text"] = None
        return obj

    def content(self, m: Meta, text: str) -> dict[str, Any]:
        """A chunk of reply text."""
        return self._chunk(m, {"content": text}, None)

    def reasoning(self, m: Meta, text: str) -> dict[str, Any]:
        """A chunk of thinking."""
        return self._chunk(m, {self.reasoning_field: text}, None)

    def finish(self, m: Meta) -> dict[str, Any]:
        """The chunk that ends the reply."""
        delta: dict[str, Any] = {"content": ""} if self.name == "vllm" else {}
        return self._chunk(m, delta, "stop")

    def usage(self, m: Meta, use: dict[str, int]) -> dict[str, Any] | None:
        """The usage chunk, or None when the server sends none."""
        if self.name == "llama-cpp-python" or not m.include_usage:
            return None
        choices: list[Any] = [{"index": 0, "delta": {}}] if self.name == "litellm" else []
        obj = self._top(m, choices)
        obj["usage"] = dict(use)
        if self.name == "vllm":
            obj["system_fingerprint"] = "vllm-fake"  # on the usage chunk only
        if self.name == "litellm":
            details = {"reasoning_tokens": 0, "text_tokens": use["completion_tokens"]}
            obj["usage"]["completion_tokens_details"] = details
        if self.name == "llama-server":
            obj["usage"]["prompt_tokens_details"] = {"cached_tokens": 0}
            prompt, predicted = use["prompt_tokens"], use["completion_tokens"]
            obj["timings"] = {
                "cache_n": 0,
                "prompt_n": prompt,
                "prompt_ms": 15.5,
                "prompt_per_token_ms": 15.5 / max(prompt, 1),
                "prompt_per_second": 64.2,
                "predicted_n": predicted,
                "predicted_ms": 29.1 * predicted,
                "predicted_per_token_ms": 29.1,
                "predicted_per_second": 34.3,
            }
        return obj

    def overflow(self, prompt: int, n_ctx: int) -> tuple[int, dict[str, Any]]:
        """The HTTP status and body when a request of ``prompt`` tokens exceeds ``n_ctx``."""
        if self.name == "llama-server":
            message = (
                f"request ({prompt} tokens) exceeds the available context size ({n_ctx} tokens),"
                " try increasing it"
            )
            error = {"code": 400, "message": message, "type": "exceed_context_size_error"}
            return 400, {"error": {**error, "n_prompt_tokens": prompt, "n_ctx": n_ctx}}
        message = (
            f"This model's maximum context length is {n_ctx} tokens. However, your request has "
            f"{prompt} input tokens. Please reduce the length of the input messages."
        )
        if self.name == "litellm":
            message = f"litellm.ContextWindowExceededError: {message}"
            return 400, {"error": {"message": message, "type": None, "param": None, "code": "400"}}
        kind, code = "invalid_request_error", "context_length_exceeded"
        if self.name == "llama-cpp-python":
            code = None
        return 400, {"error": {"message": message, "type": kind, "param": "messages", "code": code}}

    # ---- shapes ---------------------------------------------------------------------------

    def _top(self, m: Meta, choices: list[Any]) -> dict[str, Any]:
        if self.name == "llama-server":  # its key order, as captured
            return {
                "choices": choices,
                "created": m.created,
                "id": m.ident,
                "model": m.model,
                "system_fingerprint": "b11669-fake",
                "object": "chat.completion.chunk",
            }
        obj: dict[str, Any] = {
            "id": m.ident,
            "object": "chat.completion.chunk",
            "created": m.created,
            "model": m.model,
            "choices": choices,
        }
        if self.name == "openai":
            obj["system_fingerprint"] = "fp_fake"
        return obj

    def _chunk(self, m: Meta, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": 0, "delta": delta}
        if self.name == "litellm":
            if finish is not None:
                choice["finish_reason"] = finish  # absent, not null, until the end
        elif self.name == "llama-server":
            choice = {"finish_reason": finish, "index": 0, "delta": delta}
        else:
            choice["logprobs"] = None
            choice["finish_reason"] = finish
            if self.name == "vllm" and "role" not in delta:
                if finish is not None:
                    choice["stop_reason"] = None
                choice["token_ids"] = None
        obj = self._top(m, [choice])
        if self.name == "openai" and m.include_usage:
            obj["usage"] = None  # OpenAI sends null on every chunk but the last one
        return obj
