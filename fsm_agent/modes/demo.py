"""``fsm-agent demo``: the real controller and runtime against a simulated MMDAgent-EX; no key.

The avatar greets when the simulated host is ready; a scripted user talks to it three times
(Japanese, English, then a Japanese barge-in while the English reply is being spoken); then
nobody speaks, and the avatar makes a remark. The replies carry gesture tags, shown as the host
messages they become (the example content's gestures file, ``gestures.example.toml``).
The replies (built in, or ``--backend echo`` / ``--backend script:FILE``) stream from the offline
backend (``fsm_agent.backends.offline``) in token-sized pieces at a realistic pace, or arrive whole
with ``--no-stream``; the project's host simulator (``fsm_agent.sim.host_sim``, driven in real time
by ``fsm_agent.sim.host_loop``) speaks each sentence for a time that grows with its length, echoes
our lines back, and lets another character talk in between, as MMDAgent-EX does. Every message is
shown as it happens, and the demo fails if the controller broke any of the host's rules.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import TextIO

from fsm_agent.backends.offline import OfflineBackend, ScriptedReplies, echo_reply
from fsm_agent.core.backend import Messages, last_user_text
from fsm_agent.core.controller import Controller
from fsm_agent.core.settings import DEFAULT_IDLE_PROMPT, ConfigError, Settings
from fsm_agent.modes.term import Palette, utf8_output, wants_color
from fsm_agent.runtime.logs import setup_logging
from fsm_agent.runtime.loop import QUIT, Runtime
from fsm_agent.runtime.record import attach as attach_recorder
from fsm_agent.sim.host_loop import HostLoop, runtime_delivery
from fsm_agent.sim.host_sim import HostSim, Violation

USER_1 = "こんにちは。今日はどんな一日になりそう？"
USER_2 = "Can you tell me about Tokyo in English?"
USER_3 = "ありがとう、もう十分です。"

GREETING = "[wave]こんにちは、メイです。今日もよろしくね！"
"""The demo's greeting (unless ``--greeting`` or ``--greeting-prompt`` is given)."""

IDLE_AFTER = 2.5
"""Seconds of silence before the demo's idle remark (before ``--fast``)."""

REPLIES: dict[str, str] = {
    USER_1: "[happy]こんにちは！今日は晴れて、気温は23.5度くらいになりそうです。"
    "[nod]散歩にぴったりの一日ですね。",
    USER_2: "[nod]Sure! Tokyo is the capital of Japan, home to about 14 million people. "
    "Mr. Tanaka, a local guide, says the best season to visit is spring, "
    "when the cherry blossoms are out along the Sumida River. "
    "In summer there are fireworks, and in autumn the ginkgo trees turn gold.",
    USER_3: "[bow]どういたしまして。またいつでも話しかけてくださいね！",
    DEFAULT_IDLE_PROMPT: "[surprised]そういえば、東京の桜は三月の終わりごろが見ごろですよ。",
}

CHARS_PER_SECOND = 9.0
"""The simulated synthesizer's speaking rate (before ``--fast``)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the demo's own options."""
    parser.add_argument("--fast", action="store_true", help="run about 15 times faster (for tests)")


# ---- the LLM and the host: the project's offline backend and host simulator -----------------


Reply = Callable[[Messages], str]
"""Makes the reply text for a request's messages."""


def builtin_reply(messages: Messages) -> str:
    """The reply of :data:`REPLIES` to the last user message (others are echoed)."""
    user = last_user_text(messages)
    return REPLIES.get(user, f"You said: {user}")


def demo_replies(settings: Settings, backend_given: bool) -> Reply:
    """Where the demo's replies come from: built in, ``echo``, or ``script:FILE``.

    Args:
        settings: ``settings.backend`` names the source; ``openai`` (the default) means the
            built-in replies, as the demo never calls a server.
        backend_given: Whether ``--backend`` was on the command line.

    Raises:
        ConfigError: For ``--backend openai`` given on purpose, or an unreadable script.

    """
    if settings.backend == "echo":
        return echo_reply
    if settings.backend.startswith("script:"):
        return ScriptedReplies(Path(settings.backend[len("script:") :]))
    if backend_given:
        raise ConfigError(
            "demo calls no server: --backend takes echo or script:FILE (or leave it out for "
            "the built-in replies)"
        )
    return builtin_reply


