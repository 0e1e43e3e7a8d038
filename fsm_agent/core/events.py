"""What goes into the controller (events) and what comes out of it (commands).

Events and commands are plain frozen dataclasses: the runtime, the tests and the tables all speak
this one vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fsm_agent.core.protocol import Message

DeadlineKind = Literal["synth", "stream", "idle_talk"]


# ---- events -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Utterance:
    """The user finished speaking (``RECOG_EVENT_STOP|text``), or typed a line in chat."""

    text: str
    trigger = "utterance"


@dataclass(frozen=True, slots=True)
class SpeechStart:
    """The user began to speak (``RECOG_EVENT_START``)."""

    trigger = "speech_start"


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of reply text from generation ``gen``."""

    gen: int
    text: str
    trigger = "chunk"


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """Generation ``gen`` finished; ``total_tokens`` is the server's usage report, if any."""

    gen: int
    total_tokens: int | None = None
    trigger = "stream_end"


@dataclass(frozen=True, slots=True)
class StreamError:
    """Generation ``gen`` failed; ``reason`` is a short, secret-free description."""

    gen: int
    reason: str
    trigger = "stream_error"


@dataclass(frozen=True, slots=True)
class SynthStarted:
    """``SYNTH_EVENT_START`` for our model alias; ``at``: when it was read (seconds), if known."""

    at: float | None = None
    trigger = "synth_started"


@dataclass(frozen=True, slots=True)
class SynthStopped:
    """``SYNTH_EVENT_STOP`` for our model alias; ``at``: when it was read (seconds), if known.

    The times of a sentence's START and STOP teach the controller how fast the voice speaks.
    """

    at: float | None = None
    trigger = "synth_stopped"


@dataclass(frozen=True, slots=True)
class SynthEchoed:
    """A ``SYNTH_START`` for our model alias came back on stdin (the host echoes every line).

    ``text`` is its text field. The host's own ``SYNTH_EVENT_START`` for a sentence follows the
    echo of that sentence's line, so an echo tells which sentence the next START belongs to.
    """

    text: str
    trigger = "synth_echoed"


@dataclass(frozen=True, slots=True)
class HostReady:
    """The host shows it is ready.

    ``CURRENT_TIME`` (sent at start once the plugins are enabled, then every 30 s) or
    ``MODEL_EVENT_ADD`` for our model alias.
    """

    trigger = "host_ready"


@dataclass(frozen=True, slots=True)
class Deadline:
    """A deadline armed with :class:`Arm` has passed (and was not disarmed)."""

    kind: DeadlineKind

    @property
    def trigger(self) -> str:
        """The machine trigger this event fires."""
        return f"{self.kind}_deadline"


@dataclass(frozen=True, slots=True)
class Forget:
    """Forget the conversation: the host's ``FSM_AGENT_FORGET``, or chat's ``/reset``.

    A reply under way is stopped; nothing of it is kept. See :data:`FORGET_MESSAGE`.
    """

    trigger = "forget"


@dataclass(frozen=True, slots=True)
class SummaryDone:
    """Summary job ``job`` answered ``text``; it covers the turns up to number ``through``."""

    job: int
    text: str
    through: int
    trigger = "summary_done"


@dataclass(frozen=True, slots=True)
class SummaryFailed:
    """Summary job ``job`` failed; ``reason`` is a short, secret-free description."""

    job: int
    reason: str
    trigger = "summary_failed"


Event = (
    Utterance
    | SpeechStart
    | Chunk
    | StreamEnd
    | StreamError
    | SynthStarted
    | SynthStopped
    | SynthEchoed
    | HostReady
    | Deadline
    | Forget
    | SummaryDone
    | SummaryFailed
)

FORGET_MESSAGE = "FSM_AGENT_FORGET"
"""The host message that makes fsm-agent forget the conversation (and clear its history file).

A content's .fst sends ``FSM_AGENT_FORGET`` (every fsm-agent forgets) or
``FSM_AGENT_FORGET|<model alias>`` (only the one speaking for that alias). fsm-agent consumes
it and never prints it: the host would hand a printed line to every child again, itself too.
"""


