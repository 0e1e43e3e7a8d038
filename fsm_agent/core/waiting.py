"""The controller's part that waits for a reply from a server that may be slow or thinking.

Two bounds tell a server that is gone from one that is working (``stream`` and ``think``
deadlines), the filler fills a long wait, a request too long for the model's context is sent
again at once with the history trimmed, and thinking that turns out to have been spoken is
taken back. :class:`Controller` (``fsm_agent.core.controller``) inherits these; they read and
change its state, declared below.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from transitions import EventData

from fsm_agent.core.events import Arm, Command, Disarm, Send, StartStream
from fsm_agent.core.step import step_of

if TYPE_CHECKING:
    from fsm_agent.core.asides import Asides
    from fsm_agent.core.expressive import Staging
    from fsm_agent.core.history import History
    from fsm_agent.core.reply import ReplyText
    from fsm_agent.core.settings import Settings
    from fsm_agent.core.speech import SpeechTracker

log = logging.getLogger("fsm_agent.core.controller")


class WaitingForReply:
    """Conditions, actions and helpers of the wait for a reply (a mixin of the controller)."""

    settings: Settings
    history: History
    gen: int
    state: str
    _out: list[Command]
    _user: str
    _request: tuple[dict[str, str], ...]
    _reply: ReplyText
    _pending: deque[Any]
    _heard: list[str]
    _speech: SpeechTracker[Any]
    _asides: Asides
    _think_prompted: bool
    _retried: bool

    _emit: Callable[[Command], None]
    _stage: Callable[..., None]
    staging: Staging

    def expired(self, data: EventData) -> bool:
        """The think or filler deadline that passed still applies: no words of the reply yet."""
        return step_of(data).expired

    def retrying(self, data: EventData) -> bool:
        """The request did not fit the model's context; the history has been trimmed to fit."""
        return step_of(data).retry

    def retry_turn(self, data: EventData) -> None:
        """Send the turn again at once, with the history trimmed to the model's context."""
        self._retried = True
        self.gen += 1
        log.info("sending the turn again with %d earlier turns", len(self.history.turns))
        self._send_request()

    def _send_request(self) -> None:
        self._request = tuple(self.history.request(self._user))
        self._emit(StartStream(self.gen, self._request))
        # The server is gone (stream) or working too long (think): each has its own bound.
        self._emit(Arm("stream", self.settings.stream_timeout))
        self._emit(Arm("think", self.settings.think_timeout))

    def _retract_thinking(self) -> None:
        """A bare ``</think>``: the reply so far was thinking; take back what is not yet said."""
        if not self._think_prompted:
            log.warning("the reply began inside <think>: so will the next ones (think_prompted)")
        self._think_prompted = True
        self._pending = deque(p for p in self._pending if not p.from_llm)
        if self._speech.outstanding is not None:
            self._speech.outstanding.from_llm = False  # being said; never kept in the history
        self._heard = []

    def _fit_context(self, prompt_tokens: int | None, context_tokens: int | None) -> bool:
        """Trim the history to the server's context; return whether to send the turn again."""
        if self._retried or self._reply.text or self.state != "Generating":
            return False
        return self.history.fit_context(
            list(self._request), self._user, prompt_tokens, context_tokens, self.settings.max_tokens
        )

    def _fill_the_wait(self) -> None:
        """Fill a long wait for the reply: the host messages (a motion), then the filler."""
        # The gestures' thinking tag if the file defines one, else filler_message.
        for line in self.staging.lines_of("thinking") or self._asides.filler_lines():
            self._emit(Send(line))
        self._say_own(self._asides.filler)

    def _say_own(self, text: str) -> None:
        """Queue words of ours (the apology, the filler): never kept in the history."""
        if text:
            self._stage((), [text], from_llm=False)

    def _disarm_stream(self) -> None:
        """The stream is over: none of its deadlines applies any more."""
        self._out.extend(Disarm(kind) for kind in ("stream", "think", "filler"))  # type: ignore[arg-type]
