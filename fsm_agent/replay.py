"""``fsm-agent replay FILE``: what the controller would have sent for a recorded host transcript.

The file holds MMDAgent-EX ``AllLog`` lines (``[time] [tick] Module: Sent: TYPE|ARGS``), plain
message lines (``TYPE|ARGS``) or our ``--record`` JSON lines. The pure controller is fed directly,
on a simulated clock: replies arrive and deadlines pass at simulated times, nothing waits, and
the same file always gives the same output. The tool for bug reports.

Replies come from the record file when it holds them (played back piece by piece at their
recorded pace), otherwise from ``--backend`` (echo, the default here, or script:FILE).
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import regex

from fsm_agent.config import ConfigError, Settings
from fsm_agent.controller import Controller
from fsm_agent.events import (
    Arm,
    CancelStream,
    Chunk,
    Command,
    Deadline,
    Disarm,
    Event,
    Send,
    StartStream,
    StreamEnd,
    StreamError,
    TurnDone,
    event_from_message,
)
from fsm_agent.llm import Messages, make_backend
from fsm_agent.protocol import parse_line
from fsm_agent.record import REPLAY_SETTINGS
from fsm_agent.term import Palette, utf8_output, wants_color

HELP = "feed a recorded host transcript through the controller and print what it would send"

_ALLLOG_TIME = regex.compile(r"^\s*\[([^\]]*)\]")
_CLOCK = regex.compile(r"(\d{1,2}):(\d{2}):(\d{2}(?:[.,]\d+)?)")
_MAX_STEPS = 200_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the transcript file and the output options."""
    parser.add_argument(
        "file",
        type=Path,
        help="AllLog lines, plain message lines, or a --record file ('-': standard input)",
    )
    parser.add_argument(
        "--sent-only",
        action="store_true",
        help="print only the lines the controller would send, nothing else",
    )
    parser.add_argument(
        "--step",
        type=float,
        default=0.0,
        metavar="SEC",
        help="simulated seconds between lines that carry no time (default: 0)",
    )


# ---- the input ------------------------------------------------------------------------------


@dataclass
class RecordedStream:
    """One reply as the record file has it: pieces at offsets from its opening."""

    pieces: list[tuple[float, str]] = field(default_factory=list)
    end: tuple[float, Event | None] | None = None
    """When and how it ended: ``StreamEnd``/``StreamError`` with a placeholder gen, or None."""


@dataclass
class Transcript:
    """What a file holds: host lines with times, and the recorded replies and output, if any."""

    lines: list[tuple[float, bytes]] = field(default_factory=list)
    streams: list[RecordedStream] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    is_record: bool = False


def read_transcript(raw_lines: Iterable[bytes], step: float = 0.0) -> Transcript:
    """Read a transcript in any of the three formats (they may even be mixed).

    Args:
        raw_lines: The file's lines as bytes.
        step: Seconds between lines that carry no time.

    Returns:
        The transcript, times relative to its first line.

    """
    out = Transcript()
    opened: dict[int, tuple[float, RecordedStream]] = {}
    now = 0.0
    first_clock: float | None = None
    for raw in raw_lines:
        entry = _json_entry(raw)
        if entry is not None:
            out.is_record = True
            now = float(entry.get("t", now))
            _take_entry(out, entry, now, opened)
            continue
        text = raw.decode("utf-8", errors="replace")
        clock = _alllog_seconds(text)
        if clock is not None:
            first_clock = clock if first_clock is None else first_clock
            now = max(now, clock - first_clock)
        elif out.lines:
            now += step
        out.lines.append((now, raw))
    return out


def _json_entry(raw: bytes) -> dict[str, Any] | None:
    if not raw.lstrip().startswith(b"{"):
        return None
    try:
        entry = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return entry if isinstance(entry, dict) and "dir" in entry else None