def event_from_message(msg: Message, alias: str, at: float | None = None) -> Event | None:
    """Map a host message to an event, or None when it is not for this controller.

    Everything the host sends reaches every child, including our own lines echoed back; only the
    recognizer's results and the synthesizer's events for our own model alias matter.

    Args:
        msg: The parsed host line.
        alias: Our model alias.
        at: When the line was read (any clock in seconds), for the synthesizer's events.

    Returns:
        The event, or None for traffic to ignore.

    """
    if msg.type == "RECOG_EVENT_STOP":
        text = msg.arg(0).strip()
        # nothing but broken bytes (replaced by U+FFFD) is nothing said
        return Utterance(text) if text.replace("\ufffd", "").strip() else None
    if msg.type == FORGET_MESSAGE and msg.arg(0) in ("", alias):
        return Forget()
    if msg.type == "RECOG_EVENT_START":
        return SpeechStart()
    if msg.type == "SYNTH_EVENT_START" and msg.arg(0) == alias:
        return SynthStarted(at)
    if msg.type == "SYNTH_EVENT_STOP" and msg.arg(0) == alias:
        return SynthStopped(at)
    if msg.type == "CURRENT_TIME" or (msg.type == "MODEL_EVENT_ADD" and msg.arg(0) == alias):
        return HostReady()
    if msg.type == "SYNTH_START" and msg.arg(0) == alias and len(msg.args) >= 3:
        return SynthEchoed("|".join(msg.args[2:]))
    return None


# ---- commands -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """Print this line to the host (flushed at once).

    ``sentence`` is true when the line starts speaking a sentence (a ``SYNTH_START``), so that
    whoever carries it out can time the reply without reading the line.
    """

    line: str
    sentence: bool = False


@dataclass(frozen=True, slots=True)
class StartStream:
    """Start generation ``gen`` with these request messages."""

    gen: int
    messages: tuple[dict[str, str], ...]


@dataclass(frozen=True, slots=True)
class CancelStream:
    """Cancel generation ``gen`` and close its HTTP response."""

    gen: int


@dataclass(frozen=True, slots=True)
class Arm:
    """Deliver ``Deadline(kind)`` after ``seconds`` unless disarmed or re-armed first."""

    kind: DeadlineKind
    seconds: float


@dataclass(frozen=True, slots=True)
class Disarm:
    """Forget the deadline ``kind``."""

    kind: DeadlineKind


@dataclass(frozen=True, slots=True)
class TurnDone:
    """A turn ended; ``heard`` is what of the reply the user heard (committed if non-empty)."""

    user: str
    heard: str
    outcome: Literal["done", "interrupted", "failed", "empty"]


@dataclass(frozen=True, slots=True)
class Remember:
    """Keep this committed turn in the history file (numbered ``n``)."""

    n: int
    user: str
    assistant: str
    interrupted: bool = False


@dataclass(frozen=True, slots=True)
class RememberSummary:
    """Keep this running summary, which covers the turns up to number ``through``."""

    text: str
    through: int


@dataclass(frozen=True, slots=True)
class ClearMemory:
    """Empty the history file: the conversation is forgotten."""


@dataclass(frozen=True, slots=True)
class Summarize:
    """Send summary request ``job`` on a worker; answer with ``SummaryDone``/``SummaryFailed``."""

    job: int
    messages: tuple[dict[str, str], ...]
    through: int


@dataclass(frozen=True, slots=True)
class CancelSummary:
    """Cancel summary request ``job`` (a turn begins: the reply must not wait behind it)."""

    job: int


Command = (
    Send
    | StartStream
    | CancelStream
    | Arm
    | Disarm
    | TurnDone
    | Remember
    | RememberSummary
    | ClearMemory
    | Summarize
    | CancelSummary
)
