"""The dialogue controller: a pure state machine, events in, commands out.

No threads, no I/O, no clock: the runtime feeds events from one thread and carries out the
commands. Everything about ordering (one sentence at a time, barge-in, lost STOPs, stale stream
events) lives here, where it is tested fast and deterministically.
"""

from __future__ import annotations

import logging
from collections import deque

from transitions import EventData, Machine

from fsm_agent.core import protocol
from fsm_agent.core.asides import Asides
from fsm_agent.core.events import (
    Arm,
    CancelStream,
    Chunk,
    Command,
    Deadline,
    Disarm,
    Event,
    HostReady,
    Progress,
    Send,
    SpeechStart,
    StreamEnd,
    StreamError,
    SummaryDone,
    SummaryFailed,
    SynthEchoed,
    SynthStarted,
    SynthStopped,
    TurnDone,
    Utterance,
)
from fsm_agent.core.expressive import Expressive, Piece
from fsm_agent.core.gestures import Gestures
from fsm_agent.core.history import History
from fsm_agent.core.initiative import Initiative
from fsm_agent.core.memory import Memory
from fsm_agent.core.reply import ReplyText, early_of
from fsm_agent.core.settings import Settings
from fsm_agent.core.speech import SpeechTracker
from fsm_agent.core.speech_time import SpeechTimer
from fsm_agent.core.step import Step, step_of
from fsm_agent.core.table import OPEN, STATES, State, machine_transitions
from fsm_agent.core.voices import VoiceBook
from fsm_agent.core.waiting import WaitingForReply
from fsm_agent.text.cleanup import SpeechCleaner
from fsm_agent.text.join import join_sentences

log = logging.getLogger("fsm_agent.core.controller")