def demo_backend(
    scale: float,
    notify: Callable[[str], None],
    seed: int = 1,
    *,
    reply: Reply = builtin_reply,
    whole: bool = False,
) -> OfflineBackend:
    """The demo's replies, streamed at a realistic pace.

    Pieces come 30-60 ms apart after a first-token wait of 350 ms (with ``whole``, the reply
    comes as one piece after that wait, as from a server without streaming), and ``notify`` is
    told when a request is sent, when its first piece arrives and how its stream ended.

    Args:
        scale: Multiplies every delay.
        notify: Shows one line of LLM news.
        seed: Seeds the jitter.
        reply: Makes each reply (default: :func:`builtin_reply`).
        whole: Deliver each reply whole (``--no-stream``); it is still spoken sentence by
            sentence.

    Returns:
        The backend.

    """
    jitter = random.Random(seed)

    def reply_to(messages: Messages) -> str:
        notify("request sent (no streaming: the reply comes whole)" if whole else "request sent")
        return reply(messages)

    def pace(index: int) -> float:
        return (0.35 if index == 0 else jitter.uniform(0.03, 0.06)) * scale

    def on_piece(index: int, piece: str) -> None:
        if whole:
            notify(f"the whole reply: {len(piece)} characters")
        elif index == 0:
            notify(f"first piece: {piece!r}")

    def on_end(pieces: int, complete: bool) -> None:
        notify(f"reply complete: {pieces} pieces" if complete else "stream closed (cancelled)")

    return OfflineBackend(reply_to, whole=whole, pace=pace, on_piece=on_piece, on_end=on_end)


def example_gestures() -> Path:
    """The gestures file for MMDAgent-EX's example content that ships with fsm-agent."""
    return Path(str(resources.files("fsm_agent.modes") / "gestures.example.toml"))


def demo_settings(settings: Settings, given: set[str], scale: float) -> Settings:
    """The demo's expressive defaults where the command line gave none.

    The example content's gestures file, a greeting, and a remark after a short silence.

    Args:
        settings: The settings from the command line.
        given: The names of the settings the command line gave.
        scale: Multiplies the silence before the remark.

    """
    changes: dict[str, object] = {}
    if "gestures" not in given:
        changes["gestures"] = example_gestures()
    if not given & {"greeting", "greeting_prompt"}:
        changes["greeting"] = GREETING
    if "idle_after" not in given:
        changes["idle_after"] = IDLE_AFTER * scale
    return replace(settings, **changes)  # type: ignore[arg-type]


def demo_host(scale: float) -> HostSim:
    """The simulated MMDAgent-EX, its speaking times and stop latency multiplied by ``scale``."""
    return HostSim(
        chars_per_second=CHARS_PER_SECOND / scale,
        min_seconds=0.2 * scale,
        stop_latency=0.05 * scale,
    )


# ---- the screen -----------------------------------------------------------------------------


class ScreenLog:
    """Prints each message as it happens, with the time since the start.

    Args:
        out: Where to print.
        paint: Colours (off when piped).
        alias: Our model alias, to tell our speech from another character's.

    """

    def __init__(self, out: TextIO, paint: Palette, alias: str) -> None:
        self.out = out
        self.paint = paint
        self.alias = alias
        self.start = time.monotonic()
        self.broken = False
        self._lock = threading.Lock()
        self._ours: set[str] = set()
        self.on_broken: Callable[[], None] = lambda: None

    def __call__(self, direction: str, line: str) -> None:
        """A ``Runtime`` observer."""
        if direction == "out" and not line.startswith("SYNTH_"):
            self._ours.add(line)
            self.show("agent->host", f"{line}   (gesture)", "green")
        elif direction == "out":
            self._ours.add(line)
            self.show("agent->host", line, "green", "bold")
        elif direction == "state":
            self.show("state", f"-> {line}", "yellow")
        elif line in self._ours:
            self.show("host->agent", f"{line}   (our line, echoed back)", "dim")
        elif line.startswith("RECOG_EVENT_STOP|"):
            self.show("host->agent", line, "cyan", "bold")
        elif line.startswith(("SYNTH_EVENT", "LIPSYNC")) and line.split("|")[1:2] != [self.alias]:
            self.show("host->agent", f"{line}   (another character)", "dim")
        else:
            self.show("host->agent", line, "cyan")

    def show(self, label: str, text: str, *styles: str) -> None:
        """Print one line of the transcript."""
        elapsed = time.monotonic() - self.start
        row = f"{elapsed:6.2f}s  {self.paint(f'{label:<10}', *styles)}  {self.paint(text, *styles)}"
        with self._lock:
            if self.broken:
                return
            try:
                self.out.write(row + "\n")
                self.out.flush()
            except (OSError, ValueError):
                self.broken = True  # `fsm-agent demo | head`: the reader has gone
                self.on_broken()


# ---- the script -----------------------------------------------------------------------------


