"""The OpenAI-compatible chat-completions backend (OpenAI, Ollama, vLLM, LM Studio, llama.cpp).

``import openai`` takes most of a second, so it happens on the backend's own thread, started
with the backend; the first request waits for it only if it comes sooner. So does ``import
asyncio`` (some 25 ms), which only that thread's loop needs: this module imports it in the
functions that use it, all of which run once the thread has. That thread then runs
an asyncio event loop for the rest of the session, where one ``AsyncOpenAI`` client serves every
turn, so the connection (and its TLS session) is reused.

Requests run on that loop, not on the worker thread, because an asyncio task can be cancelled
at any point: a barge-in closes the HTTP request at once even while it still waits for the
response headers. A blocking ``httpx`` request has no such handle; it could only be dropped
once the server answered.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Coroutine, Iterator
from typing import TYPE_CHECKING, Any

from fsm_agent.backends.hints import request_hint
from fsm_agent.backends.overflow import context_overflow
from fsm_agent.backends.sse import EventTooLarge, SSEDecoder
from fsm_agent.core.backend import Messages, ReplyStream, Signal
from fsm_agent.core.settings import Settings
from fsm_agent.runtime.logs import add_secret

if TYPE_CHECKING:
    import asyncio
    import concurrent.futures

    from fsm_agent.backends.warm import ConnectionWarmer

log = logging.getLogger("fsm_agent.openai")

_DRAIN_SECONDS = 1.0
"""How long the rest of a body after ``[DONE]`` may take to arrive before it is dropped."""

_END = object()  # the reply is complete
_CLOSED = object()  # close() was called


def _pool_limits(keepalive: float) -> Any:
    """The connection pool's limits: the ``openai`` defaults, idle connections kept longer."""
    try:  # the HTTP library openai is built on: httpx2 in openai 3, httpx before
        import httpx2 as httpx  # type: ignore[import-not-found]
    except ImportError:
        import httpx  # type: ignore[no-redef]
    return httpx.Limits(
        max_connections=1000, max_keepalive_connections=100, keepalive_expiry=keepalive
    )


class StreamFailed(RuntimeError):
    """The server reported an error inside a stream, or the stream ended before the reply did."""