class Controller(WaitingForReply, Initiative, Expressive):
    """Speak a streamed reply sentence by sentence, one ``SYNTH_START`` at a time.

    The machine is ``transitions.Machine`` on this object, built from ``fsm_agent.core.table``.
    Every event goes through it: :meth:`take_in` (the prepare step) applies the event's data,
    then the table's first row whose guard holds moves the state and runs its actions.

    Args:
        settings: The configuration (alias, voice, language, limits, barge-in mode).
        history: The conversation; a new one from ``settings`` when omitted.
        gestures: What the reply's ``[tags]`` do; read from ``settings.gestures`` when omitted.

    Attributes:
        state: The current state name (see ``fsm_agent.core.table``).
        history: The committed conversation.
        memory: What turns leave in it, the running summary, forgetting.
        gen: The number of the current generation (the LLM request of the current turn).
        machine: The ``transitions`` machine.
        gestures, staging, allowed_types: See ``fsm_agent.core.expressive.Expressive``.

    """

    state: State
    talks_to_mmdagent: bool = True
    """The lines go to MMDAgent-EX, whose Open JTalk voices get their ASCII widened (False for
    a terminal chat, whose text is read by a person and a local speech program)."""

    def __init__(
        self, settings: Settings, history: History | None = None, gestures: Gestures | None = None
    ) -> None:
        super().__init__()
        self.settings = settings
        self.history = history or History(
            settings.system_prompt,
            settings.history_turns,
            settings.history_tokens,
            summarize=settings.summarize,
        )
        self.memory = Memory(self.history, settings)
        self.gen = 0
        self._out: list[Command] = []
        self._user = ""
        self._request: tuple[dict[str, str], ...] = ()
        self._reply = ReplyText(settings.lang, settings.max_reply_chars, early=early_of(settings))
        self._pending: deque[Piece] = deque()
        self._heard: list[str] = []
        self._speech: SpeechTracker[Piece] = SpeechTracker()
        self._voices = VoiceBook(settings.voice, settings.voices, settings.voice_engines)
        self._setup_expressive(gestures)
        self._timer = SpeechTimer(
            settings.synth_timeout, settings.synth_seconds_per_char, settings.synth_speed
        )
        self._failed = False
        self._held: list[str] = []
        self._cleaner = SpeechCleaner(keep_emoji=settings.keep_emoji)
        self._think_prompted = settings.think_prompted  # learnt from a bare </think> if not set
        self._retried = False
        self._asides = Asides(settings)
        self.allowed_types = self.allowed_types | self._asides.types  # filler_message
        self.machine = Machine(
            model=self,
            states=list(STATES),
            transitions=machine_transitions(),
            initial="Idle",
            auto_transitions=False,
            ignore_invalid_triggers=True,
            send_event=True,
            queued=True,  # ``idle``, fired on entering Idle, runs after the current event
            prepare_event="take_in",
            finalize_event="_log_ignored",
            after_state_change="_log_state",
        )
        self.machine.get_state("Idle").add_callback("enter", "_on_idle")

    # ---- the one entry point ----------------------------------------------------------------

    def handle(self, event: Event) -> list[Command]:
        """Take one event and return the commands it causes, in order."""
        self._out = []
        self.trigger(event.trigger, Step(event))  # type: ignore[attr-defined]
        return self._out

    def take_in(self, data: EventData) -> None:
        """The prepare step: apply the event's data before the table's guards are read.

        Runs in the state the event arrives in (``OPEN``: the stream is open).
        """
        step = step_of(data)
        match step.event:
            case Chunk() | StreamEnd() | StreamError() | Progress() | Deadline(kind="stream") if (
                self.state not in OPEN
            ):
                pass  # the stream is over: nothing to take in
            case Deadline(kind="synth") if self._speech.outstanding is None:
                pass  # no sentence of ours is waited on
            case Chunk(gen=gen) | StreamEnd(gen=gen) | StreamError(gen=gen) | Progress(gen=gen) if (
                gen != self.gen
            ):
                log.debug("dropped %s of an old generation", type(step.event).__name__)
                step.stale = True
            case Chunk(text=text):
                self._take_chunk(text, step)
            case StreamEnd(total_tokens=total):
                self._close_stream(cancel=False)
                self._queue(self._reply.end())
                if total:
                    self.history.calibrate(total, list(self._request), self._reply.text)
            case StreamError(reason=reason, overflow=overflow):
                if overflow is not None and self._fit_context(*overflow):
                    log.warning("the request does not fit the model's context: %s", reason)
                    step.retry = True  # sent again at once, shorter (retry_turn)
                else:
                    log.warning("the LLM request failed: %s", reason)
                    self._fail(cancel=False)
            case Progress(stage="accepted") if not self._reply.has_words:
                # The server took the request: until the first words, silence means it is
                # processing the prompt, bounded by the think deadline alone.
                self._emit(Disarm("stream"))
            case Progress():
                self._emit(Arm("stream", self.settings.stream_timeout))
            case Deadline(kind="stream"):
                log.warning("the LLM stream timed out")
                self._fail(cancel=True)
            case Deadline(kind="think") if self.state in OPEN and not self._reply.has_words:
                log.warning("no reply within think_timeout (%g s)", self.settings.think_timeout)
                step.expired = True
                self._fail(cancel=True)
            case Deadline(kind="filler") if (
                self.state == "Generating" and not self._reply.has_words
            ):
                step.expired = True
                self._fill_the_wait()
            case Deadline(kind="synth"):
                log.info("no SYNTH_EVENT_STOP in time; moving on")
                self._done_speaking(*self._speech.abandon())
            case HostReady() | Utterance() | SpeechStart() | Deadline(kind="idle_talk"):
                self._take_initiative(step)
            case SummaryDone() as done:
                self._out.extend(self.memory.take_summary(done))
            case SummaryFailed() as failed:
                self.memory.summary_failed(failed)
            case SynthStopped(at=at):
                started_at = self._speech.started_at
                piece = self._speech.stopped()
                if piece is not None:
                    step.ours = True
                    if at is not None and started_at is not None:
                        engine = self._voices.engine(piece.voice)
                        self._timer.heard(piece.line, piece.voice, engine, at - started_at)
                    self._done_speaking(piece, heard=True)

    def _take_chunk(self, text: str, step: Step) -> None:
        fed = self._reply.feed(text)
        if fed.retract:
            self._retract_thinking()
        if fed.first_words:
            self._emit(Disarm("think"))
            self._emit(Disarm("filler"))
        self._queue(fed.sentences)
        step.reply_full = fed.full
        if not fed.full:  # thinking keeps the stream alive too
            self._emit(Arm("stream", self.settings.stream_timeout))

    # ---- conditions -------------------------------------------------------------------------

    def has_pending(self, data: EventData) -> bool:
        """A sentence is ready to be spoken."""
        return bool(self._pending)

    def has_held(self, data: EventData) -> bool:
        """An utterance waits to be answered (``--barge-in never``)."""
        return bool(self._held)

    def is_stale(self, data: EventData) -> bool:
        """The stream event belongs to an older generation."""
        return step_of(data).stale

    def reply_full(self, data: EventData) -> bool:
        """The reply reached ``max_reply_chars``."""
        return step_of(data).reply_full

    def stop_is_ours(self, data: EventData) -> bool:
        """The SYNTH_EVENT_STOP just received ends our outstanding sentence."""
        return step_of(data).ours

    def barge_in_enabled(self, data: EventData) -> bool:
        """A new utterance interrupts the current reply (``--barge-in`` is not ``never``)."""
        return self.settings.barge_in != "never"

    def barge_in_on_speech(self, data: EventData) -> bool:
        """The start of the user's speech interrupts (``--barge-in start``)."""
        return self.settings.barge_in == "start"

    def summary_due(self, data: EventData) -> bool:
        """Turns trimmed from the history wait for the running summary (``--summarize``)."""
        return self.memory.summary_due()

    # ---- actions ----------------------------------------------------------------------------

    def start_turn(self, data: EventData) -> None:
        """Open a new generation for the utterance."""
        event = step_of(data).event
        assert isinstance(event, Utterance)
        self._start(event.text)

    def answer_held(self, data: EventData) -> None:
        """Answer the utterances held while busy, joined, as one new turn."""
        held, self._held = " ".join(self._held), []
        self._start(held)

    def restart_turn(self, data: EventData) -> None:
        """Barge-in by a new utterance: stop what is going on, then answer it."""
        self.interrupt(data)
        self.start_turn(data)

    def interrupt(self, data: EventData) -> None:
        """Stop our speech and the stream; keep in the history what the user heard.

        The sentence cut off was not heard to its end, so it is not kept; the interruption
        is marked instead (``barge_in_mark``).
        """
        if self._speech.outstanding is not None:
            self._emit(Send(protocol.synth_stop(self.settings.alias)))
            piece, _started = self._speech.abandon()
            self._done_speaking(piece, heard=False, cut=True)
        if data.transition is not None and data.transition.source in OPEN:
            self._emit(CancelStream(self.gen))
            self._disarm_stream()
        self._pending.clear()
        self._end_turn("interrupted")

    def forget_all(self, data: EventData) -> None:
        """Forget the conversation (``FSM_AGENT_FORGET``, chat's ``/reset``), held words too."""
        self._held.clear()
        self._out.extend(self.memory.forget())

    def start_summary(self, data: EventData) -> None:
        """Ask for the next round of the running summary (between turns only)."""
        self._out.extend(self.memory.start_summary())

    def hold_utterance(self, data: EventData) -> None:
        """``--barge-in never``: answer this utterance once the current reply is over."""
        event = step_of(data).event
        assert isinstance(event, Utterance)
        self._held.append(event.text)

    def cut_reply(self, data: EventData) -> None:
        """The reply reached ``max_reply_chars``: cancel the stream and speak what came."""
        log.warning("reply reached %d characters; cut off", len(self._reply.text))
        self._emit(CancelStream(self.gen))
        self._disarm_stream()

    def speak_next(self, data: EventData) -> None:
        """Send the next queued sentence and arm the wait for it."""
        piece = self._pending.popleft()
        for before in piece.before:
            self._emit(Send(before))
        line = protocol.synth_start(self.settings.alias, piece.voice, piece.line)
        self._speech.sent(piece, line.split("|", 3)[3])
        log.info("say: %s", piece.text)
        self._emit(Send(line, sentence=True))
        # The whole wait from here, as if the START came at once: a host slow to read our line
        # never makes us cut the sentence. Its echo then shortens the wait for the START to
        # synth_timeout, and its START sets the wait for its STOP (track_echo, track_start).
        engine = self._voices.engine(piece.voice)
        self._emit(Arm("synth", self._timer.deadline(piece.line, piece.voice, engine)))

    def finish_turn(self, data: EventData) -> None:
        """The reply is over: commit what was heard."""
        outcome = "failed" if self._failed else "done" if self._heard else "empty"
        self._speech.turn_over()
        self._end_turn(outcome)

    def track_start(self, data: EventData) -> None:
        """A SYNTH_EVENT_START for our alias: credit it to the sentence it belongs to.

        If that is the outstanding one, wait for its STOP as long as its speech is expected to
        take (``fsm_agent.core.speech_time``).
        """
        event = step_of(data).event
        assert isinstance(event, SynthStarted)
        if self._speech.started(event.at):
            piece = self._speech.outstanding
            assert piece is not None
            engine = self._voices.engine(piece.voice)
            self._emit(Arm("synth", self._timer.deadline(piece.line, piece.voice, engine)))

    def track_echo(self, data: EventData) -> None:
        """Our SYNTH_START came back: older sentences will never start.

        The host sends the sentence's SYNTH_EVENT_START right after the echo, or never (an
        unknown voice, the synthesizer off): from the echo its START gets ``synth_timeout``.
        """
        event = step_of(data).event
        assert isinstance(event, SynthEchoed)
        if self._speech.echoed(event.text):
            self._emit(Arm("synth", self.settings.synth_timeout))

    # ---- helpers ----------------------------------------------------------------------------

    def _start(self, user: str) -> None:
        self.gen += 1
        self._begin(user)
        self._out.extend(self.memory.before_turn())  # the reply never waits behind a summary
        log.info("user: %s", self._user)
        self._send_request()
        if self._asides.fills:
            self._emit(Arm("filler", self.settings.filler_after))

    def _begin(self, user: str) -> None:
        """A new reply, to ``user`` (an utterance, or the cue of a greeting or a remark)."""
        self._quiet_idle_talk()
        self._user = user
        s = self.settings
        self._reply = ReplyText(
            s.lang,
            s.max_reply_chars,
            starts_inside=self._think_prompted,
            early=early_of(s),
        )
        self._heard = []
        self._failed = False
        self._retried = False
        self._cleaner.reset()

    def _emit(self, command: Command) -> None:
        if isinstance(command, Send) and command.line.split("|", 1)[0] not in self.allowed_types:
            log.error("not sent (its type is not on the allow-list): %s", command.line[:80])
            return
        self._out.append(command)

    def _close_stream(self, *, cancel: bool) -> None:
        """Close the stream; called from the prepare step, in the state the event came in."""
        if self.state in OPEN:
            if cancel:
                self._emit(CancelStream(self.gen))
            self._disarm_stream()

    def _fail(self, *, cancel: bool) -> None:
        """Keep the failed stream's complete sentences, drop its unfinished tail.

        A sentence can be complete yet held (the segmenter waits to see what follows its
        terminator); it is spoken. Text after the last terminator is a fragment; it is not.
        When nothing at all was said, the error reply is queued.
        """
        self._close_stream(cancel=cancel)
        self._failed = True
        self._queue(self._reply.complete_sentences())
        outstanding = self._speech.outstanding
        said = outstanding is not None and outstanding.from_llm  # a filler is no reply
        said = said or any(piece.from_llm for piece in self._pending)
        if not self._heard and not said and self._asides.apology:
            self._say_own(self._asides.apology)

    def _done_speaking(self, piece: Piece | None, heard: bool, *, cut: bool = False) -> None:
        self._emit(Disarm("synth"))
        if heard and piece is not None and piece.from_llm:
            self._heard.append(piece.remembered)
        if piece is not None and piece.after and not cut:
            self._send_in_turn(piece.after)  # the tags that stood alone after it

    def _end_turn(self, outcome: str) -> None:
        heard = join_sentences(self._heard)
        interrupted = outcome == "interrupted"
        self._out.extend(self.memory.commit(self._user, heard, interrupted=interrupted))
        self._emit(TurnDone(self._user, heard, outcome))  # type: ignore[arg-type]
        self._arm_idle_talk()
        self._heard = []
        self._failed = False

    def _on_idle(self, data: EventData) -> None:
        self.trigger("idle", Step(None))  # type: ignore[attr-defined]

    def _log_state(self, data: EventData) -> None:
        moved = data.transition is not None and data.transition.dest is not None
        if moved and data.transition.dest != data.transition.source:
            log.debug("state -> %s", self.state)

    def _log_ignored(self, data: EventData) -> None:
        if not data.result and data.event is not None and data.event.name != "idle":
            log.debug("%s ignored in %s", data.event.name, self.state)
