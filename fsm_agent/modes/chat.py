"""``fsm-agent chat``: a terminal conversation on the same controller, history and runtime.

An internal host stands in for MMDAgent-EX: each ``SYNTH_START`` is "spoken" (printed, or with
``--speak`` said by a local text-to-speech program) and acknowledged with ``SYNTH_EVENT_START``
and, once finished, ``SYNTH_EVENT_STOP``, so the next sentence waits exactly as with the avatar.
Ctrl-C during a reply is the user starting to speak: the reply stops (a barge-in) and only what
was heard stays in the history.

Proxies: the OpenAI client (httpx) honours ``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY`` and
``NO_PROXY`` from the environment (and the system settings on Windows and macOS); a SOCKS proxy
(``socks5h://...``) needs ``python -m pip install socksio``, and says so at start without it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TextIO

from fsm_agent.backends.factory import make_backend
from fsm_agent.backends.proxy import require_proxy_support
from fsm_agent.config.load import require_llm_access, warn_about_api_key
from fsm_agent.core.backend import Backend, Messages, ReplyStream, Signal
from fsm_agent.core.controller import Controller
from fsm_agent.core.events import (
    Command,
    Event,
    Forget,
    HostReady,
    SpeechStart,
    TurnDone,
    Utterance,
)
from fsm_agent.core.settings import Settings
from fsm_agent.modes.chat_host import TerminalHost
from fsm_agent.modes.chat_screen import Screen, ScreenLog
from fsm_agent.modes.term import Palette, ansi_terminal, utf8_output, wants_color
from fsm_agent.modes.tts import TtsProgram, find_tts, tts_from_command
from fsm_agent.runtime.history_file import remembered_history
from fsm_agent.runtime.logs import setup_logging
from fsm_agent.runtime.loop import QUIT, Runtime
from fsm_agent.runtime.record import attach as attach_recorder
from fsm_agent.text.ruleset import preload

log = logging.getLogger("fsm_agent.modes.chat")


EPILOG = """\
commands: /reset (forget the conversation, and empty --history-file), /history,
/quit (also QUIT, exit, end of input).
Ctrl-C stops the current reply; Ctrl-C twice at the prompt leaves.
Proxies come from HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY
(SOCKS, e.g. ALL_PROXY=socks5h://127.0.0.1:1080, needs: python -m pip install socksio).
"""

QUIT_WORDS = ("/quit", "quit", "exit", "/exit")
COMMANDS = ("/reset", "/history", "/quit")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the chat's own options."""
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--speak",
        action="store_true",
        help="say each sentence with a local text-to-speech program: espeak-ng, espeak, "
        "spd-say, say (macOS) or PowerShell (Windows), the first found",
    )
    parser.add_argument(
        "--tts-command",
        metavar="CMD",
        help="the text-to-speech program and its options; the sentence is added as the last "
        'argument, no shell is used (e.g. "espeak-ng -v en-us -s 160")',
    )
    parser.add_argument(
        "--token-delay",
        type=float,
        default=0.03,
        metavar="SEC",
        help="seconds between pieces of the echo and script backends (default: 0.03)",
    )


# ---- the controller, watched --------------------------------------------------------------


class ChatController(Controller):
    """The controller, telling the chat when a turn ends.

    A ``SpeechStart`` (Ctrl-C) while idle ends nothing, so it is answered at once: the chat then
    never waits for a turn that is not there.
    """

    on_turn_done: Callable[[TurnDone | None], None] | None = None
    forgotten: threading.Event | None = None
    """Set once a ``Forget`` (``/reset``) has been carried out."""
    talks_to_mmdagent = False  # a person reads the text: no full-width forms for Open JTalk

    def handle(self, event: Event) -> list[Command]:
        """Handle as usual; report ``TurnDone`` (and an interrupt with nothing to stop)."""
        if isinstance(event, Forget):
            commands = super().handle(event)
            if self.forgotten is not None:
                self.forgotten.set()
            return commands
        report = self.on_turn_done or (lambda done: None)
        if isinstance(event, SpeechStart) and self.state == "Idle":
            report(None)
            return []
        commands = super().handle(event)
        for command in commands:
            if isinstance(command, TurnDone):
                report(command)
        if isinstance(event, HostReady) and self.state == "Idle":
            report(None)  # a greeting with nothing to say: no turn to wait for
        return commands


