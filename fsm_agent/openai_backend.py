"""The OpenAI-compatible chat-completions backend (OpenAI, Ollama, vLLM, LM Studio, llama.cpp).

``import openai`` takes most of a second, so it happens on a background thread started with the
backend; the first request waits for it only if it comes sooner. One client is created once and
reused for every turn, so the connection (and its TLS session) is reused too.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

from fsm_agent.config import Settings
from fsm_agent.llm import Messages, ReplyStream


class _Stream:
    """Text pieces of one streamed chat completion, read from the raw server-sent events.

    The ``openai`` package's own sync ``Stream`` closes the response as soon as it sees
    ``[DONE]``, before the body's last bytes, which throws the connection away: every turn would
    pay a new TCP (and TLS) handshake. Reading the events here and draining the body to its end
    returns the connection to the client's pool. The client still does the rest: auth, retries,
    and turning HTTP errors into ``openai`` exceptions before the first byte of the body.
    """

    def __init__(self, manager: Any) -> None:
        self._manager = manager
        self._response = manager.__enter__()
        self.total_tokens: int | None = None

    def __iter__(self) -> Iterator[str]:
        done = False
        try:
            for line in self._response.iter_lines():
                if done or not line.startswith("data:"):
                    continue  # after [DONE], read on to the end of the body
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    continue
                yield from self._contents(json.loads(data))
        finally:
            self.close()

    def _contents(self, event: Any) -> Iterator[str]:
        if not isinstance(event, dict):
            raise StreamFailed("the server sent an event that is not a JSON object")
        error = event.get("error")
        if error:
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise StreamFailed(str(message or "the server reported an error in the stream"))
        usage = event.get("usage")
        if isinstance(usage, dict) and usage.get("total_tokens"):
            self.total_tokens = int(usage["total_tokens"])
        for choice in event.get("choices") or ():
            delta = choice.get("delta") if isinstance(choice, dict) else None
            content = delta.get("content") if isinstance(delta, dict) else None
            if content and isinstance(content, str):
                yield content

    def close(self) -> None:
        """Close the HTTP response at once (from any thread)."""
        self._manager.__exit__(None, None, None)


class StreamFailed(RuntimeError):
    """The server reported an error inside an otherwise successful stream."""


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
        manager = client.chat.completions.with_streaming_response.create(
            **kwargs, stream=True, stream_options={"include_usage": True}
        )
        return _Stream(manager)

    def close(self) -> None:
        """Close the client's connection pool."""
        if self._ready.is_set() and self._client is not None:
            self._client.close()
