"""A simulated MMDAgent-EX host, as PROTOCOL.md describes it: the pure core.

``HostSim`` has no threads, no I/O and no clock: it is told each line the child printed, with the
time, and answers with the host lines the child will read, each with the time it is due. Delayed
lines (the ``SYNTH_EVENT_STOP`` at the end of a sentence, the late one after ``SYNTH_STOP``) stay
on the simulator's agenda, where a later line can still cancel them (a sentence cut off by the
next ``SYNTH_START``), and come out of ``advance(now)`` once due. ``HostProcess`` (in
``fsm_agent.sim.host_process``) drives it against a real child process.

What it models, each checked against the recorded runs of the real host (tests/test_host_sim.py):

- at start, ``PLUGIN_EVENT_ENABLE|<plugin>`` for every plugin, then ``CURRENT_TIME|hh|mm``;
- every child line is echoed back at once (the host sends every message to every child);
- ``SYNTH_START|alias|voice|text`` with a known voice: ``SYNTH_EVENT_START|alias`` (and
  ``LIPSYNC_START``) at once, ``SYNTH_EVENT_STOP|alias`` after the speaking time: that of the
  real host's ``mei_voice_normal`` (about 5-6 kana a second, 2.5 digits a second, a pause at
  each mark) unless ``chars_per_second`` is given; with an unknown voice, empty text or missing
  fields: nothing at all;
- a ``SYNTH_START`` while that alias is still speaking cuts the old sentence off (a "burged_in"
  violation): ``LIPSYNC_STOP`` at once, the old sentence's ``SYNTH_EVENT_STOP``
  ``cut_latency`` later, then the new sentence's ``SYNTH_EVENT_START``; more ``SYNTH_START``
  lines before that STOP replace the waiting text (the middle one is never spoken) and the
  last is spoken once more for each (the synthesizer keeps one text slot and a counter);
- ``SYNTH_STOP|alias`` while it speaks: ``LIPSYNC_STOP`` at once and a ``SYNTH_EVENT_STOP``
  ``stop_latency`` later; while it does not: only ``LIPSYNC_STOP``;
- the Open_JTalk plugin's heap overflow: a sentence for an Open JTalk voice whose ASCII bytes
  outnumber its other bytes kills the host (a ``host_crash`` violation; nothing is sent after);
- ``lose_stop_every=N`` drops every Nth ``SYNTH_EVENT_STOP``;
- ``chatter(now)``: other traffic every child receives (clock, other characters speaking).

``HostProcess`` adds the rest: the host SIGKILLs its child when it quits, and its death closes
the child's stdin.

It also records what was spoken and flags lines a careful controller never prints.
"""

from __future__ import annotations

import heapq
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import count
from typing import NamedTuple

from fsm_agent.core.protocol import MAX_LINE_BYTES

__all__ = [
    "DEFAULT_VOICES",
    "HostSim",
    "Spoken",
    "Violation",
]

_MEI = ("normal", "angry", "bashful", "happy", "sad", "fast", "slow", "high", "low")
_SLT = ("normal", "fast", "slow", "high", "low")
DEFAULT_VOICES: frozenset[str] = frozenset(
    [f"mei_voice_{s}" for s in _MEI] + [f"slt_voice_{s}" for s in _SLT]
)
"""Voice aliases of MMDAgent-EX's example content (Open_JTalk ``mei``, Flite ``slt``)."""

PLUGINS: tuple[str, ...] = (
    "Variables",
    "Open_JTalk",
    "TextArea",
    "VIManager",
    "Audio",
    "AnyScript",
)
"""The plugins the recorded host enabled, in the order it announced them."""

STOP_LATENCY = 0.75
"""SYNTH_STOP -> SYNTH_EVENT_STOP of a speaking character: 0.66-0.87 s on the real host."""

CUT_LATENCY = 0.1
"""A cut-in SYNTH_START -> the old sentence's SYNTH_EVENT_STOP: 6-712 ms on the real host."""

# Seconds the real host's mei_voice_normal takes (tests/test_host_sim.py checks the recordings)
_BASE, _PAUSE, _DIGIT, _LATIN, _LETTER, _OTHER = 0.9, 0.35, 0.4, 0.3, 0.16, 0.1
_PAUSES = frozenset("、。，．,.!?！？;；:：…")

_FIELD_COUNTS = {"SYNTH_START": 4, "SYNTH_STOP": 2}

Timed = tuple[float, str]
"""A host line and the time it is delivered."""


class Spoken(NamedTuple):
    """One sentence the synthesizer started.

    Attributes:
        alias: Model alias.
        text: The text spoken (the third argument only, as the synthesizer reads it).
        start: When it started.
        end: When it ended (or is due to end, while it is still being spoken).
        cut: Whether it was cut off (by another ``SYNTH_START`` or by ``SYNTH_STOP``).

    """

    alias: str
    text: str
    start: float
    end: float
    cut: bool


