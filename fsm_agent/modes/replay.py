"""``fsm-agent replay FILE``: what the controller would have sent for a recorded host transcript.

The file holds MMDAgent-EX ``AllLog`` lines (``[time] [tick] Module: Sent: TYPE|ARGS``), plain
message lines (``TYPE|ARGS``) or our ``--record`` JSON lines (``fsm_agent.modes.replay_transcript``
reads them). The pure controller is fed directly, on a simulated clock
(``fsm_agent.modes.replay_engine``): replies arrive and deadlines pass at simulated times, nothing
waits, and the same file always gives the same output. The tool for bug reports.

Where the replies come from:

1. ``--backend echo`` or ``--backend script:FILE``, when given: every reply.
2. Otherwise a record file's own replies, played back piece by piece at their recorded pace;
3. or, in an AllLog or plain transcript, the sentences our ``SYNTH_START`` lines spoke after each
   utterance (the host echoes them), so a real session replays with its real words; the voice
   of those lines is used unless ``--voice`` says otherwise;
4. and echo for any reply beyond those.

When the file holds our own lines (a record's ``out`` entries, or the echoed ``SYNTH_START`` and
``SYNTH_STOP`` lines of a transcript), the summary says whether the replay sent the same ones or
where it first differs. ``--record OUT`` writes the replayed exchange as a record file, with
simulated times, that replays the same.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from fsm_agent.backends.factory import make_backend
from fsm_agent.core.backend import Messages, last_user_text
from fsm_agent.core.settings import ConfigError, Settings
from fsm_agent.modes.replay_engine import Replayer, ReplySource
from fsm_agent.modes.replay_transcript import (
    ParsedTranscript,
    RecordedStream,
    SpokenReplies,
    read_transcript,
    spoken_replies,
)
from fsm_agent.modes.term import Palette, utf8_output, wants_color
from fsm_agent.runtime.record import Recorder
from fsm_agent.text.files import UTF8_BOM

__all__ = ["ParsedTranscript", "RecordedStream", "Replayer", "read_transcript", "replay_settings"]


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


def reply_source(
    transcript: ParsedTranscript, spoken: SpokenReplies, backend_given: bool
) -> tuple[ReplySource, str | None]:
    """Choose where the replies come from (see the module's docstring).

    Args:
        transcript: The file as read.
        spoken: The replies rebuilt from its echoed ``SYNTH_START`` lines.
        backend_given: Whether ``--backend`` was on the command line.

    Returns:
        The source (a None from it lets the backend make that reply) and what it is, or None
        when every reply comes from the backend.

    """
    if backend_given:
        return (lambda messages: None), None
    if transcript.streams:
        streams = list(transcript.streams)
        return (
            lambda messages: streams.pop(0) if streams else None
        ), f"{len(streams)} recorded replies"
    if spoken.replies:
        count = len(spoken.replies)
        return (
            lambda messages: spoken.take(last_user_text(messages))
        ), f"{count} spoken in the transcript (its SYNTH_START lines)"
    return (lambda messages: None), None


def _read_bytes(path: Path) -> list[bytes]:
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return data.removeprefix(UTF8_BOM).splitlines()  # Notepad's UTF-8 starts with a BOM


def _open_record(settings: Settings, clock: Callable[[], float]) -> Recorder | None:
    if settings.record is None:
        return None
    try:
        recorder = Recorder(settings.record, clock=clock)
    except OSError as exc:
        raise ConfigError(f"cannot write the record file {settings.record}: {exc}") from exc
    recorder.meta("replay", settings)
    return recorder


def main(args: argparse.Namespace) -> int:
    """Replay the file and print the trace (or only the sent lines)."""
    from fsm_agent.config.flags import settings_from_args

    out = utf8_output(sys.stdout)
    transcript = read_transcript(_read_bytes(args.file), args.step)
    settings = settings_from_args(args)
    spoken = spoken_replies(transcript, settings.alias, settings.voice_engines)
    recorded = dict(transcript.settings)
    if len(set(spoken.voices)) == 1:
        recorded.setdefault("voice", spoken.voices[0])
    settings = replay_settings(settings, args, recorded)
    if settings.record is not None and settings.record.resolve() == args.file.resolve():
        raise ConfigError(f"--record {settings.record} would overwrite the file being replayed")
    backend_given = "backend" in vars(args)
    source, described = reply_source(transcript, spoken, backend_given)
    fallback = _fallback(settings)
    described = described or settings.backend
    paint = Palette(wants_color(out))
    styles = {"host": ("cyan",), "out": ("green", "bold"), "state": ("yellow",), "turn": ("dim",)}
    names = {"host": "host>", "out": "agent>", "state": "state", "turn": "turn", "note": "note"}

    def emit(at: float, kind: str, text: str) -> None:
        if args.sent_only:
            if kind == "out":
                print(text, file=out)
            return
        print(f"{at:8.3f}  {paint(f'{names[kind]:<7}', *styles.get(kind, ()))} {text}", file=out)

    if not args.sent_only:
        print(
            f"# replay of {args.file}: {len(transcript.lines)} host lines; replies: {described}",
            file=out,
        )
    replayer = Replayer(settings, source, fallback, emit)
    if transcript.mode == "chat":  # a terminal chat's record: its lines were never widened
        replayer.controller.talks_to_mmdagent = False
    recorder = replayer.recorder = _open_record(settings, lambda: replayer.now)
    try:
        for at, raw in transcript.lines:
            replayer.host_line(at, raw)
        replayer.run_until(None)
    finally:
        if recorder is not None:
            recorder.close()
    if not args.sent_only:
        expected = transcript.sent if transcript.is_record else spoken.sent
        origin = "the recording" if transcript.is_record else "the transcript"
        _summary(replayer, expected, origin, backend_given, out)
        if recorder is not None:
            print(f"# recorded to {settings.record}", file=out)
    out.flush()
    return 0


def _summary(
    replayer: Replayer, expected: list[str], origin: str, backend_given: bool, out: Any
) -> None:
    print(f"# sent {len(replayer.sent)} lines; final state {replayer.controller.state}", file=out)
    if replayer.fallback_replies and not backend_given and origin == "the recording":
        print(
            f"# {replayer.fallback_replies} replies beyond the recorded ones came from the backend",
            file=out,
        )
    elif replayer.fallback_replies and not backend_given and expected:
        print(
            f"# {replayer.fallback_replies} replies beyond those spoken in the transcript came "
            "from the backend",
            file=out,
        )
    if not expected and origin == "the transcript":
        return
    if replayer.sent == expected:
        print(f"# the same lines as in {origin}", file=out)
        return
    for index, (got, want) in enumerate(itertools.zip_longest(replayer.sent, expected)):
        if got != want:
            label = "recorded:" if origin == "the recording" else "spoken:  "
            print(f"# differs from {origin} at sent line {index + 1}:", file=out)
            print(f"#   {label} {want}", file=out)
            print(f"#   replayed: {got}", file=out)
            break