class _Stream:
    """One chat completion: iterate it for text pieces on one thread, close it from any other.

    The request is sent when iteration begins, as a task on the backend's loop; the task hands
    the pieces over through a queue. :meth:`close` cancels the task wherever it is (connecting,
    waiting for the headers, reading the body) and wakes the iterating thread.

    A reply is complete when the server says so: ``data: [DONE]``, or a ``finish_reason`` on a
    choice (servers such as older llama.cpp builds end with that and no ``[DONE]``). A body that
    ends without either was cut off, which a connection-delimited response cannot tell from its
    normal end: that is :class:`StreamFailed`.

    The events are read here (:mod:`fsm_agent.backends.sse`), not by the ``openai`` package's
    own stream. That one (openai 3.x) does split lines at CR, LF and CRLF only and drains the
    body after ``[DONE]``, but its decoder holds a line or an event of any size ("without
    imposing a line or event size limit", in ``openai/_streaming.py``): a server that never
    ends a line grows the process until the stream times out. And it ends quietly on a body
    cut off before the reply was complete, which must fail the turn instead.
    """

    def __init__(self, backend: OpenAIBackend, kwargs: dict[str, Any]) -> None:
        self._backend = backend
        self._kwargs = kwargs
        self._pieces: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._future: concurrent.futures.Future[None] | None = None
        self._closed = False
        self._ended = False  # the consumer has been told the reply is complete
        self._finished = False  # the server said so: [DONE] or a finish_reason
        self.total_tokens: int | None = None

    def __iter__(self) -> Iterator[str | Signal]:
        loop, client = self._backend.loop_and_client()
        import asyncio

        with self._lock:
            if self._closed:
                return
            self._future = asyncio.run_coroutine_threadsafe(self._pump(client), loop)
        completed = False
        try:
            while True:
                item = self._pieces.get()
                if item is _END:
                    completed = True
                    return
                if item is _CLOSED:
                    return
                if isinstance(item, BaseException):
                    completed = True  # the task is over
                    raise item
                yield item  # type: ignore[misc]
        finally:
            if not completed:  # closed, or the consumer stopped early
                self.close()

    def close(self) -> None:
        """Cancel the request and close its HTTP response at once (from any thread)."""
        with self._lock:
            self._closed = True
            future = self._future
        if future is not None:
            future.cancel()  # thread-safe: the task is cancelled on its own loop
        self._pieces.put(_CLOSED)

    # ---- on the backend's loop ------------------------------------------------------------

    async def _pump(self, client: Any) -> None:
        warmer = self._backend.warmer
        if warmer is not None:
            await warmer.join()
            warmer.stream_started()
        try:
            await self._request(client)
        finally:
            if warmer is not None:
                warmer.stream_ended()

    async def _request(self, client: Any) -> None:
        import asyncio

        try:
            if self._kwargs.get("stream"):
                manager = client.chat.completions.with_streaming_response.create(**self._kwargs)
                async with manager as response:
                    self._pieces.put(Signal.ACCEPTED)  # the server works on it from now on
                    await self._read_events(response)
            else:
                self._take_whole(await client.chat.completions.create(**self._kwargs))
            self._end()
        except asyncio.CancelledError:
            self._pieces.put(_CLOSED)  # wakes the reader also when the loop itself winds down
            raise
        except Exception as exc:
            if self._finished:
                # The server said the reply is whole; only what follows it was lost.
                log.debug("the stream broke after the end of the reply: %s", exc)
                self._end()
            else:
                failure = context_overflow(exc) or exc
                hint = request_hint(exc, self._backend.settings) if failure is exc else None
                if hint:
                    exc.add_note(hint)  # describe_error shows it: the URL, the likely mistake
                self._pieces.put(failure)

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            self._pieces.put(_END)

    async def _read_events(self, response: Any) -> None:
        decoder = SSEDecoder()
        body = response.iter_bytes()
        try:
            async for chunk in body:
                if self._take_all(decoder.feed(chunk)):
                    break
            else:
                self._take_all(decoder.finish())
                if not self._finished:
                    raise StreamFailed(
                        "the stream ended before the reply was complete"
                        " (no [DONE], no finish_reason)"
                    )
                return
        except EventTooLarge as exc:
            raise StreamFailed(f"{exc}; the reply is dropped") from None
        # After [DONE], read on to the end of the body so that the connection goes back to the
        # pool before the reply counts as over (the next turn may follow at once).
        import asyncio

        async with asyncio.timeout(_DRAIN_SECONDS):
            async for _ in body:
                pass

    def _take_all(self, events: list[str]) -> bool:
        """Take the data of events in order; True once ``[DONE]`` has come."""
        for data in events:
            if data.strip() == "[DONE]":
                self._finished = True
                return True
            try:
                event = json.loads(data)
            except ValueError:
                raise StreamFailed("the server sent an event that is not JSON") from None
            self._take_event(event)
        return False

    def _take_event(self, event: Any) -> None:
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
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta")
            if not isinstance(delta, dict):
                delta = {}
            # llama.cpp and DeepSeek name the thinking reasoning_content; vLLM and Ollama reasoning.
            thinking = delta.get("reasoning_content") or delta.get("reasoning")
            if thinking and isinstance(thinking, str):
                self._pieces.put(Signal.THINKING)
            content = delta.get("content")
            if content and isinstance(content, str):
                self._pieces.put(content)
            if choice.get("finish_reason"):
                self._finished = True

    def _take_whole(self, completion: Any) -> None:
        usage = getattr(completion, "usage", None)
        self.total_tokens = getattr(usage, "total_tokens", None) if usage else None
        choices = list(completion.choices or [])
        content = getattr(choices[0].message, "content", None) if choices else None
        if content:
            self._pieces.put(content)


