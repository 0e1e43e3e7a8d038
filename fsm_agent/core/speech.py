"""Which of the host's synthesizer events belong to our outstanding sentence.

The host matches nothing for us: every ``SYNTH_EVENT_START``/``SYNTH_EVENT_STOP`` for our alias
looks the same, whether it is for the sentence we are waiting on, for a sentence we stopped
(``SYNTH_STOP``) or gave up on (its deadline passed), or a stray one (a content's .fst speaking
with our alias, a duplicate). :class:`SpeechTracker` keeps the count that tells them apart, in
one vocabulary: a sentence is ``sent``; the host ``echoed`` our line, ``started`` and ``stopped``
it; we ``abandon`` it. The controller's table asks only "is this STOP ours?".
"""

from __future__ import annotations

import logging
from typing import Generic, TypeVar

log = logging.getLogger("fsm_agent.core.speech")

T = TypeVar("T")


class SpeechTracker(Generic[T]):
    """Match START, echo and STOP events to the one sentence of ours the host may be speaking.

    ``T`` is whatever the caller calls a sentence; the tracker hands it back when the sentence
    ends. At most one sentence is outstanding at a time.
    """

    def __init__(self) -> None:
        self._current: T | None = None
        self._line_text = ""  # its text field as printed, to recognise its echo
        self._started = False
        self._started_at: float | None = None
        self._late_stops = 0  # STOPs still to come for sentences we stopped or gave up on
        self._unstarted = 0  # sentences we gave up on before their START came

    @property
    def outstanding(self) -> T | None:
        """The sentence we sent and are waiting on, or None."""
        return self._current

    @property
    def has_started(self) -> bool:
        """The outstanding sentence's ``SYNTH_EVENT_START`` has come."""
        return self._started

    @property
    def started_at(self) -> float | None:
        """When the outstanding sentence's START came, if it did and the time is known."""
        return self._started_at if self._started else None

    def sent(self, sentence: T, line_text: str) -> None:
        """A ``SYNTH_START`` of ours went out; ``line_text`` is its text field as printed."""
        self._current = sentence
        self._line_text = line_text
        self._started = False

    def started(self, at: float | None = None) -> bool:
        """A ``SYNTH_EVENT_START`` came (at time ``at``): it is the oldest unstarted sentence's.

        Returns True when that is the outstanding sentence.

        If that is an abandoned one, its STOP is still to come and must be swallowed. Erring
        this way costs at worst one wait for a deadline; crediting an old START to the current
        sentence would let the old STOP cut the current sentence off.
        """
        if self._unstarted:
            self._unstarted -= 1
            self._late_stops += 1
            return False
        if self._current is not None and not self._started:
            self._started = True
            self._started_at = at
            self._late_stops = 0  # the STOPs of older sentences come before this START
            return True
        return False

    def echoed(self, line_text: str) -> bool:
        """Our ``SYNTH_START`` line came back: if it is the current one's, older ones never start.

        Returns True when it is the echo of the outstanding sentence, not started yet: its
        START is due at once.

        The host answers a ``SYNTH_START`` with its ``SYNTH_EVENT_START`` right after echoing
        it, long before a deadline could send the next sentence. So when the echo of the
        current sentence arrives, an abandoned sentence that has had no START by then had none
        to come (unknown voice, synthesizer off), and the next START is the current one's. A
        host that does not echo leaves the cautious counting of :meth:`started` in charge.
        """
        if self._current is not None and not self._started and line_text == self._line_text:
            if self._unstarted:
                log.debug("echo of the current sentence: %d older never started", self._unstarted)
            self._unstarted = 0
            return True
        return False

    def stopped(self) -> T | None:
        """A ``SYNTH_EVENT_STOP`` came: return the sentence it ends, or None if it is not ours.

        Only a STOP that follows our sentence's START ends it. A STOP before that START is a
        late one of a sentence we stopped or gave up on (counted off), or a stray one: a
        content's .fst speaking with our alias, a duplicate. Taking it as ours would send the
        next sentence while the host is still speaking this one, cutting it off. (The real
        host always sends the START, 2-8 ms after our line; a synthesizer that never does is
        waited out by the sentence's deadline.)
        """
        if self._current is None or not self._started:
            if self._late_stops:
                self._late_stops -= 1
                log.debug("swallowed a late SYNTH_EVENT_STOP")
            else:
                log.debug("ignored a SYNTH_EVENT_STOP before our sentence's START")
            return None
        return self._end()

    def abandon(self) -> tuple[T | None, bool]:
        """Stop waiting for the outstanding sentence (we sent SYNTH_STOP, or its deadline passed).

        Its events may still come: if it has started, a late STOP; if not, perhaps a START and
        then a STOP. Both are kept from counting for the next sentence.

        Returns:
            The sentence (None if none was outstanding) and whether it had started.

        """
        if self._current is None:
            return None, False
        started = self._started
        if started:
            self._late_stops += 1
        else:
            self._unstarted += 1
        return self._end(), started

    def turn_over(self) -> None:
        """The reply is over: a sentence that never started by now never will.

        Forgetting it (unknown voice, no synthesizer) keeps it from taking a START of the next
        turn.
        """
        self._unstarted = 0

    def _end(self) -> T | None:
        sentence, self._current = self._current, None
        self._started = False
        return sentence
