"""What one event turned out to be: the data every callback of the machine is passed.

The controller's prepare step fills a :class:`Step` in before the table's guards are read, so
that a guard reads a fact of this event, never a field left over from an earlier one.
"""

from __future__ import annotations

from dataclasses import dataclass

from transitions import EventData

from fsm_agent.core.events import Event


@dataclass(slots=True)
class Step:
    """One trigger's own data, passed to every callback of the machine (``EventData.args[0]``).

    The prepare step (:meth:`Controller.take_in`) fills in what the event turned out to be, so
    that the guards read per-event facts, not fields left over from an earlier event.
    """

    event: Event | None
    """The event, or None for the machine's own ``idle`` trigger."""
    stale: bool = False
    """A stream event of an older generation."""
    reply_full: bool = False
    """The reply reached ``max_reply_chars`` with this chunk."""
    ours: bool = False
    """A ``SYNTH_EVENT_STOP`` that ends our outstanding sentence."""
    first_ready: bool = False
    """The host's first sign of being ready (see ``fsm_agent.core.initiative``)."""
    user_speaking: bool = False
    """The user began to speak (``RECOG_EVENT_START``) and no utterance has come since."""
    expired: bool = False
    """A think or filler deadline that still applies (no words of the reply yet)."""
    retry: bool = False
    """The request did not fit the model's context; the history is trimmed to fit."""


def step_of(data: EventData) -> Step:
    """The :class:`Step` a trigger carries."""
    step = data.args[0]
    assert isinstance(step, Step)
    return step
