"""``fsm-agent demo``: the real controller and runtime against a simulated MMDAgent-EX; no key.

A scripted user talks to the avatar three times (Japanese, English, then a Japanese barge-in
while the English reply is being spoken). The replies stream from a built-in offline LLM in
token-sized pieces at a realistic pace; the simulated host speaks each sentence for a time that
grows with its length, echoes our lines back, and lets another character talk in between, as
MMDAgent-EX does. Every message is shown as it happens.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

import regex

from fsm_agent.config import Settings
from fsm_agent.controller import Controller
from fsm_agent.llm import Messages, ReplyStream
from fsm_agent.logs import setup_logging
from fsm_agent.record import attach as attach_recorder
from fsm_agent.runtime import QUIT, Runtime
from fsm_agent.term import Palette, utf8_output, wants_color

HELP = "watch the controller talk to a simulated MMDAgent-EX (no API key, no MMDAgent-EX)"

USER_1 = "こんにちは。今日はどんな一日になりそう？"
USER_2 = "Can you tell me about Tokyo in English?"
USER_3 = "ありがとう、もう十分です。"

REPLIES: dict[str, str] = {
    USER_1: "こんにちは！今日は晴れて、気温は23.5度くらいになりそうです。"
    "散歩にぴったりの一日ですね。",
    USER_2: "Sure! Tokyo is the capital of Japan, home to about 14 million people. "
    "Mr. Tanaka, a local guide, says the best season to visit is spring, "
    "when the cherry blossoms are out along the Sumida River. "
    "In summer there are fireworks, and in autumn the ginkgo trees turn gold.",
    USER_3: "どういたしまして。またいつでも話しかけてくださいね！",
}

# Realistic tokens: one to three CJK characters, or a word with its leading space.
_TOKENS = regex.compile(
    r"[\p{Han}\p{Hiragana}\p{Katakana}ー]{1,3}|\s*[\p{L}\p{N}.]+|\s*[^\s\p{L}\p{N}]|\s+"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the demo's own options."""
    parser.add_argument("--fast", action="store_true", help="run about 15 times faster (for tests)")


# ---- the LLM: a built-in reply, streamed at a realistic pace ---------------------------------


class DemoStream:
    """The reply in token-sized pieces, 30-60 ms apart after a first-token wait."""

    def __init__(self, text: str, scale: float, seed: int, notify: Callable[[str], None]) -> None:
        self.total_tokens: int | None = None
        self._notify = notify
        self._pieces = _TOKENS.findall(text)
        self._scale = scale
        self._random = random.Random(seed)
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[str]:
        if self._closed.wait(0.35 * self._scale):
            return
        self._notify(f"first piece: {self._pieces[0]!r}")
        for piece in self._pieces:
            yield piece
            if self._closed.wait(self._random.uniform(0.03, 0.06) * self._scale):
                self._notify("stream closed (cancelled)")
                return
        self.total_tokens = len(self._pieces)
        self._notify(f"reply complete: {len(self._pieces)} pieces")

    def close(self) -> None:
        """Stop streaming."""
        self._closed.set()


class DemoBackend:
    """Answers the demo's utterances from :data:`REPLIES`."""

    def __init__(self, scale: float, notify: Callable[[str], None]) -> None:
        self.scale = scale
        self.notify = notify
        self.opened = 0

    def open(self, messages: Messages) -> ReplyStream:
        """Stream the built-in reply to the last user message."""
        user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        self.opened += 1
        self.notify("request sent")
        reply = REPLIES.get(user, f"You said: {user}")
        return DemoStream(reply, self.scale, self.opened, self.notify)


# ---- the host: MMDAgent-EX as PROTOCOL.md describes it ------------------------------------


def speaking_seconds(text: str) -> float:
    """How long a synthesizer takes to say ``text``: longer sentences take longer."""
    wide = sum(1 for ch in text if ord(ch) > 0x2E80)
    return 0.25 + 0.11 * wide + 0.055 * (len(text) - wide)