class OpenAIBackend:
    """Chat completions with the ``openai`` package, on a loop thread of the backend's own.

    Args:
        settings: Model, base URL, key variable, timeouts, retries, sampling settings.

    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.warmer: ConnectionWarmer | None = None
        self._error: BaseException | None = None
        self._ready = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._serve, name="openai", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        import asyncio

        from fsm_agent.backends.warm import ConnectionWarmer

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)  # this thread's loop, also for code that asks for it
        try:
            import openai

            s = self.settings
            key = s.api_key()
            add_secret(key)  # whatever prints an error must not print the key with it

            async def make_client() -> Any:
                return openai.AsyncOpenAI(
                    # Local servers (Ollama, llama.cpp) accept any key; the client insists on one.
                    api_key=key or "no-key",
                    base_url=s.base_url,
                    # Silence is bounded by the controller's deadlines (stream_timeout: the
                    # server is gone; think_timeout: it is working); the client must not cut a
                    # server that is still processing the prompt before they do.
                    timeout=openai.Timeout(
                        max(s.stream_timeout, s.think_timeout) + 5.0, connect=s.stream_timeout
                    ),
                    max_retries=s.max_retries,
                    http_client=openai.DefaultAsyncHttpxClient(limits=_pool_limits(s.keepalive)),
                )

            self._client = loop.run_until_complete(make_client())
            self._loop = loop
            if not s.no_prewarm:
                self.warmer = ConnectionWarmer(loop, self._client)
                loop.call_soon(self.warmer.request)  # the first turn finds it ready too
        except BaseException as exc:  # reported on the first request, never on this thread
            self._error = exc
            loop.close()
            return
        finally:
            self._ready.set()
        if not self._closing:
            loop.run_forever()
        self._wind_down(loop)

    def _wind_down(self, loop: asyncio.AbstractEventLoop) -> None:
        """Cancel what is still running, close the connections and the loop."""
        import asyncio

        try:
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(self._client.close())
            loop.run_until_complete(loop.shutdown_default_executor())  # name lookups ran there
        except Exception as exc:  # shutting down: nothing left to tell
            log.debug("closing the OpenAI client: %s", exc)
        finally:
            loop.close()

    def loop_and_client(self) -> tuple[asyncio.AbstractEventLoop, Any]:
        """Return the backend's loop and its client, waiting for them to be created if needed.

        Raises:
            Exception: Whatever creating the client raised.
            RuntimeError: When the backend has been closed.

        """
        self._ready.wait()
        if self._error is not None:
            raise self._error
        if self._closing or self._loop is None:
            raise RuntimeError("the OpenAI backend is closed")
        return self._loop, self._client

    def client(self) -> Any:
        """Return the shared ``AsyncOpenAI`` client, waiting for it to be created if needed."""
        return self.loop_and_client()[1]

    def submit(self, coroutine: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        """Run a coroutine on the backend's loop (e.g. a call on :meth:`client`)."""
        loop = self.loop_and_client()[0]
        import asyncio

        return asyncio.run_coroutine_threadsafe(coroutine, loop)

    def prewarm(self) -> None:
        """Open or re-check the connection ahead of a request (any thread; never blocks).

        Called when the user starts to speak; does nothing before the client exists (it warms
        up on its own once created) or with ``no_prewarm``.
        """
        if self.warmer is not None and not self._closing:
            self.warmer.request()

    def open(self, messages: Messages) -> ReplyStream:
        """Return the reply stream; the request is sent when iteration begins."""
        s = self.settings
        kwargs: dict[str, Any] = {"model": s.model, "messages": list(messages)}
        if s.temperature is not None:
            kwargs["temperature"] = s.temperature
        if s.max_tokens is not None:
            kwargs["max_tokens"] = s.max_tokens
        if not s.no_stream:
            kwargs.update(stream=True, stream_options={"include_usage": True})
        return _Stream(self, kwargs)

    def close(self, timeout: float = 0.3) -> None:
        """Stop the loop, closing every request and the connection pool.

        Waits at most ``timeout`` seconds; a backend still importing ``openai`` is left to end
        on its own as soon as the import is done.
        """
        self._closing = True
        if self.warmer is not None:
            self.warmer.closed = True  # read on the loop; a late warm-up would outlive it
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(loop.stop)
        except RuntimeError:  # already closed
            return
        self._thread.join(timeout)