def _take_entry(
    out: Transcript,
    entry: dict[str, Any],
    now: float,
    opened: dict[int, tuple[float, RecordedStream]],
) -> None:
    kind, line = entry["dir"], str(entry.get("line", ""))
    number = entry.get("stream")
    if kind == "in":
        out.lines.append((now, line.encode("utf-8")))
    elif kind == "out":
        out.sent.append(line)
    elif kind == "meta":
        settings = entry.get("settings")
        if isinstance(settings, dict):
            out.settings = {k: v for k, v in settings.items() if k in REPLAY_SETTINGS}
    elif kind == "open" and isinstance(number, int):
        stream = RecordedStream()
        opened[number] = (now, stream)
        out.streams.append(stream)
    elif number in opened:
        start, stream = opened[number]
        if kind == "chunk":
            stream.pieces.append((now - start, line))
        elif kind == "end":
            tokens = entry.get("tokens")
            stream.end = (now - start, StreamEnd(0, tokens if isinstance(tokens, int) else None))
        elif kind == "error":
            stream.end = (now - start, StreamError(0, line))


def _alllog_seconds(text: str) -> float | None:
    """The time of an ``AllLog`` line (``[12:34:56.789] ...`` or ``[1234.5] ...``), if any."""
    match = _ALLLOG_TIME.match(text)
    if match is None:
        return None
    stamp = match.group(1)
    clock = _CLOCK.search(stamp)
    if clock is not None:
        hours, minutes, seconds = clock.groups()
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds.replace(",", "."))
    try:
        return float(stamp)
    except ValueError:
        return None


# ---- the simulation -------------------------------------------------------------------------

Emit = Callable[[float, str, str], None]
"""Called with (simulated time, kind, text): kind is host, out, state, turn or note."""


class Replayer:
    """Feed a transcript to a pure controller on a simulated clock.

    Args:
        settings: The configuration of the controller.
        streams: Recorded replies, used in order for the replay's generations.
        fallback: Makes a reply when the recorded ones run out: ``messages -> pieces``.
        emit: Receives everything that happens.

    """

    def __init__(
        self,
        settings: Settings,
        streams: list[RecordedStream],
        fallback: Callable[[Messages], list[str]],
        emit: Emit,
    ) -> None:
        self.controller = Controller(settings)
        self.now = 0.0
        self.sent: list[str] = []
        self._streams = list(streams)
        self._fallback = fallback
        self._emit = emit
        self._heap: list[tuple[float, int, Event]] = []
        self._seq = itertools.count()
        self._deadlines: dict[str, float] = {}
        self.fallback_replies = 0

    def host_line(self, at: float, raw: bytes) -> None:
        """Let simulated time run to ``at``, then deliver one host line."""
        self.run_until(at)
        msg = parse_line(raw)
        if msg is None:
            return
        event = event_from_message(msg, self.controller.settings.alias)
        if event is None:
            return  # everything else the host sends every child
        self._emit(self.now, "host", "|".join((msg.type, *msg.args)))
        self.feed(event)

    def run_until(self, at: float | None) -> None:
        """Deliver replies and deadlines due by ``at`` (None: until nothing is left)."""
        for _ in range(_MAX_STEPS):
            if not self._heap or (at is not None and self._heap[0][0] > at):
                break
            due, _, event = heapq.heappop(self._heap)
            self.now = max(self.now, due)
            if isinstance(event, Deadline):
                if self._deadlines.get(event.kind) != due:
                    continue  # disarmed or re-armed since
                del self._deadlines[event.kind]
            self.feed(event)
        else:
            self._emit(self.now, "note", "stopped: too many steps (a loop?)")
        if at is not None:
            self.now = max(self.now, at)

    def feed(self, event: Event) -> None:
        """Give the controller one event and carry out its commands on the simulated clock."""
        before = self.controller.state
        for command in self.controller.handle(event):
            self._perform(command)
        if self.controller.state != before:
            self._emit(self.now, "state", self.controller.state)

    def _schedule(self, at: float, event: Event) -> None:
        heapq.heappush(self._heap, (at, next(self._seq), event))

    def _perform(self, command: Command) -> None:
        match command:
            case Send(line=line):
                self.sent.append(line)
                self._emit(self.now, "out", line)
            case StartStream(gen=gen, messages=messages):
                self._start(gen, messages)
            case CancelStream(gen=gen):
                self._heap = [item for item in self._heap if _gen_of(item[2]) != gen]
                heapq.heapify(self._heap)
            case Arm(kind=kind, seconds=seconds):
                due = self.now + seconds
                self._deadlines[kind] = due
                self._schedule(due, Deadline(kind))
            case Disarm(kind=kind):
                self._deadlines.pop(kind, None)
            case TurnDone(outcome=outcome, heard=heard):
                self._emit(self.now, "turn", f"{outcome}; heard: {heard!r}")

    def _start(self, gen: int, messages: Messages) -> None:
        if self._streams:
            stream = self._streams.pop(0)
        else:
            self.fallback_replies += 1
            stream = RecordedStream([(0.0, piece) for piece in self._fallback(messages)])
            stream.end = (0.0, StreamEnd(0))
        for offset, piece in stream.pieces:
            self._schedule(self.now + offset, Chunk(gen, piece))
        if stream.end is not None:
            offset, end = stream.end
            if isinstance(end, StreamEnd):
                self._schedule(self.now + offset, StreamEnd(gen, end.total_tokens))
            elif isinstance(end, StreamError):
                self._schedule(self.now + offset, StreamError(gen, end.reason))


