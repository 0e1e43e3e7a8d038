"""One-shot misbehaviours of the fake OpenAI server, queued with ``FakeOpenAI.push``.

A fault applies to exactly one request: the next one the server reads. Offsets (``cut_after``,
``malformed_after``, ``error_event_after``) count characters of reply *content* already sent, so a
test can place the fault before the first chunk (0), after the first sentence (its length) or
during the last one.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

STATUS_CODES = (400, 401, 403, 404, 409, 422, 429, 500, 502, 503)
"""HTTP statuses the fake knows an OpenAI-style error body for."""

_FLAGS = ("no_answer", "endless", "echo_key_in_error", "omit_done")


@dataclass(frozen=True, slots=True)
class Fault:
    """What to do instead of (or on top of) a normal answer.

    Attributes:
        status: Answer this HTTP status with an OpenAI-style error JSON body.
        retry_after: Value of a ``Retry-After`` header sent with ``status``.
        message: Error message for ``status`` or ``error_event_after`` (a default otherwise).
        no_answer: Read the request, then send nothing until the client hangs up (counted in
            ``closed_early``) or the server stops.
        cut_after: Stream this many content characters, then close the socket (no ``[DONE]``).
        malformed_after: After this many characters, send ``data: {not json`` and end the body.
        error_event_after: After this many characters, send ``data: {"error": {...}}`` and end
            the body, as OpenAI does when a stream fails midway.
        endless: Stream the reply over and over until the client closes the connection.
        delay_first: Seconds to wait after the response headers, before the first chunk (for a
            non-streaming request: before the response), as llama-server does while it
            processes the prompt.
        delay_headers: Seconds to wait before the response headers (a server that answers only
            once its first token is ready).
        echo_key_in_error: Answer 401 with the full bearer key inside the error message, so tests
            can check the client side redacts it.
        omit_done: End a complete stream after its ``finish_reason`` chunk (and usage) without
            ``data: [DONE]``, as some OpenAI-compatible servers do.

    """

    status: int | None = None
    retry_after: str | None = None
    message: str | None = None
    no_answer: bool = False
    cut_after: int | None = None
    malformed_after: int | None = None
    error_event_after: int | None = None
    endless: bool = False
    delay_first: float = 0.0
    delay_headers: float = 0.0
    echo_key_in_error: bool = False
    omit_done: bool = False

    def content_limit(self) -> int | None:
        """Return the content offset where the stream stops early, if any."""
        for value in (self.cut_after, self.malformed_after, self.error_event_after):
            if value is not None:
                return max(0, value)
        return None


def make_fault(fault: Fault | int | str | None = None, **changes: Any) -> Fault:
    """Build a fault from shorthand.

    Args:
        fault: A ``Fault``; an HTTP status (``429``); a flag name (``"no_answer"``,
            ``"endless"``, ``"echo_key_in_error"``, ``"omit_done"``); or None.
        **changes: Fields to set, e.g. ``cut_after=12`` or ``status=503, retry_after="1"``.

    Returns:
        The fault.

    Raises:
        ValueError: For an unknown flag name or field.

    """
    if isinstance(fault, Fault):
        base = fault
    elif isinstance(fault, bool):
        raise ValueError(f"not a fault: {fault!r}")
    elif isinstance(fault, int):
        base = Fault(status=fault)
    elif isinstance(fault, str):
        if fault not in _FLAGS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {_FLAGS}")
        base = Fault(**{fault: True})
    elif fault is None:
        base = Fault()
    else:
        raise ValueError(f"not a fault: {fault!r}")
    known = {f.name for f in fields(Fault)}
    unknown = set(changes) - known
    if unknown:
        raise ValueError(f"unknown fault fields: {sorted(unknown)}")
    if "retry_after" in changes and changes["retry_after"] is not None:
        changes["retry_after"] = str(changes["retry_after"])
    return replace(base, **changes)
