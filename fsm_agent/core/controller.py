"""The dialogue controller: a pure state machine, events in, commands out.

No threads, no I/O, no clock: the runtime feeds events from one thread and carries out the
commands. Everything about ordering (one sentence at a time, barge-in, lost STOPs, stale stream
events) lives here, where it is tested fast and deterministically.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import regex
from transitions import Machine

from fsm_agent.core import protocol
from fsm_agent.core.events import (
    Arm,
    CancelStream,
    Chunk,
    Command,
    Deadline,
    Disarm,
    Event,
    Progress,
    Send,
    StartStream,
    StreamEnd,
    StreamError,
    SynthEchoed,
    SynthStarted,
    SynthStopped,
    TurnDone,
    Utterance,
)
from fsm_agent.core.history import History
from fsm_agent.core.settings import Settings
from fsm_agent.core.table import STATES, State, machine_transitions, pairs
from fsm_agent.text.cleanup import SpeechCleaner
from fsm_agent.text.join import join_sentences
from fsm_agent.text.phrases import APOLOGIES, FILLERS, phrase
from fsm_agent.text.segmenter import Segmenter
from fsm_agent.text.think import ThinkFilter

log = logging.getLogger("fsm_agent.core.controller")
_PAIRS = pairs()
# A sentence that ends like one: a terminator, then perhaps closing quotes or brackets.
_COMPLETE = regex.compile(r"[。！？!?.…．｡][\p{Pe}\p{Pf}\p{Po}\s]*$")


@dataclass(slots=True)
class _Piece:
    text: str
    from_llm: bool


class Controller:
    """Speak a streamed reply sentence by sentence, one ``SYNTH_START`` at a time.

    Args:
        settings: The configuration (alias, voice, language, limits, barge-in mode).
        history: The conversation; a new one from ``settings`` when omitted.

    Attributes:
        state: The current state name (see ``fsm_agent.core.table``).
        history: The committed conversation.

    """

    state: State

    def __init__(self, settings: Settings, history: History | None = None) -> None:
        self.settings = settings
        self.history = history or History(
            settings.system_prompt, settings.history_turns, settings.history_tokens
        )
        self.gen = 0
        self._out: list[Command] = []
        self._event: Event | None = None
        self._user = ""
        self._request: tuple[dict[str, str], ...] = ()
        self._reply = ""
        self._pending: deque[_Piece] = deque()
        self._heard: list[str] = []
        self._outstanding: _Piece | None = None
        self._outstanding_text = ""  # its text field as printed, to recognise its echo
        self._started = False
        self._stop_is_ours = False
        self._stale_stops = 0
        self._unstarted = 0
        self._stream_open = False
        self._failed = False
        self._held: list[str] = []
        self._segmenter = Segmenter(settings.lang)
        self._cleaner = SpeechCleaner(keep_emoji=settings.keep_emoji)
        self._think = ThinkFilter()
        self._think_prompted = settings.think_prompted  # learnt from a bare </think> if not set
        self._words = False  # the reply's first words have come
        self._retry = False  # a context overflow: the turn is sent again, shorter
        self._retried = False
        self._apology = phrase(settings.error_reply, APOLOGIES, settings.voice, settings.lang)
        self._filler = phrase(settings.filler, FILLERS, settings.voice, settings.lang)
        Machine(
            model=self,
            states=list(STATES),
            transitions=machine_transitions(),
            initial="Idle",
            auto_transitions=False,
            ignore_invalid_triggers=True,
            after_state_change="_log_state",
        )

    # ---- the one entry point ----------------------------------------------------------------

    def handle(self, event: Event) -> list[Command]:
        """Take one event and return the commands it causes, in order."""
        self._out = []
        self._event = event
        if self._take_in(event):
            self._fire(event.trigger)
        if self.state == "Idle" and self._held:
            held, self._held = " ".join(self._held), []
            self._event = Utterance(held)
            self._fire("utterance")
        self._event = None
        return self._out

    def _fire(self, trigger: str) -> None:
        if (self.state, trigger) in _PAIRS:
            self.trigger(trigger)
        else:
            log.debug("%s ignored in %s", trigger, self.state)

    def _take_in(self, event: Event) -> bool:
        """Apply the event's data before the table is consulted; False drops the event."""
        stale = isinstance(event, Chunk | StreamEnd | StreamError | Progress) and (
            event.gen != self.gen or not self._stream_open
        )
        if stale:
            log.debug("dropped %s of an old generation", type(event).__name__)
            return False
        match event:
            case Chunk(text=text):
                self._take_text(text)
                if len(self._reply) >= self.settings.max_reply_chars:
                    log.warning("reply reached %d characters; cut off", len(self._reply))
                    self._close_stream(cancel=True)
                    self._queue(self._segmenter.flush())
                    self._fire("stream_end")
                    return False
                self._emit(Arm("stream", self.settings.stream_timeout))
            case StreamEnd(total_tokens=total):
                self._close_stream(cancel=False)
                self._take_text(self._think.flush())
                self._queue(self._segmenter.flush())
                if total:
                    self.history.calibrate(total, list(self._request), self._reply)
            case StreamError(reason=reason, overflow=overflow):
                if overflow is not None and self._fit_context(*overflow):
                    log.warning("the request does not fit the model's context: %s", reason)
                    return True  # retried at once, shorter (the table's retry_turn row)
                log.warning("the LLM request failed: %s", reason)
                self._fail(cancel=False)
            case Progress(stage=stage):
                if stage == "accepted" and not self._words:
                    # The server took the request: until the first words, silence means it is
                    # processing the prompt, bounded by the think deadline alone.
                    self._emit(Disarm("stream"))
                else:
                    self._emit(Arm("stream", self.settings.stream_timeout))
                return False
            case Deadline(kind="stream"):
                if not self._stream_open:
                    return False
                log.warning("the LLM stream timed out")
                self._fail(cancel=True)
            case Deadline(kind="think"):
                if not self._stream_open or self._words:
                    return False
                log.warning(
                    "no reply after %g s of the server working (think_timeout)",
                    self.settings.think_timeout,
                )
                self._fail(cancel=True)
            case Deadline(kind="filler"):
                if not self._stream_open or self._words or self._outstanding is not None:
                    return False
                self._fill_the_wait()
            case Deadline(kind="synth"):
                if self._outstanding is None:
                    return False
                log.info("no SYNTH_EVENT_STOP in time; moving on")
                self._abandon()
                self._done_speaking(heard=self._started)
            case SynthStarted():
                self._match_start()
                return False
            case SynthEchoed(text=text):
                self._match_echo(text)
                return False
            case SynthStopped():
                self._stop_is_ours = self._match_stop()
                if self._stop_is_ours:
                    self._done_speaking(heard=True)
        return True

    # ---- conditions -------------------------------------------------------------------------

    def has_pending(self) -> bool:
        """A sentence is ready to be spoken."""
        return bool(self._pending)

    def retrying(self) -> bool:
        """The request did not fit the model's context and the history has been trimmed."""
        return self._retry

    def stop_is_ours(self) -> bool:
        """The SYNTH_EVENT_STOP just received ends our outstanding sentence."""
        return self._stop_is_ours

    def barge_in_enabled(self) -> bool:
        """A new utterance interrupts the current reply (``--barge-in`` is not ``never``)."""
        return self.settings.barge_in != "never"

    def barge_in_on_speech(self) -> bool:
        """The start of the user's speech interrupts (``--barge-in start``)."""
        return self.settings.barge_in == "start"

    # ---- actions ----------------------------------------------------------------------------

    def start_turn(self) -> None:
        """Open a new generation for the utterance."""
        assert isinstance(self._event, Utterance)
        self.gen += 1
        self._user = self._event.text
        self._reply = ""
        self._heard = []
        self._failed = False
        self._words = False
        self._retried = False
        self._segmenter = Segmenter(self.settings.lang)
        self._think = ThinkFilter(starts_inside=self._think_prompted)
        self._cleaner.reset()
        self._stream_open = True
        log.info("user: %s", self._user)
        self._send_request()
        if self._filler or self.settings.filler_message:
            self._emit(Arm("filler", self.settings.filler_after))

    def retry_turn(self) -> None:
        """Send the turn again at once, with the history trimmed to the model's context."""
        self._retry, self._retried = False, True
        self.gen += 1
        log.info("sending the turn again with %d earlier turns", len(self.history.turns))
        self._send_request()

    def _send_request(self) -> None:
        self._request = tuple(self.history.messages(self._user))
        self._emit(StartStream(self.gen, self._request))
        # Until the server answers, silence means it is gone; then, until the first words,
        # that it is working (processing the prompt, thinking): each has its own bound.
        self._emit(Arm("stream", self.settings.stream_timeout))
        self._emit(Arm("think", self.settings.think_timeout))

    def restart_turn(self) -> None:
        """Barge-in by a new utterance: stop what is going on, then answer it."""
        self.interrupt()
        self.start_turn()

    def interrupt(self) -> None:
        """Stop our speech and the stream; keep in the history what the user heard."""
        if self._outstanding is not None:
            self._emit(Send(protocol.synth_stop(self.settings.alias)))
            self._abandon()
            self._done_speaking(heard=self._started)
        self._close_stream(cancel=True)
        self._pending.clear()
        self._end_turn("interrupted")

    def hold_utterance(self) -> None:
        """``--barge-in never``: answer this utterance once the current reply is over."""
        assert isinstance(self._event, Utterance)
        self._held.append(self._event.text)

    def speak_next(self) -> None:
        """Send the next queued sentence and arm its deadline."""
        piece = self._pending.popleft()
        self._outstanding = piece
        self._started = False
        line = protocol.synth_start(self.settings.alias, self.settings.voice, piece.text)
        self._outstanding_text = line.split("|", 3)[3]
        log.info("say: %s", piece.text)
        self._emit(Send(line))
        seconds = self.settings.synth_timeout + self.settings.synth_seconds_per_char * len(
            piece.text
        )
        self._emit(Arm("synth", seconds))

    def finish_turn(self) -> None:
        """The reply is over: commit what was heard."""
        outcome = "failed" if self._failed else "done" if self._heard else "empty"
        # A sentence that never started by now never will (unknown voice, no synthesizer):
        # forget it, so that it cannot take a START of the next turn.
        self._unstarted = 0
        self._end_turn(outcome)

    # ---- helpers ----------------------------------------------------------------------------

    def _emit(self, command: Command) -> None:
        self._out.append(command)

    def _take_text(self, text: str) -> None:
        """Take reply text: its thinking is dropped, the rest is split into sentences."""
        split = self._think.feed(text) if text else None
        if split is None:
            return
        if split.retract:
            self._retract_thinking()
        visible = split.visible
        if visible.strip() and not self._words:
            self._words = True
            self._emit(Disarm("think"))
            self._emit(Disarm("filler"))
        self._reply += visible
        self._queue(self._segmenter.feed(visible))

    def _retract_thinking(self) -> None:
        """A bare ``</think>``: the reply so far was thinking; take back what is not yet said.

        The chat template opens ``<think>`` in the prompt: from now on every reply is taken to
        begin inside a thought.
        """
        if not self._think_prompted:
            log.warning(
                "the reply began inside <think> (the chat template opens it); from now on "
                "replies are taken to begin with thinking (set think_prompted to skip this)"
            )
        self._think_prompted = True
        self._pending = deque(p for p in self._pending if not p.from_llm)
        if self._outstanding is not None:
            self._outstanding.from_llm = False  # being said; never kept in the history
        self._heard = []
        self._reply = ""
        self._segmenter = Segmenter(self.settings.lang)
        self._words = False

    def _fit_context(self, prompt_tokens: int | None, context_tokens: int | None) -> bool:
        """Trim the history to the server's context; return whether to retry the turn now."""
        if self._retried or self._reply or self.state != "Generating":
            return False
        self._retry = self.history.fit_context(
            list(self._request),
            self._user,
            prompt_tokens,
            context_tokens,
            self.settings.max_tokens,
        )
        return self._retry

    def _fill_the_wait(self) -> None:
        """Fill a long wait for the reply: the configured host message, then the filler."""
        for line in self._filler_lines():
            self._emit(Send(line))
        s = self.settings
        for text in protocol.speakable_pieces(s.alias, s.voice, self._filler):
            self._pending.append(_Piece(text, from_llm=False))

    def _filler_lines(self) -> list[str]:
        """The host messages sent with the filler (a thinking motion).

        The hook for gestures (issue 16): a ``thinking`` tag of the gestures file is to supply
        these lines; today they are ``filler_message``.
        """
        s = self.settings
        return (
            [protocol.host_message(s.filler_message, s.alias, s.voice)] if s.filler_message else []
        )

    def _queue(self, sentences: list[str]) -> None:
        for sentence in sentences:
            spoken = self._cleaner.clean(sentence)
            for text in protocol.speakable_pieces(self.settings.alias, self.settings.voice, spoken):
                self._pending.append(_Piece(text, from_llm=True))

    def _close_stream(self, *, cancel: bool) -> None:
        if self._stream_open:
            self._stream_open = False
            if cancel:
                self._emit(CancelStream(self.gen))
            self._emit(Disarm("stream"))
            self._emit(Disarm("think"))
            self._emit(Disarm("filler"))

    def _fail(self, *, cancel: bool) -> None:
        """Keep the failed stream's complete sentences, drop its unfinished tail.

        A sentence can be complete yet held (the segmenter waits to see what follows its
        terminator); it is spoken. Text after the last terminator is a fragment; it is not.
        When nothing at all was said, the error reply is queued.
        """
        self._close_stream(cancel=cancel)
        self._failed = True
        self._queue([s for s in self._segmenter.flush() if _COMPLETE.search(s)])
        outstanding = self._outstanding is not None and self._outstanding.from_llm
        pending = any(piece.from_llm for piece in self._pending)
        nothing_said = not self._heard and not outstanding and not pending  # a filler is no reply
        if nothing_said and self._apology:
            s = self.settings
            for text in protocol.speakable_pieces(s.alias, s.voice, self._apology):
                self._pending.append(_Piece(text, from_llm=False))

    def _abandon(self) -> None:
        """Stop waiting for the outstanding sentence (SYNTH_STOP sent, or its deadline passed).

        Its events may still come: if it has started, a late STOP; if not, possibly a START and
        then a STOP. Both must be kept from counting for the next sentence.
        """
        if self._started:
            self._stale_stops += 1
        else:
            self._unstarted += 1

    def _match_start(self) -> None:
        """Give a SYNTH_EVENT_START to the oldest sentence we sent that has not started yet.

        If that is an abandoned one, its STOP is still to come and must be swallowed. Erring
        this way costs at worst one wait for a deadline; crediting an old START to the current
        sentence would let the old STOP cut the current sentence off.
        """
        if self._unstarted:
            self._unstarted -= 1
            self._stale_stops += 1
        elif self._outstanding is not None and not self._started:
            self._started = True
            self._stale_stops = 0  # the STOPs of older sentences come before this START

    def _match_echo(self, text: str) -> None:
        """Our outstanding sentence's own line came back: older sentences will never start.

        The host answers a ``SYNTH_START`` with its ``SYNTH_EVENT_START`` right after echoing
        it, long before a deadline could send the next sentence. So when the echo of the
        current sentence arrives, an abandoned sentence that has had no START by then had none
        to come (unknown voice, synthesizer off), and the next START is the current one's. A
        host that does not echo leaves the cautious counting of :meth:`_match_start` in charge.
        """
        if self._outstanding is not None and not self._started and text == self._outstanding_text:
            if self._unstarted:
                log.debug(
                    "echo of the current sentence: %d older ones never started", self._unstarted
                )
            self._unstarted = 0

    def _match_stop(self) -> bool:
        """Decide whether a SYNTH_EVENT_STOP for our alias ends our outstanding sentence.

        The host matches nothing for us: it sends a late STOP after our SYNTH_STOP and after a
        sentence we gave up waiting for. A STOP that comes before our current sentence's START
        is such a late one while we expect one.
        """
        if self._outstanding is None:
            self._stale_stops = max(0, self._stale_stops - 1)
            return False
        if self._started:
            return True
        if self._stale_stops:
            self._stale_stops -= 1
            log.debug("swallowed a late SYNTH_EVENT_STOP")
            return False
        return True  # a synthesizer that sends no SYNTH_EVENT_START

    def _done_speaking(self, *, heard: bool) -> None:
        piece, self._outstanding = self._outstanding, None
        self._started = False
        self._emit(Disarm("synth"))
        if heard and piece is not None and piece.from_llm:
            self._heard.append(piece.text)

    def _end_turn(self, outcome: str) -> None:
        heard = join_sentences(self._heard)
        if heard:
            self.history.commit(self._user, heard)
        self._emit(TurnDone(self._user, heard, outcome))  # type: ignore[arg-type]
        self._heard = []
        self._failed = False

    def _log_state(self) -> None:
        log.debug("state -> %s", self.state)
