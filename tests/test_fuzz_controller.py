"""Stateful fuzzing of the pure Controller against a model of the host's synthesizer.

Hypothesis drives random interleavings of host lines (random bytes, broken UTF-8, huge lines,
our own echoed lines, other characters' events), stream chunks (any text, incl. ``|``, line
breaks, NUL, emoji), stream ends and errors, stale-generation events, deadlines and the host's
synthesizer events, and checks after every step:

- at most one SYNTH_START of ours is outstanding: a SYNTH_START is only ever emitted after the
  previous one was ended by its own SYNTH_EVENT_STOP, given up by its deadline, or SYNTH_STOPped;
- the controller moves on at once when its sentence's real STOP arrives (it never waits for a
  deadline it does not need);
- every output line is SYNTH_START|alias|voice|text or SYNTH_STOP|alias, with clean, non-empty
  fields and at most 2000 bytes;
- a turn commits exactly the sentences the user heard (those the host started and did not have
  cut off by our SYNTH_STOP), marked as ``barge_in_mark`` says when interrupted, nothing else;
- the history starts with the system prompt, alternates user/assistant and fits its limits;
- once input stops (stream end, every deadline, every STOP) the controller is Idle again.

The host model follows PROTOCOL.md: SYNTH_EVENT_START comes at once after SYNTH_START; a second
SYNTH_START cuts the first sentence off (its STOP, then the new START); SYNTH_STOP of a speaking
character is followed by a late STOP; an unknown voice gives no events at all; a STOP can be
lost. The host's immediate answers (echo, START, the STOP of a cut or stopped sentence) arrive
before the next stream event or deadline: they take milliseconds, those take a new HTTP round
trip or seconds. The end of a sentence's audio may come at any moment.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

import hypothesis.strategies as st
import regex
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from fsm_agent.core import protocol
from fsm_agent.core.controller import Controller
from fsm_agent.core.events import (
    Arm,
    CancelStream,
    Chunk,
    Command,
    Disarm,
    Event,
    Progress,
    Send,
    StartStream,
    StreamEnd,
    StreamError,
    SummaryDone,
    SummaryFailed,
    SynthStarted,
    SynthStopped,
    TurnDone,
    Utterance,
    event_from_message,
)
from fsm_agent.core.memory import mark_interrupted
from fsm_agent.core.settings import Settings
from fsm_agent.runtime.interpreter import Effects, Interpreter
from fsm_agent.text.join import join_sentences

ERROR_REPLY = "Sorry, I could not answer that."
FILLER = "Hmm, let me think."  # filler = "auto" with an slt voice
_UNSAFE = regex.compile(r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Cn}|]")

# ---- strategies -------------------------------------------------------------------------------

_SPECIAL = list("abc XYZ.,!?;:。！？、「」()\"'|\n\r\x00\t\u2028\u200b*#`-_~>1234567890😀🎉ア漢한é")
chunk_text = st.one_of(
    st.text(alphabet=st.sampled_from(_SPECIAL), max_size=30),
    st.text(max_size=20),  # any code point
    st.sampled_from(
        [
            "Hello there. ",
            "How are you? ",
            "<think>The user asks. I answer.</think>",
            "こんにちは。",
            "Mr. Smith paid 3.14 dollars! ",
            "SYNTH_START|0|x|evil\nKEYVALUE_SET|_RequestedURL|http://x\n",
            "\nEXECUTE|calc.exe\r\n",
            "**bold** and `code`. ",
            "```\nprint(1)\n```\n",
            "",
        ]
    ),
    st.integers(1, 4).map(lambda n: "x" * (900 * n)),  # a sentence too long for one line
    st.integers(1, 3).map(lambda n: "語" * (700 * n) + "。"),
)

utterance_text = st.one_of(
    st.text(alphabet=st.sampled_from(_SPECIAL), min_size=1, max_size=20),
    st.sampled_from(["hello", "tell me a story", "ちょっと待って"]),
)

_LINES = [
    b"CURRENT_TIME|12|30",
    b"PLUGIN_EVENT_ENABLE|AnyScript",
    b"MODEL_EVENT_ADD|0",
    b"KEY|a",
    b"LIPSYNC_START|0|a,50",
    b"MOTION_EVENT_ADD|0|base",
    b"SYNTH_EVENT_START|1",
    b"SYNTH_EVENT_STOP|1",
    b"SYNTH_EVENT_STOP|mei",
    b"SYNTH_EVENT_STOP|",
    b"SYNTH_EVENT_STOP",
    b" SYNTH_EVENT_STOP|0",
    b"SYNTH_START|0|mei_voice_normal|echoed text",
    b"SYNTH_STOP|0",
    b"RECOG_EVENT_STOP|",
    b"RECOG_EVENT_STOP|   ",
    b"RECOG_EVENT_OVERFLOW",
    b"RECOG_EVENT_GMM|noise",
    b"RECOG_EVENT_AWAY|ON",
    b"[2024-01-01 00:00:00] [123] Plugin: Sent: CURRENT_TIME|1|2",
    b"[2024-01-01 00:00:00] [123] garbage without marker",
    b"",
    b"\r",
    b"|||",
    b"\x00\x00",
    b"RECOG_EVENT_STOP|a\x00b",
    b"RECOG_EVENT_STOP|\xff\xfe broken",
    b"\xc3\x28\xa0\xa1",
    b"TIMER_EVENT_STOP|t",
]
host_line = st.one_of(
    st.sampled_from(_LINES),
    st.binary(max_size=200),
    st.binary(min_size=4000, max_size=6000),
    st.integers(4090, 4100).map(lambda n: b"RECOG_EVENT_STOP|" + b"a" * n),
    st.text(max_size=60).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.builds(lambda t: b"RECOG_EVENT_STOP|" + t.encode("utf-8", "surrogatepass"), st.text()),
    st.builds(lambda t: b"RECOG_EVENT_STOP|" + t, st.binary(max_size=50)),
)

settings_strategy = st.builds(
    lambda barge, err, max_chars, turns, tokens, lang, alias, mark, summarize, filler: replace(
        Settings(),
        summarize=summarize,
        barge_in=barge,
        barge_in_mark=mark,
        error_reply=err,
        filler=filler,
        max_reply_chars=max_chars,
        history_turns=turns,
        history_tokens=tokens,
        lang=lang,
        alias=alias,
        voice="slt_voice_normal",
        synth_timeout=0.3,
        stream_timeout=1.0,
    ),
    st.sampled_from(["final", "start", "never"]),
    st.sampled_from(["", ERROR_REPLY]),
    st.sampled_from([4000, 60]),
    st.sampled_from([20, 2, 0]),
    st.sampled_from([3000, 120]),
    st.sampled_from(["auto", "en", "ja"]),
    st.sampled_from(["0", "gene"]),
    st.sampled_from(["ellipsis", "note", "none"]),
    st.booleans(),
    st.sampled_from(["", "auto"]),
)


# ---- the host's synthesizer ---------------------------------------------------------------------


@dataclass
class HostEvent:
    line: bytes
    immediate: bool  # sent within milliseconds of our line (echo, START, STOP of a cut sentence)
    kind: str = ""  # "start" / "stop" for our alias, "" otherwise
    sid: int = 0  # the sentence it belongs to


def check_line(line: str, s: Settings) -> None:
    """Every line we print is a clean SYNTH_START or SYNTH_STOP under 2000 bytes."""
    assert isinstance(line, str)
    size = len(line.encode("utf-8"))
    assert 0 < size <= protocol.MAX_LINE_BYTES, size
    assert "\n" not in line and "\r" not in line and "\x00" not in line
    fields = line.split("|")
    assert fields[0] in ("SYNTH_START", "SYNTH_STOP"), line[:80]
    if fields[0] == "SYNTH_START":
        assert len(fields) == 4, line[:200]
        assert fields[1] == s.alias and fields[2] == s.voice
        text = fields[3]
        assert text and text == text.strip(), repr(text[:80])
        assert not _UNSAFE.search(text), repr(text[:200])
    else:
        assert fields == ["SYNTH_STOP", s.alias]


class ControllerFuzz(RuleBasedStateMachine, Effects):
    """The fuzzer is the world of the shared command interpreter: it checks every effect."""

    def __init__(self) -> None:
        super().__init__()
        self.c: Controller | None = None

    @initialize(s=settings_strategy)
    def setup(self, s: Settings) -> None:
        self.s = s
        self.c = Controller(s)
        # the clock stands still: a deadline passes only when a rule says so
        self.interp = Interpreter(self.c, self, clock=lambda: 0.0)
        self.alias = s.alias.encode()
        self.queue: deque[HostEvent] = deque()
        self.speaking: int | None = None  # the sentence the host's synthesizer is playing
        self.lose_stop: set[int] = set()
        self.mode = "normal"  # how the host treats the next SYNTH_START
        self.sid = 0
        self.outstanding: int | None = None  # our SYNTH_START not yet ended (host truth)
        self.sent: dict[int, tuple[int, str, bool]] = {}  # sid -> (turn, text, is_error_reply)
        self.heard: set[int] = set()
        self.gen = 0
        self.open_gens: set[int] = set()
        self.turn = 0
        self.turn_done_count = 0
        self.commits: list[tuple[str, str]] = []
        self.failed_turn = False

    # ---- feeding the controller ------------------------------------------------------------

    @property
    def armed(self) -> set[str]:
        """The deadlines armed now."""
        return set(self.interp.deadlines)

    def feed(self, event: Event) -> list[Command]:
        assert self.c is not None
        commands = self.interp.feed(event)
        kinds = [type(c).__name__ for c in commands]
        if "Summarize" in kinds:  # between turns only: never with or before a reply's request
            assert "StartStream" not in kinds[kinds.index("Summarize") :], kinds
        if "StartStream" in kinds and "CancelSummary" in kinds:
            assert kinds.index("CancelSummary") < kinds.index("StartStream"), kinds
        for command in commands:
            if isinstance(command, Arm):
                assert command.seconds > 0
        return commands

    # ---- the effects of the commands (the shared interpreter calls these) ------------------

    def send(self, command: Send) -> None:
        check_line(command.line, self.s)
        assert command.sentence == command.line.startswith("SYNTH_START|")
        self.on_line(command.line)

    def start_stream(self, command: StartStream) -> None:
        assert command.gen > self.gen
        self.gen = command.gen
        self.open_gens.add(command.gen)
        self.turn += 1
        assert command.messages[-1]["role"] == "user"

    def cancel_stream(self, command: CancelStream) -> None:
        self.open_gens.discard(command.gen)

    def turn_done(self, command: TurnDone) -> None:
        self.turn_done_count += 1
        expected = [
            text
            for sid, (turn, text, is_error) in sorted(self.sent.items())
            if turn == self.turn and sid in self.heard and not is_error
        ]
        assert command.heard == join_sentences(expected), (command.heard, expected)
        kept = command.heard
        if command.outcome == "interrupted":
            kept = mark_interrupted(command.heard, self.s.barge_in_mark)
        if kept:
            self.commits.append((command.user, kept))
            h = self.c.history  # type: ignore[union-attr]
            # a commit trims to both limits (see test_calibration_keeps_the_budget), but the
            # token budget never drops the last exchange
            assert len(h.turns) <= 1 or h.tokens() <= h.max_tokens, (h.tokens(), h.max_tokens)

    def on_line(self, line: str) -> None:
        kind = line.split("|", 1)[0]
        echo = HostEvent(line.encode(), immediate=True)
        if kind == "SYNTH_START":
            assert self.outstanding is None, "a SYNTH_START while the previous one is outstanding"
            self.sid += 1
            sid = self.sid
            text = line.split("|", 3)[3]
            ours = text in (protocol.sanitize_field(ERROR_REPLY), FILLER)  # not the LLM's
            self.sent[sid] = (self.turn, text, ours)
            self.outstanding = sid
            self.queue.append(echo)
            if self.mode == "silent":  # unknown voice, no synthesizer: no events at all
                return
            if self.speaking is not None:  # a SYNTH_START cuts the playing sentence off
                self.queue.append(self.stop_event(self.speaking, immediate=True))
            self.queue.append(HostEvent(b"SYNTH_EVENT_START|" + self.alias, True, "start", sid))
            self.speaking = sid
            if self.mode == "lost_stop":
                self.lose_stop.add(sid)
        else:
            # SYNTH_STOP: the sentence is cut off, so it was not heard to its end
            self.heard.discard(self.outstanding or 0)
            self.outstanding = None
            self.queue.append(echo)
            if self.speaking is not None:  # the late STOP of an interrupted sentence
                self.queue.append(self.stop_event(self.speaking, immediate=True))
                self.speaking = None

    def stop_event(self, sid: int, immediate: bool) -> HostEvent:
        return HostEvent(b"SYNTH_EVENT_STOP|" + self.alias, immediate, "stop", sid)

    def deliver_line(self, raw: bytes) -> None:
        msg = protocol.parse_line(raw)
        if msg is None:
            return
        event = event_from_message(msg, self.s.alias)
        if event is not None:
            self.feed(event)

    def deliver_host_event(self) -> None:
        ev = self.queue.popleft()
        if ev.kind == "start" and ev.sid == self.outstanding:
            self.heard.add(ev.sid)
        msg = protocol.parse_line(ev.line)
        event = event_from_message(msg, self.s.alias) if msg else None
        if ev.kind == "stop" and ev.sid == self.outstanding:
            self.outstanding = None
            commands = self.feed(SynthStopped())
            assert Disarm("synth") in commands, "the real STOP of our sentence was not taken"
            return
        if event is not None:
            assert isinstance(event, SynthStarted | SynthStopped) == bool(ev.kind)
            self.feed(event)

    def flush_immediate(self) -> None:
        """Deliver the host's answers that take milliseconds (up to the last immediate one)."""
        while any(ev.immediate for ev in self.queue):
            self.deliver_host_event()

    # ---- rules: the user and the host ---------------------------------------------------------

    @rule(text=utterance_text)
    def utterance(self, text: str) -> None:
        self.deliver_line(("RECOG_EVENT_STOP|" + text).encode("utf-8", "surrogatepass"))

    @rule()
    def speech_start(self) -> None:
        self.deliver_line(b"RECOG_EVENT_START")

    @rule(alias=st.sampled_from([b"", b"|0", b"|gene", b"|9"]))
    def forget(self, alias: bytes) -> None:
        self.deliver_line(b"FSM_AGENT_FORGET" + alias)

    @precondition(lambda self: self.c is not None and self.c.memory.asked is not None)
    @rule(text=st.text(max_size=400), fails=st.booleans())
    def summary_comes_back(self, text: str, fails: bool) -> None:
        assert self.c is not None and self.c.memory.asked is not None
        asked = self.c.memory.asked
        self.feed(
            SummaryFailed(asked.job, "x") if fails else SummaryDone(asked.job, text, asked.through)
        )

    @rule(raw=host_line)
    def random_line(self, raw: bytes) -> None:
        msg = protocol.parse_line(raw)
        event = event_from_message(msg, self.s.alias) if msg else None
        if isinstance(event, SynthStarted | SynthStopped):
            return  # a synthesizer event for our alias is the host model's to send
        if event is not None:
            self.feed(event)

    @rule(other=st.sampled_from([b"1", b"mei", b"00", b"0 ", b"gene2"]), start=st.booleans())
    def other_character(self, other: bytes, start: bool) -> None:
        kind = b"SYNTH_EVENT_START|" if start else b"SYNTH_EVENT_STOP|"
        if other != self.alias:
            self.deliver_line(kind + other)

    @rule(mode=st.sampled_from(["normal", "normal", "silent", "lost_stop"]))
    def synth_mode(self, mode: str) -> None:
        self.mode = mode

    @precondition(lambda self: self.c is not None and self.queue)
    @rule()
    def host_event(self) -> None:
        self.deliver_host_event()

    @precondition(lambda self: self.c is not None and self.speaking is not None)
    @rule()
    def audio_ends(self) -> None:
        sid, self.speaking = self.speaking, None
        assert sid is not None
        if sid not in self.lose_stop:
            self.queue.append(self.stop_event(sid, immediate=False))

    # ---- rules: the LLM stream -----------------------------------------------------------------

    @precondition(lambda self: self.c is not None and self.gen in self.open_gens)
    @rule(text=chunk_text)
    def chunk(self, text: str) -> None:
        self.flush_immediate()
        if self.gen in self.open_gens:
            self.feed(Chunk(self.gen, text))

    @precondition(lambda self: self.c is not None and self.gen in self.open_gens)
    @rule(total=st.one_of(st.none(), st.integers(0, 5000)))
    def stream_end(self, total: int | None) -> None:
        self.flush_immediate()
        if self.gen in self.open_gens:
            self.open_gens.discard(self.gen)
            self.feed(StreamEnd(self.gen, total))

    @precondition(lambda self: self.c is not None and self.gen in self.open_gens)
    @rule(reason=st.sampled_from(["HTTP 500 InternalServerError: x", "APIConnectionError: cut"]))
    def stream_error(self, reason: str) -> None:
        self.flush_immediate()
        if self.gen in self.open_gens:
            self.open_gens.discard(self.gen)
            self.feed(StreamError(self.gen, reason))

    @precondition(lambda self: self.c is not None and self.gen in self.open_gens)
    @rule(stage=st.sampled_from(["accepted", "thinking"]))
    def progress(self, stage: str) -> None:
        """The server is working: it answered the request, or a reasoning delta came."""
        self.flush_immediate()
        if self.gen in self.open_gens:
            self.feed(Progress(self.gen, stage))  # type: ignore[arg-type]

    @precondition(lambda self: self.c is not None and self.gen in self.open_gens)
    @rule(
        prompt=st.one_of(st.none(), st.integers(1, 5000)),
        context=st.one_of(st.none(), st.integers(1, 4000)),
    )
    def context_overflow(self, prompt: int | None, context: int | None) -> None:
        """The server refuses the request as too long: retried once, shorter, or failed."""
        self.flush_immediate()
        if self.gen in self.open_gens:
            self.open_gens.discard(self.gen)
            self.feed(StreamError(self.gen, "exceeds the context", (prompt, context)))

    @precondition(lambda self: self.c is not None and self.gen > 0)
    @rule(data=st.data(), which=st.sampled_from(["chunk", "end", "error"]), text=chunk_text)
    def stale_stream_event(self, data: st.DataObject, which: str, text: str) -> None:
        """An event of a cancelled or finished generation, still in the runtime's queue."""
        closed = [g for g in range(1, self.gen + 1) if g not in self.open_gens]
        if not closed:
            return
        gen = data.draw(st.sampled_from(closed))
        event = {
            "chunk": Chunk(gen, text),
            "end": StreamEnd(gen, 10),
            "error": StreamError(gen, "x"),
        }
        self.feed(event[which])

    @precondition(lambda self: self.c is not None and self.armed)
    @rule(data=st.data())
    def deadline(self, data: st.DataObject) -> None:
        self.flush_immediate()
        if not self.armed:
            return
        kind = data.draw(st.sampled_from(sorted(self.armed)))
        self.fire_deadline(kind)

    def fire_deadline(self, kind: str) -> None:
        assert kind in self.armed
        if kind == "synth":
            self.outstanding = None  # given up
        self.interp.expire(kind)  # type: ignore[arg-type]

    # ---- input stops: everything finishes -----------------------------------------------------

    @precondition(lambda self: self.c is not None)
    @rule()
    def input_stops(self) -> None:
        self.settle()

    def settle(self) -> None:
        assert self.c is not None
        for _ in range(500):
            if self.queue:
                self.deliver_host_event()
            elif self.speaking is not None:
                self.audio_ends()
            elif self.gen in self.open_gens:
                self.open_gens.discard(self.gen)
                self.feed(StreamEnd(self.gen))
            elif "synth" in self.armed:
                self.fire_deadline("synth")
            elif "stream" in self.armed:
                self.fire_deadline("stream")
            else:
                break
        else:
            raise AssertionError("input stopped but the controller never settled")
        assert self.c.state == "Idle", self.c.state
        assert not self.armed, self.armed
        assert self.outstanding is None

    # ---- invariants ------------------------------------------------------------------------------

    @invariant()
    def history_is_well_formed(self) -> None:
        if self.c is None:
            return
        h = self.c.history
        messages = h.messages()
        assert messages[0]["role"] == "system"
        assert messages[0]["content"].startswith(self.s.system_prompt)
        assert h.summary or messages[0]["content"] == self.s.system_prompt
        roles = [m["role"] for m in messages[1:]]
        assert roles == ["user", "assistant"] * (len(roles) // 2)
        assert len(h.turns) <= max(self.s.history_turns, 0)
        for turn in h.turns:
            assert turn.assistant.strip()
            assert ERROR_REPLY not in turn.assistant
        # only committed, heard text, newest last
        kept = [(t.user, t.assistant) for t in h.turns]
        assert kept == self.commits[len(self.commits) - len(kept) :]

    @invariant()
    def state_is_known(self) -> None:
        if self.c is not None:
            assert self.c.state in ("Idle", "Generating", "Speaking", "Draining")
            if self.c.state == "Idle":
                assert "stream" not in self.armed and not (self.open_gens & {self.c.gen})

    def teardown(self) -> None:
        if self.c is not None:
            self.settle()


ControllerFuzz.TestCase.settings = settings(
    max_examples=250,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
TestControllerFuzz = ControllerFuzz.TestCase


def test_calibration_keeps_the_budget() -> None:
    """Found by the fuzzer: the request after a calibrated, uncommitted turn is over budget."""
    s = replace(Settings(), history_tokens=120, system_prompt="Be brief.")
    c = Controller(s)

    def turn(user: str, reply: str, total: int | None, heard: bool) -> list[Command]:
        out = c.handle(Utterance(user))
        out += c.handle(Chunk(c.gen, reply))
        out += c.handle(StreamEnd(c.gen, total))
        if heard:
            out += c.handle(SynthStarted()) + c.handle(SynthStopped())
        return out

    turn("tell me something about the weather today", "It is sunny and warm outside.", None, True)
    assert c.history.tokens() <= 120
    # the server reports twice the estimate; the user barges in before anything is heard
    turn("and tomorrow?", "Rain.", 2 * c.history.tokens() + 60, False)
    out = c.handle(Utterance("what about the weekend?"))
    request = next(cmd for cmd in out if isinstance(cmd, StartStream)).messages
    assert c.history.tokens() <= 120 or len(request) == 2, (c.history.tokens(), request)