class TeeBackend:
    """Wrap a backend so that every piece also goes to the screen as it arrives."""

    def __init__(self, backend: Backend, screen: Screen) -> None:
        self.backend = backend
        self.screen = screen

    def open(self, messages: Messages) -> ReplyStream:
        """Open the real stream."""
        return _TeeStream(self.backend.open(messages), self.screen)

    def close(self) -> None:
        """Close the wrapped backend."""
        close = getattr(self.backend, "close", None)
        if callable(close):
            close()


class _TeeStream:
    def __init__(self, stream: ReplyStream, screen: Screen) -> None:
        self._stream = stream
        self._screen = screen

    @property
    def total_tokens(self) -> int | None:
        return self._stream.total_tokens

    def __iter__(self) -> Iterator[str | Signal]:
        for piece in self._stream:
            if isinstance(piece, str):
                self._screen.piece(piece)
            yield piece

    def close(self) -> None:
        self._stream.close()


# ---- the text-to-speech program ------------------------------------------------------------


def tts_command(args: argparse.Namespace) -> TtsProgram | None:
    """Return the text-to-speech program, or None without ``--speak`` and ``--tts-command``.

    Raises:
        ConfigError: When the program cannot be found (one line: what to install).

    """
    if args.tts_command:
        return tts_from_command(args.tts_command)
    if not args.speak:
        return None
    return find_tts()


# ---- the conversation -----------------------------------------------------------------------