class Demo:
    """The scripted conversation.

    Args:
        settings: The controller's configuration (``no_stream``: replies come whole).
        scale: 1.0 for real time, smaller to run faster.
        out: Where the screen log goes.
        reply: Makes each reply (default: the built-in ones).

    """

    def __init__(
        self, settings: Settings, scale: float, out: TextIO, reply: Reply = builtin_reply
    ) -> None:
        self.settings = settings
        self.scale = scale
        self.controller = Controller(settings)
        self.screen = ScreenLog(out, Palette(wants_color(out)), settings.alias)
        backend = demo_backend(
            scale,
            lambda text: self.screen.show("llm", text, "magenta"),
            reply=reply,
            whole=settings.no_stream,
        )
        self.runtime = Runtime(self.controller, backend, lambda line: None)
        self.sim = demo_host(scale)
        self.sim.allowed_types = self.controller.gestures.allowed_types()
        self.host = HostLoop(runtime_delivery(self.runtime.post), self.sim)
        self.runtime.write = self.host.child_line
        self.screen.on_broken = lambda: self.runtime.post(QUIT)
        self.runtime.observers.append(self.screen)
        self.runtime.observers.append(self._watch)
        self.recorder = attach_recorder(self.runtime, settings, "demo")
        self._changed = threading.Condition()
        self._idle_count = 0
        self._sent: list[str] = []

    def _watch(self, direction: str, line: str) -> None:
        with self._changed:
            if direction == "state" and line == "Idle":
                self._idle_count += 1
            elif direction == "out" and line.startswith("SYNTH_START|"):
                self._sent.append(line)
            self._changed.notify_all()

    def _wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def _pause(self, seconds: float) -> None:
        time.sleep(seconds * self.scale)

    def _user_says(self, text: str) -> None:
        self.host.speech_start()
        self._pause(0.6)  # the user speaking
        self.host.say(text)

    def _script(self) -> None:
        try:
            turns = self._idle_count
            self.host.startup()  # the host is ready: the greeting
            if self.settings.greeting or self.settings.greeting_prompt:
                self._wait_for(lambda: self._idle_count > turns)
            self._pause(0.3)
            turns = self._idle_count
            self._user_says(USER_1)
            self._wait_for(lambda: self._idle_count > turns)
            self._pause(0.8)

            turns, sent = self._idle_count, len(self._sent)
            self._user_says(USER_2)
            # (A reply of one sentence, from --backend echo or a script, may end the turn first.)
            self._wait_for(lambda: len(self._sent) > sent or self._idle_count > turns)
            # Another character (say, from the content's .fst) talks at the same time.
            self.host.send("SYNTH_EVENT_START|1")
            self._pause(0.5)
            self.host.send("SYNTH_EVENT_STOP|1")
            self._wait_for(lambda: len(self._sent) > sent + 1 or self._idle_count > turns)
            self._pause(1.5)  # halfway through the second sentence, the user speaks up

            turns = self._idle_count
            self._user_says(USER_3)
            self._wait_for(lambda: self._idle_count > turns)
            if self.settings.idle_after > 0:  # nobody speaks: the avatar makes a remark
                turns = self._idle_count
                self._wait_for(lambda: self._idle_count > turns)
            self._pause(0.3)
        finally:
            self.runtime.post(QUIT)

    def run(self) -> int:
        """Play the script; return the exit status (1 if the host saw a rule broken)."""
        director = threading.Thread(target=self._script, name="demo-user", daemon=True)
        self.host.start()
        director.start()
        try:
            self.runtime.run()
        finally:
            self.host.close()
            if self.recorder is not None:
                self.recorder.close()
        self._summary()
        with self.host.lock:
            violations = list(self.sim.violations)
        self._report(violations)
        return 1 if violations else 0

    def _summary(self) -> None:
        t = self.screen
        if t.broken:
            return
        t.show("history", "what the user heard, kept for the next request:", "bold")
        for turn in self.controller.history.turns:
            t.show("history", f"user: {turn.user}")
            t.show("history", f"  AI: {turn.assistant}")

    def _report(self, violations: list[Violation]) -> None:
        t = self.screen
        if not violations:
            with self.host.lock:
                spoken = list(self.sim.spoken)
            cut = sum(1 for s in spoken if s.cut)
            t.show("host", f"{len(spoken)} sentences spoken ({cut} cut off), no rule broken")
            return
        for v in violations:
            t.show("violation", f"{v.kind}: {v.detail}: {v.line}", "red", "bold")
        if t.broken:  # the screen log's reader has gone: still say why the demo failed
            for v in violations:
                print(f"fsm-agent demo: {v.kind}: {v.detail}: {v.line}", file=sys.stderr)


def main(args: argparse.Namespace) -> int:
    """Run the demo."""
    from fsm_agent.config.flags import settings_from_args

    scale = 1 / 15 if args.fast else 1.0
    settings = demo_settings(settings_from_args(args), set(vars(args)), scale)
    reply = demo_replies(settings, "backend" in vars(args))
    level = settings.log_level if "log_level" in vars(args) else "warning"
    setup_logging(level, settings.log_file)
    out = utf8_output(sys.stdout)
    demo = Demo(settings, scale, out, reply)
    status = demo.run()
    if demo.screen.broken:
        # `fsm-agent demo | head`: keep the interpreter quiet about the closed pipe at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
    return status