class SimHost:
    """A small MMDAgent-EX: echoes every line, speaks ``SYNTH_START`` and reports its end.

    ``SYNTH_START`` is not queued (a second one cuts the first off); ``SYNTH_STOP`` of a speaking
    character is answered with a late ``SYNTH_EVENT_STOP``; events carry only the model alias.

    Args:
        post: Delivers a host line to the child (the runtime's ``post``).
        scale: Multiplies every duration.

    """

    def __init__(self, post: Callable[[object], None], scale: float) -> None:
        self.post = post
        self.scale = scale
        self._lock = threading.Lock()
        self._timers: dict[str, threading.Timer] = {}

    def send(self, line: str) -> None:
        """The host sends a message to every child."""
        self.post((line + "\n").encode("utf-8"))

    def receive(self, line: str) -> None:
        """The child printed ``line``."""
        self.send(line)  # every message reaches every child, our own ones included
        kind, *args = line.split("|")
        if kind == "SYNTH_START" and len(args) >= 3:
            self.speak(args[0], args[2])
        elif kind == "SYNTH_STOP" and args:
            self.stop(args[0])

    def speak(self, alias: str, text: str) -> None:
        """Start saying ``text`` as model ``alias``, cutting off what it was saying."""
        self.stop(alias)
        self.send(f"SYNTH_EVENT_START|{alias}")
        self.send(f"LIPSYNC_START|{alias}")
        timer = threading.Timer(speaking_seconds(text) * self.scale, self._finished, (alias,))
        timer.daemon = True
        with self._lock:
            self._timers[alias] = timer
        timer.start()

    def stop(self, alias: str) -> None:
        """Interrupt model ``alias``; a STOP follows only if it was speaking."""
        with self._lock:
            timer = self._timers.pop(alias, None)
        if timer is not None:
            timer.cancel()
            self.send(f"SYNTH_EVENT_STOP|{alias}")

    def _finished(self, alias: str) -> None:
        with self._lock:
            if self._timers.get(alias) is None:
                return
            del self._timers[alias]
        self.send(f"LIPSYNC_STOP|{alias}")
        self.send(f"SYNTH_EVENT_STOP|{alias}")

    def close(self) -> None:
        """Cancel every speech timer."""
        with self._lock:
            timers = list(self._timers.values())
            self._timers.clear()
        for timer in timers:
            timer.cancel()


# ---- the screen -----------------------------------------------------------------------------


class Transcript:
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
        if direction == "out":
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
        settings: The controller's configuration.
        scale: 1.0 for real time, smaller to run faster.
        out: Where the transcript goes.

    """

    def __init__(self, settings: Settings, scale: float, out: TextIO) -> None:
        self.settings = settings
        self.scale = scale
        self.controller = Controller(settings)
        self.transcript = Transcript(out, Palette(wants_color(out)), settings.alias)
        backend = DemoBackend(scale, lambda text: self.transcript.show("llm", text, "magenta"))
        self.runtime = Runtime(self.controller, backend, lambda line: None)
        self.host = SimHost(self.runtime.post, scale)
        self.runtime.write = self.host.receive
        self.transcript.on_broken = lambda: self.runtime.post(QUIT)
        self.runtime.observers.append(self.transcript)
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
        self.host.send("RECOG_EVENT_START")
        self._pause(0.6)  # the user speaking
        self.host.send(f"RECOG_EVENT_STOP|{text}")

    def _script(self) -> None:
        try:
            self.host.send("PLUGIN_EVENT_ENABLE|AnyScript")
            self.host.send("MODEL_EVENT_ADD|0")
            self._pause(0.3)
            turns = self._idle_count
            self._user_says(USER_1)
            self._wait_for(lambda: self._idle_count > turns)
            self._pause(0.8)

            turns, sent = self._idle_count, len(self._sent)
            self._user_says(USER_2)
            self._wait_for(lambda: len(self._sent) > sent)
            # Another character (say, from the content's .fst) talks at the same time.
            self.host.send("SYNTH_EVENT_START|1")
            self._pause(0.5)
            self.host.send("SYNTH_EVENT_STOP|1")
            self._wait_for(lambda: len(self._sent) > sent + 1)
            self._pause(1.5)  # halfway through the second sentence, the user speaks up

            turns = self._idle_count
            self._user_says(USER_3)
            self._wait_for(lambda: self._idle_count > turns)
            self._pause(0.3)
        finally:
            self.runtime.post(QUIT)

    def run(self) -> int:
        """Play the script; return the exit status."""
        director = threading.Thread(target=self._script, name="demo-user", daemon=True)
        director.start()
        try:
            self.runtime.run()
        finally:
            self.host.close()
            if self.recorder is not None:
                self.recorder.close()
        self._summary()
        return 0

    def _summary(self) -> None:
        t = self.transcript
        if t.broken:
            return
        t.show("history", "what the user heard, kept for the next request:", "bold")
        for turn in self.controller.history.turns:
            t.show("history", f"user: {turn.user}")
            t.show("history", f"  AI: {turn.assistant}")


def main(args: argparse.Namespace) -> int:
    """Run the demo."""
    from fsm_agent.cli import settings_from_args

    settings = settings_from_args(args)
    level = settings.log_level if "log_level" in vars(args) else "warning"
    setup_logging(level, settings.log_file)
    out = utf8_output(sys.stdout)
    demo = Demo(settings, 1 / 15 if args.fast else 1.0, out)
    status = demo.run()
    if demo.transcript.broken:
        # `fsm-agent demo | head`: keep the interpreter quiet about the closed pipe at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
    return status