def _gen_of(event: Event) -> int | None:
    return event.gen if isinstance(event, Chunk | StreamEnd | StreamError) else None


# ---- the command ----------------------------------------------------------------------------


def replay_settings(
    settings: Settings, args: argparse.Namespace, recorded: dict[str, Any]
) -> Settings:
    """Use the recorded settings for everything the command line did not set itself."""
    given = set(vars(args))
    kept = {k: v for k, v in recorded.items() if k not in given}
    if settings.backend == "openai" and "backend" not in given:
        settings = replace(settings, backend="echo")  # replay never calls a server by itself
    try:
        return replace(settings, **kept)
    except TypeError as exc:
        raise ConfigError(f"the record's settings do not fit this version: {exc}") from exc


def _fallback(settings: Settings) -> Callable[[Messages], list[str]]:
    if settings.backend == "openai":
        raise ConfigError("replay takes --backend echo or script:FILE (it calls no server)")
    backend = make_backend(settings, 0.0)

    def reply(messages: Messages) -> list[str]:
        return list(backend.open(messages))  # offline streams iterate at once without delay

    return reply


def _read_bytes(path: Path) -> list[bytes]:
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return data.splitlines()


def main(args: argparse.Namespace) -> int:
    """Replay the file and print the trace (or only the sent lines)."""
    from fsm_agent.cli import settings_from_args

    out = utf8_output(sys.stdout)
    transcript = read_transcript(_read_bytes(args.file), args.step)
    settings = replay_settings(settings_from_args(args), args, transcript.settings)
    paint = Palette(wants_color(out))
    styles = {"host": ("cyan",), "out": ("green", "bold"), "state": ("yellow",), "turn": ("dim",)}
    names = {"host": "host>", "out": "agent>", "state": "state", "turn": "turn", "note": "note"}

    def emit(at: float, kind: str, text: str) -> None:
        if args.sent_only:
            if kind == "out":
                print(text, file=out)
            return
        print(f"{at:8.3f}  {paint(f'{names[kind]:<7}', *styles.get(kind, ()))} {text}", file=out)

    source = (
        f"{len(transcript.streams)} recorded replies" if transcript.streams else settings.backend
    )
    if not args.sent_only:
        print(
            f"# replay of {args.file}: {len(transcript.lines)} host lines; replies: {source}",
            file=out,
        )
    replayer = Replayer(settings, transcript.streams, _fallback(settings), emit)
    for at, raw in transcript.lines:
        replayer.host_line(at, raw)
    replayer.run_until(None)
    if not args.sent_only:
        _summary(replayer, transcript, out)
    out.flush()
    return 0


def _summary(replayer: Replayer, transcript: Transcript, out: Any) -> None:
    print(f"# sent {len(replayer.sent)} lines; final state {replayer.controller.state}", file=out)
    if replayer.fallback_replies and transcript.streams:
        print(
            f"# {replayer.fallback_replies} replies beyond the recorded ones came from the backend",
            file=out,
        )
    if not transcript.is_record:
        return
    if replayer.sent == transcript.sent:
        print("# the same lines as in the recording", file=out)
        return
    for index, (got, want) in enumerate(itertools.zip_longest(replayer.sent, transcript.sent)):
        if got != want:
            print(f"# differs from the recording at sent line {index + 1}:", file=out)
            print(f"#   recorded: {want}", file=out)
            print(f"#   replayed: {got}", file=out)
            break