class Violation(NamedTuple):
    """A line no careful controller prints, or an act the host punishes.

    Attributes:
        time: When the child printed it.
        kind: ``host_crash``, ``burged_in``, ``unexpected_type``, ``control_char``,
            ``extra_fields``, ``malformed``, ``empty_text``, ``too_long`` or ``bad_utf8``.
        line: The line as printed.
        detail: A short human explanation.

    """

    time: float
    kind: str
    line: str
    detail: str


@dataclass
class _Waiting:
    """Text that a cut-in SYNTH_START left waiting for the old sentence's STOP."""

    text: str
    times: int = 1


@dataclass(order=True)
class _Pending:
    time: float
    seq: int
    line: str = field(compare=False)
    stop_of: str | None = field(default=None, compare=False)  # alias, for SYNTH_EVENT_STOP
    cancelled: bool = field(default=False, compare=False)
    then: _Waiting | None = field(default=None, compare=False)  # said after this STOP


@dataclass
class _SpeechInProgress:
    """The sentence an alias is speaking now."""

    index: int  # into HostSim.spoken
    stop: _Pending  # the SYNTH_EVENT_STOP due at its natural end
    text: str
    repeats: int = 0  # said this many times more after this


class HostSim:
    """The host's side of the conversation, driven line by line with explicit times.

    Args:
        voices: Voice aliases the synthesizer knows; a ``SYNTH_START`` with another voice gets
            no event at all.
        chars_per_second: A uniform speaking rate: a sentence takes ``min_seconds +
            len(text) / rate``. None (the default): the real host's pace.
        lose_stop_every: Drop every Nth ``SYNTH_EVENT_STOP`` (0: never).
        other_aliases: Model aliases of other characters, used by ``chatter``.
        min_seconds: Shortest speaking time.
        stop_latency: Delay of the ``SYNTH_EVENT_STOP`` that follows a ``SYNTH_STOP``.
        cut_latency: Delay of the old sentence's ``SYNTH_EVENT_STOP`` after a cut-in.
        open_jtalk_voices: Voices of the Open JTalk plugin, which crashes on ASCII-heavy text
            (default: every voice but ``slt_*``).
        allowed_types: Message types the child may print; others are violations.
        lipsync: Send ``LIPSYNC_START|alias|...`` after each ``SYNTH_EVENT_START``, as the
            synthesizer does.

    """

    def __init__(
        self,
        voices: Iterable[str] = DEFAULT_VOICES,
        chars_per_second: float | None = None,
        lose_stop_every: int = 0,
        other_aliases: Iterable[str] = ("1",),
        *,
        min_seconds: float = 0.2,
        stop_latency: float = STOP_LATENCY,
        cut_latency: float = CUT_LATENCY,
        allowed_types: Iterable[str] = ("SYNTH_START", "SYNTH_STOP"),
        lipsync: bool = True,
        open_jtalk_voices: Iterable[str] | None = None,
    ) -> None:
        self.voices = frozenset(voices)
        self.chars_per_second = chars_per_second
        self.lose_stop_every = lose_stop_every
        self.other_aliases = tuple(other_aliases) or ("1",)
        self.min_seconds = min_seconds
        self.stop_latency = stop_latency
        self.cut_latency = cut_latency
        self.open_jtalk_voices = frozenset(
            open_jtalk_voices
            if open_jtalk_voices is not None
            else (v for v in self.voices if not v.startswith("slt_"))
        )
        self.crashed: float | None = None
        """When the host died (a sentence its Open JTalk plugin could not take), or None."""
        self.allowed_types = frozenset(allowed_types)
        self.lipsync = lipsync
        self.spoken: list[Spoken] = []
        """Every sentence started, in order."""
        self.violations: list[Violation] = []
        """Every rule the child broke, in order."""
        self.ignored: list[tuple[float, str, str]] = []
        """``SYNTH_START`` lines that got no event (time, line, reason), e.g. an unknown voice."""
        self.lost_stops: list[tuple[float, str]] = []
        """``SYNTH_EVENT_STOP`` events dropped by ``lose_stop_every`` (time, alias)."""
        self._agenda: list[_Pending] = []
        self._speaking: dict[str, _SpeechInProgress] = {}
        self._cutting: dict[str, _Pending] = {}  # alias -> the cut sentence's STOP, then text
        self._seq = count()
        self._stops = 0
        self._chatter = 0

    # ------------------------------------------------------------------ driving

    def on_child_line(self, line: str | bytes, now: float) -> list[Timed]:
        """Take one line the child printed; return the host lines to deliver now, in order.

        Lines already due on the agenda (time <= ``now``) come first, then the echo of ``line``
        and the events it causes at once. Events for later stay on the agenda (``advance``).

        Args:
            line: The line, without its line ending (bytes are decoded as UTF-8).
            now: The current time.

        Returns:
            ``(time, host line)`` pairs.

        """
        out = self.advance(now)
        if self.crashed is not None:
            return out  # a dead host reads nothing
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                line = line.decode("utf-8", errors="replace")
                self._flag(now, "bad_utf8", line, "not valid UTF-8")
        line = line.removesuffix("\r")  # the host strips it (Windows line endings)
        if not line:
            return out  # the host ignores empty lines
        out.append((now, line))  # the echo
        self._check(line, now)
        fields = line.split("|")
        if fields[0] == "SYNTH_START":
            self._synth_start(line, fields, now, out)
        elif fields[0] == "SYNTH_STOP" and len(fields) >= 2:
            self._synth_stop(fields[1], now, out)
        return out

    def advance(self, now: float) -> list[Timed]:
        """Return the agenda's lines due at or before ``now``, in time order, and drop them."""
        out: list[Timed] = []
        while self._agenda and self._agenda[0].time <= now:
            item = heapq.heappop(self._agenda)
            if item.cancelled:
                continue
            if item.stop_of is None:
                out.append((item.time, item.line))
                continue
            alias = item.stop_of
            speech = self._speaking.get(alias)
            if speech is not None and speech.stop is item:
                del self._speaking[alias]
            self._emit_stop(item.time, alias, out)
            if item.then is not None:  # the cut-in's text starts after the old one's STOP
                self._cutting.pop(alias, None)
                self._start(alias, item.then.text, item.time, out, item.then.times - 1)
            elif speech is not None and speech.stop is item and speech.repeats:
                self._start(alias, speech.text, item.time, out, speech.repeats - 1)
        return out

    def next_event_time(self) -> float | None:
        """When the next line on the agenda is due (None when the agenda is empty)."""
        times = [item.time for item in self._agenda if not item.cancelled]
        return min(times) if times else None

    def speaking(self, alias: str | None = None) -> bool:
        """Whether ``alias`` (any alias when None) is speaking."""
        return bool(self._speaking) if alias is None else alias in self._speaking

    def idle(self) -> bool:
        """Nothing is being spoken and nothing is on the agenda."""
        return not self._speaking and self.next_event_time() is None

    def chatter(self, now: float) -> list[Timed]:
        """Other traffic every child receives: a clock tick and another character speaking.

        Each call returns the next batch (another alias in turn from ``other_aliases``).
        """
        alias = self.other_aliases[self._chatter % len(self.other_aliases)]
        minutes = self._chatter
        self._chatter += 1
        lines = [
            f"CURRENT_TIME|{12 + minutes // 60 % 12:02d}|{minutes % 60:02d}",
            f"MODEL_EVENT_ADD|{alias}",
            f"SYNTH_EVENT_START|{alias}",
            f"LIPSYNC_START|{alias}|a,80,i,80,sil,40",
            f"SYNTH_EVENT_STOP|{alias}",
            f"MOTION_EVENT_DELETE|{alias}|action",
            "KEY|a",
        ]
        return [(now, line) for line in lines]

    @staticmethod
    def startup(hours: int = 12, minutes: int = 0) -> list[str]:
        """Lines the host sends when the content starts: each plugin enabled, then the time."""
        enabled = [f"PLUGIN_EVENT_ENABLE|{plugin}" for plugin in PLUGINS]
        return [*enabled, f"CURRENT_TIME|{hours:02d}|{minutes:02d}"]

    def speaking_seconds(self, text: str) -> float:
        """How long ``text`` takes to say."""
        if self.chars_per_second is not None:
            return self.min_seconds + len(text) / max(self.chars_per_second, 1e-9)
        return _BASE + sum(_char_seconds(ch) for ch in text)

    def would_crash(self, voice: str, text: str) -> bool:
        """Whether the Open JTalk plugin would overflow its heap on ``text`` (PROTOCOL.md).

        It allocates ``2 * strlen + 1`` bytes and widens each ASCII byte to three.
        """
        if voice not in self.open_jtalk_voices:
            return False
        data = text.encode("utf-8")
        ascii_bytes = sum(1 for b in data if b < 0x80)
        return ascii_bytes > len(data) - ascii_bytes

    # ------------------------------------------------------------------ rules

    def _synth_start(self, line: str, fields: list[str], now: float, out: list[Timed]) -> None:
        if len(fields) < 4:
            self._flag(now, "malformed", line, "SYNTH_START needs alias, voice and text")
            return
        alias, voice, text = fields[1], fields[2], fields[3]
        if voice not in self.voices:
            self.ignored.append((now, line, f"unknown voice {voice!r}"))
            return
        if not text:
            self._flag(now, "empty_text", line, "empty text: the synthesizer sends no event")
            return
        if self.would_crash(voice, text):
            self._die(now, line)
            return
        waiting = self._cutting.get(alias)
        if waiting is not None and waiting.then is not None:
            self._flag(now, "burged_in", line, f"{alias} was still speaking: text replaced")
            self._lipsync_stop(alias, now, out)
            waiting.then = _Waiting(text, waiting.then.times + 1)
            return
        old = self._speaking.pop(alias, None)
        if old is None:
            self._start(alias, text, now, out)
            return
        self._flag(now, "burged_in", line, f"{alias} was still speaking: sentence cut off")
        self._cut(old, now)
        self._lipsync_stop(alias, now, out)
        stop = self._schedule(now + self.cut_latency, f"SYNTH_EVENT_STOP|{alias}", stop_of=alias)
        stop.then = _Waiting(text)
        self._cutting[alias] = stop

    def _start(self, alias: str, text: str, now: float, out: list[Timed], repeats: int = 0) -> None:
        out.append((now, f"SYNTH_EVENT_START|{alias}"))
        if self.lipsync:
            out.append((now, f"LIPSYNC_START|{alias}|{_phonemes(text)}"))
        end = now + self.speaking_seconds(text)
        stop = self._schedule(end, f"SYNTH_EVENT_STOP|{alias}", stop_of=alias)
        self._speaking[alias] = _SpeechInProgress(len(self.spoken), stop, text, repeats)
        self.spoken.append(Spoken(alias, text, now, end, False))

    def _synth_stop(self, alias: str, now: float, out: list[Timed]) -> None:
        self._lipsync_stop(alias, now, out)
        waiting = self._cutting.pop(alias, None)
        if waiting is not None:
            waiting.then = None  # the text waiting after a cut-in is not said
            return
        speech = self._speaking.pop(alias, None)
        if speech is None:
            return  # not speaking: only the LIPSYNC_STOP
        self._cut(speech, now)
        self._schedule(now + self.stop_latency, f"SYNTH_EVENT_STOP|{alias}", stop_of=alias)

    def _lipsync_stop(self, alias: str, now: float, out: list[Timed]) -> None:
        if self.lipsync:
            out.append((now, f"LIPSYNC_STOP|{alias}"))

    def _die(self, now: float, line: str) -> None:
        detail = "ASCII bytes outnumber the others: Open_JTalk's heap overflows, the host dies"
        self._flag(now, "host_crash", line, detail)
        self.crashed = now
        self._agenda.clear()
        self._speaking.clear()
        self._cutting.clear()

    def _cut(self, speech: _SpeechInProgress, now: float) -> None:
        speech.stop.cancelled = True
        self.spoken[speech.index] = self.spoken[speech.index]._replace(end=now, cut=True)

    def _emit_stop(self, time: float, alias: str, out: list[Timed]) -> None:
        self._stops += 1
        if self.lose_stop_every > 0 and self._stops % self.lose_stop_every == 0:
            self.lost_stops.append((time, alias))
            return
        out.append((time, f"SYNTH_EVENT_STOP|{alias}"))

    def _schedule(self, time: float, line: str, stop_of: str | None = None) -> _Pending:
        item = _Pending(time, next(self._seq), line, stop_of)
        heapq.heappush(self._agenda, item)
        return item

    def _check(self, line: str, now: float) -> None:
        if len(line.encode("utf-8")) > MAX_LINE_BYTES:
            self._flag(now, "too_long", line, f"over {MAX_LINE_BYTES} bytes")
        fields = line.split("|")
        kind = fields[0]
        if kind not in self.allowed_types:
            self._flag(now, "unexpected_type", line, f"message type {kind!r} not allowed")
        expected = _FIELD_COUNTS.get(kind)
        if expected is not None and len(fields) > expected:
            self._flag(now, "extra_fields", line, f"{len(fields)} fields, {kind} has {expected}")
        bad = sorted({f"U+{ord(ch):04X}" for ch in line if unicodedata.category(ch) == "Cc"})
        if bad:
            self._flag(now, "control_char", line, "control characters " + " ".join(bad))

    def _flag(self, now: float, kind: str, line: str, detail: str) -> None:
        self.violations.append(Violation(now, kind, line, detail))


def _phonemes(text: str) -> str:
    """A stand-in lip-sync string (the real one is phoneme,duration pairs)."""
    return ",".join(["a,60"] * min(len(text), 8) + ["sil,40"])


def _char_seconds(ch: str) -> float:
    if ch in _PAUSES:
        return _PAUSE
    if ch.isdigit():
        return _DIGIT
    if (ch.isascii() and ch.isalpha()) or "Ａ" <= ch <= "ｚ":
        return _LATIN
    if ch.isalpha():
        return _LETTER
    return 0.0 if ch.isspace() else _OTHER