class Chat:
    """The read-eval-print loop around a running controller.

    Args:
        settings: The configuration.
        tts: The text-to-speech command, or None.
        token_delay: Delay between pieces of the offline backends.
        out: Where the conversation is printed.

    """

    def __init__(
        self,
        settings: Settings,
        tts: TtsProgram | None,
        token_delay: float,
        out: TextIO,
    ) -> None:
        # Ctrl-C is the user starting to speak, so that must interrupt whatever --barge-in says.
        # No idle talk: a remark would print over the prompt while the user types.
        self.settings = replace(settings, barge_in="start", idle_after=0.0)
        self.interactive = sys.stdin.isatty()
        live = ansi_terminal(out)
        self.screen = Screen(out, live, Palette(live and wants_color(out)))
        history, history_file = remembered_history(self.settings)
        self.controller = ChatController(self.settings, history)
        self.controller.on_turn_done = self._turn_done
        plain = make_backend(self.settings, token_delay)
        backend = TeeBackend(plain, self.screen)
        self.host = TerminalHost(self.settings.alias, self.screen.sentence, self._post, tts)
        self.runtime = Runtime(
            self.controller,
            backend,
            self.host.write,
            history_file=history_file,
            summary_backend=plain,
        )
        self.recorder = attach_recorder(self.runtime, self.settings, "chat")
        self._done = threading.Event()

    def _post(self, item: object) -> None:
        self.runtime.post(item)

    def _turn_done(self, done: TurnDone | None) -> None:
        self.screen.turn_over(done)
        self._done.set()

    def _observe(self, line: str) -> None:
        for observer in self.runtime.observers:
            observer("in", line)

    def run(self) -> int:
        """Talk until the user leaves; return the exit status."""
        loop = threading.Thread(target=self.runtime.run, name="runtime", daemon=True)
        loop.start()
        preload(self.settings.lang)  # while the user types
        if self.interactive:
            self.screen.say("fsm-agent chat: /reset, /history, /quit; Ctrl-C stops a reply.", "dim")
        try:
            self._greet()
            self._converse()
        finally:
            self.host.close()
            self.runtime.post(QUIT)
            loop.join(5)
            if self.recorder is not None:
                self.recorder.close()
        return 0

    def _converse(self) -> None:
        interrupted_at_prompt = False
        while True:
            try:
                text = input("you> " if self.interactive else "").strip()
            except EOFError:
                break
            except KeyboardInterrupt:
                if interrupted_at_prompt:
                    self.screen.say("")
                    break
                interrupted_at_prompt = True
                self.screen.say("\n(Ctrl-C again, /quit or end of input to leave)", "dim")
                continue
            interrupted_at_prompt = False
            if not text:
                continue
            if not self.interactive:
                self.screen.say(f"you> {text}", "cyan")
            if text.lower() in QUIT_WORDS:
                break
            if text == "/reset":
                self._forget()
                self.screen.say("(the conversation is forgotten)", "dim")
            elif text == "/history":
                self._show_history()
            elif text.startswith("/") and text[1:2].isalpha():
                self.screen.say(unknown_command(text), "red")
            else:
                self._turn(text)

    def _greet(self) -> None:
        """Say the greeting first (``greeting``/``greeting_prompt``), as the avatar does."""
        if not (self.settings.greeting.strip() or self.settings.greeting_prompt.strip()):
            return
        self._done.clear()
        self.screen.active = True
        self.runtime.post(HostReady())
        self._wait_for_turn()

    def _forget(self) -> None:
        """Forget on the loop thread, as the host's FSM_AGENT_FORGET does: the file too."""
        done = threading.Event()
        self.controller.forgotten = done
        self.runtime.post(Forget())
        done.wait(5)

    def _turn(self, text: str) -> None:
        self._done.clear()
        self.screen.active = True
        self._observe("RECOG_EVENT_STOP|" + " ".join(text.replace("|", "｜").split()))
        self.runtime.post(Utterance(text))
        self._wait_for_turn()

    def _wait_for_turn(self) -> None:
        while True:
            try:
                while not self._done.wait(0.1):
                    pass
                return
            except KeyboardInterrupt:
                self._observe("RECOG_EVENT_START")
                self.runtime.post(SpeechStart())

    def _show_history(self) -> None:
        history = self.controller.history
        turns = history.turns
        if history.summary:
            self.screen.say(f"(earlier, in short) {history.summary}", "dim")
        elif not turns:
            self.screen.say("(no history yet)", "dim")
        for turn in turns:
            self.screen.say(f"you: {turn.user}", "cyan")
            self.screen.say(f"bot: {turn.assistant}")


def unknown_command(text: str) -> str:
    """What the chat says to ``/something`` it does not know (it is not sent to the model)."""
    import difflib

    word = text.split()[0]
    close = difflib.get_close_matches(word.lower(), COMMANDS, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"(unknown command {word}; {hint}commands: {', '.join(COMMANDS)})"


def main(args: argparse.Namespace) -> int:
    """Run the terminal chat."""
    from fsm_agent.config.flags import settings_from_args

    settings = settings_from_args(args)
    require_llm_access(settings)
    require_proxy_support(settings)
    tts = tts_command(args)
    level = settings.log_level if "log_level" in vars(args) else "warning"
    out = utf8_output(sys.stdout)
    if not sys.stdin.isatty():
        with contextlib.suppress(AttributeError, ValueError):
            sys.stdin.reconfigure(encoding="utf-8", errors="replace")  # type: ignore[union-attr]
    chat = Chat(settings, tts, args.token_delay, out)
    console = ScreenLog(chat.screen)
    if settings.log_file is not None:  # the details go to the file; the screen stays a chat
        console.setLevel(logging.WARNING)
    setup_logging(level, settings.log_file, [settings.api_key()], console=console)
    warn_about_api_key(settings)
    return chat.run()
