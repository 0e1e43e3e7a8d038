"""When the avatar speaks first: a greeting once the host is ready, a remark when nobody speaks.

The conditions and actions of the table rows for ``host_ready`` and ``idle_talk_deadline``
(see ``fsm_agent.core.table``), as a base class of the Controller. They need no clock: the
silence before a remark is the deadline ``idle_talk``, armed with :class:`Arm` when a turn ends
(or when the host is first ready), re-armed when the user starts to speak, and carried out by
the runtime like every other deadline.

- The greeting (``greeting``: a text, tags allowed; or ``greeting_prompt``: the model is asked)
  is said once, at the first sign that the host is ready (``CURRENT_TIME``, which the host sends
  after enabling its plugins at start, or ``MODEL_EVENT_ADD`` for our model), unless the user has
  spoken first.
- Idle talk: after ``idle_after`` seconds with nothing said, the model is asked for a remark
  with ``idle_prompt``; at most ``idle_max`` in a row until the user speaks again; never while
  the user is speaking (a start of speech with no utterance after it puts the remark off). The
  remark is a turn like any other: spoken sentence by sentence, interrupted by the user, and
  kept in the history with the prompt as its user side.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fsm_agent.core.events import Arm, Deadline, Disarm, HostReady, SpeechStart, Utterance
from fsm_agent.text.tags import split_tagged

if TYPE_CHECKING:
    from transitions import EventData

    from fsm_agent.core.events import Command
    from fsm_agent.core.settings import Settings

log = logging.getLogger("fsm_agent.core.controller")

GREETING_CUE = "(The user has just arrived.)"
"""The user's side of a fixed greeting in the history (a greeting prompt is its own cue)."""


class Initiative:
    """The greeting and idle talk: the part of the Controller that speaks without being asked.

    The Controller provides ``settings``, ``gen``, ``_emit``, ``_start`` (a new turn with a
    request), ``_begin`` (a new reply, no request) and ``_queue``. Its prepare step calls
    :meth:`_take_initiative` for ``host_ready``, an utterance, a start of speech and the
    ``idle_talk`` deadline (``_queue`` comes from ``Expressive``); its ``_begin`` calls
    :meth:`_quiet_idle_talk` and its turn end :meth:`_arm_idle_talk`. The per-event facts go
    on the event's ``Step`` (``first_ready``, ``user_speaking``), which the conditions read.
    """

    settings: Settings
    gen: int

    def __init__(self) -> None:
        self._ready = False  # the host has shown it is ready
        self._remarks = 0  # remarks in a row since the user last spoke
        self._speaking = False  # RECOG_EVENT_START, and no utterance since

    def _emit(self, command: Command) -> None:
        raise NotImplementedError

    def _start(self, user: str) -> None:
        raise NotImplementedError

    def _begin(self, user: str) -> None:
        raise NotImplementedError

    # ---- the prepare step -------------------------------------------------------------------

    def _take_initiative(self, step: Any) -> None:
        """Apply an event that concerns the greeting or idle talk (the prepare step's part)."""
        match step.event:
            case HostReady():
                self._take_ready(step)
            case Utterance():
                self._remarks = 0
                self._speaking = False
            case SpeechStart():
                self._speaking = True
            case Deadline(kind="idle_talk"):
                # A start of speech with no utterance after it (still speaking, or speech the
                # recognizer rejected) puts the remark off once, by another idle_after.
                step.user_speaking, self._speaking = self._speaking, False

    def _take_ready(self, step: Any) -> None:
        """A sign that the host is ready: note the first, and queue a fixed greeting it brings.

        Args:
            step: The event's ``Step``; its ``first_ready`` is set here.

        """
        step.first_ready = not self._ready
        self._ready = True
        if self._greeting_due(step) and self.settings.greeting.strip():
            log.info("greeting: the host is ready")
            self._begin(GREETING_CUE)
            self._queue(split_tagged(self.settings.greeting, self.settings.lang))

    # ---- conditions -------------------------------------------------------------------------

    def first_ready(self, data: EventData) -> bool:
        """The host shows for the first time since start that it is ready."""
        return bool(data.args[0].first_ready)

    def greeting_due(self, data: EventData) -> bool:
        """A greeting is set, the host is ready for the first time, and nobody spoke yet."""
        return self._greeting_due(data.args[0])

    def greeting_asks(self, data: EventData) -> bool:
        """The greeting is a prompt for the model (``greeting_prompt``)."""
        return bool(self.settings.greeting_prompt.strip())

    def user_speaking(self, data: EventData) -> bool:
        """The user began to speak and has not finished (no utterance since)."""
        return bool(data.args[0].user_speaking)

    def idle_talk_left(self, data: EventData) -> bool:
        """Idle talk is on and has not said ``idle_max`` remarks in a row."""
        return self._idle_talk_left()

    # ---- actions ----------------------------------------------------------------------------

    def ask_greeting(self, data: EventData) -> None:
        """Ask the model for the greeting."""
        log.info("greeting: asking the model")
        self._start(self.settings.greeting_prompt)

    def arm_idle_talk(self, data: EventData) -> None:
        """Start (or restart) the silence after which a remark is made."""
        self._arm_idle_talk()

    def start_idle_talk(self, data: EventData) -> None:
        """Nobody has spoken for ``idle_after`` seconds: ask the model for a remark."""
        self._remarks += 1
        log.info(
            "nobody spoke for %g s: remark %d in a row", self.settings.idle_after, self._remarks
        )
        self._start(self.settings.idle_prompt)

    # ---- helpers for the Controller ---------------------------------------------------------

    def _greeting_due(self, step: Any) -> bool:
        s = self.settings
        wanted = bool(s.greeting.strip() or s.greeting_prompt.strip())
        return wanted and bool(step.first_ready) and self.gen == 0

    def _idle_talk_left(self) -> bool:
        return self.settings.idle_after > 0 and self._remarks < self.settings.idle_max

    def _arm_idle_talk(self) -> None:
        if self._idle_talk_left():
            self._emit(Arm("idle_talk", self.settings.idle_after))

    def _quiet_idle_talk(self) -> None:
        """A turn starts: no remark while it lasts."""
        if self.settings.idle_after > 0:
            self._emit(Disarm("idle_talk"))
