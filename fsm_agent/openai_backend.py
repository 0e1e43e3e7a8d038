"""The OpenAI-compatible chat-completions backend (OpenAI, Ollama, vLLM, LM Studio, llama.cpp).

``import openai`` takes most of a second, so it happens on a background thread started with the
backend; the first request waits for it only if it comes sooner. One client is created once and
reused for every turn, so the connection (and its TLS session) is reused too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from fsm_agent.config import Settings
from fsm_agent.llm import Messages, ReplyStream


class _Stream:
    """Text pieces of one streamed chat completion."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self.total_tokens: int | None = None

    def __iter__(self) -> Iterator[str]:
        for chunk in self._response:
            usage = getattr(chunk, "usage", None)
            if usage is not None and getattr(usage, "total_tokens", None):
                self.total_tokens = int(usage.total_tokens)
            for choice in chunk.choices or ():
                content = getattr(choice.delta, "content", None)
                if content:
                    yield content

    def close(self) -> None:
        """Close the HTTP response at once."""
        self._response.close()


class _Whole:
    """A non-streamed completion presented as a stream of one piece."""

    def __init__(self, completion: Any) -> None:
        self._completion = completion
        usage = getattr(completion, "usage", None)
        self.total_tokens: int | None = getattr(usage, "total_tokens", None) if usage else None

    def __iter__(self) -> Iterator[str]:
        choices = list(self._completion.choices or [])
        content = getattr(choices[0].message, "content", None) if choices else None
        if content:
            yield content

    def close(self) -> None:
        """Nothing to close: the whole reply has already arrived."""


class OpenAIBackend:
    """Stream chat completions with the ``openai`` package.

    Args:
        settings: Model, base URL, key variable, timeouts, retries, sampling settings.

    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Any = None
        self._error: BaseException | None = None
        self._ready = threading.Event()
        threading.Thread(target=self._prepare, name="openai-import", daemon=True).start()

    def _prepare(self) -> None:
        try:
            import openai

            s = self.settings
            self._client = openai.OpenAI(
                # Local servers (Ollama, llama.cpp) accept any key; the client insists on one.
                api_key=s.api_key() or "no-key",
                base_url=s.base_url,
                timeout=s.stream_timeout,
                max_retries=s.max_retries,
            )
        except BaseException as exc:  # reported on the first request, never on this thread
            self._error = exc
        finally:
            self._ready.set()

    def client(self) -> Any:
        """Return the shared client, waiting for it to be created if needed.

        Raises:
            Exception: Whatever creating the client raised.

        """
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self._client

    def open(self, messages: Messages) -> ReplyStream:
        """Send the request and return the reply stream."""
        s = self.settings
        kwargs: dict[str, Any] = {"model": s.model, "messages": list(messages)}
        if s.temperature is not None:
            kwargs["temperature"] = s.temperature
        if s.max_tokens is not None:
            kwargs["max_tokens"] = s.max_tokens
        client = self.client()
        if s.no_stream:
            return _Whole(client.chat.completions.create(**kwargs))
        response = client.chat.completions.create(
            **kwargs, stream=True, stream_options={"include_usage": True}
        )
        return _Stream(response)

    def close(self) -> None:
        """Close the client's connection pool."""
        if self._ready.is_set() and self._client is not None:
            self._client.close()
