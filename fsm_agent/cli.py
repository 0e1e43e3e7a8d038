"""The ``fsm-agent`` command line: the AnyScript loop by default, and the other modes."""

from __future__ import annotations

import argparse
import difflib
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple, NoReturn

from fsm_agent import __version__
from fsm_agent.config.flags import settings_parser
from fsm_agent.core.settings import ConfigError
from fsm_agent.runtime.signals import install_quit_signals, restore_signals

DESCRIPTION = """\
Speak a streamed LLM reply through an MMDAgent-EX avatar, one sentence at a time.

With no subcommand, fsm-agent runs as an MMDAgent-EX AnyScript submodule: it reads host
messages on stdin (RECOG_EVENT_STOP|text when the user has spoken) and prints
SYNTH_START|alias|voice|sentence, each sentence only after the previous one's
SYNTH_EVENT_STOP. In the content's .mdf:

    Plugin_AnyScript_Command=fsm-agent --config agent.toml

Settings come from defaults, then --config FILE (TOML, keys named like the flags with
underscores), then the environment (OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_MODEL,
FSM_AGENT_<SETTING>), then flags; a later source wins. The system prompt and the prompt
file are one setting: whichever a later source gives replaces both from earlier sources.

An error that stops fsm-agent at start is one line on stderr, and is also appended to the
log file (or, when that cannot be written, to fsm-agent-error.log beside the TOML file).
"""

EPILOG = """\
examples:
  fsm-agent --model gpt-4o-mini                       # OpenAI (key in OPENAI_API_KEY)
  fsm-agent --base-url http://localhost:11434/v1 --model llama3.2    # Ollama
  fsm-agent --backend echo                             # no LLM: repeat the user
      (by hand: type RECOG_EVENT_STOP|Hello. and answer each SYNTH_START with
      SYNTH_EVENT_START|0 and SYNTH_EVENT_STOP|0; add --synth-timeout 60 to type at ease)
"""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line, not the usage block before it.

    Its subcommands' parsers are of this class too (argparse makes them with the parent's).
    """

    def error(self, message: str) -> NoReturn:
        """Raise the mistake as a ConfigError instead of printing the usage and exiting."""
        raise ConfigError(message)


def _usage_error(parser: argparse.ArgumentParser, words: list[str], message: str) -> str:
    """One line for a command-line mistake; a misspelt option is named, with the closest one.

    argparse takes an unknown ``--option VALUE`` for an option and a subcommand, and then
    blames the value; the misspelt option is the mistake to report.
    """
    known = _option_strings(parser)
    mode = next((word for word in words if word in COMMANDS), None)
    unrecognized = message.partition("unrecognized arguments: ")[2].split()
    for word in unrecognized:
        if mode and word.split("=")[0] in known:
            return f"fsm-agent {mode} has no {word.split('=')[0]}; see fsm-agent {mode} --help"
    for word in words:
        name = word.split("=")[0]
        if word == "--":
            break
        if not name.startswith("--") or any(option.startswith(name) for option in known):
            continue
        close = difflib.get_close_matches(name, known, n=1)
        message = f"unknown option {name}" + (f" (did you mean {close[0]}?)" if close else "")
        break
    return f"{message}; see fsm-agent --help"


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    """Every option string of ``parser`` and of its subcommands."""
    found: list[str] = []
    if isinstance(parser, _ModeParser):
        parser.add_mode_options()
    for action in parser._actions:
        found.extend(s for s in action.option_strings if s.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.extend(_option_strings(sub))
    return sorted(set(found))


class Mode(NamedTuple):
    """A subcommand: its module (``add_arguments(parser)`` and ``main(args) -> int``) and help.

    What ``--help`` and the shared settings need is here, so that building the parser imports
    no mode: only the one given is imported (``run``, the host's, needs none of the others).
    """

    module: str
    help: str
    settings: bool = True
    """Whether it takes the shared settings (the diagram depends on the table only)."""
    unused: tuple[str, ...] = ()
    """Settings it has no use for: no flag for them."""


# Adding a mode is adding a module and one line here.
COMMANDS: dict[str, Mode] = {
    "run": Mode(
        "fsm_agent.modes.run",
        "run as an MMDAgent-EX AnyScript submodule on stdin/stdout (the default)",
    ),
    "replay": Mode(
        "fsm_agent.modes.replay",
        "feed a recorded host transcript through the controller and print what it would send",
    ),
    "chat": Mode(
        "fsm_agent.modes.chat",
        "talk with the LLM in the terminal; replies stream in and are spoken sentence by sentence",
    ),
    "demo": Mode(
        "fsm_agent.modes.demo",
        "watch the controller talk to a simulated MMDAgent-EX (no API key, no MMDAgent-EX)",
        # It calls no server: its --help does not offer the server's settings.
        unused=("model", "base_url", "api_key_env", "max_retries", "temperature", "max_tokens"),
    ),
    "diagram": Mode(
        "fsm_agent.modes.diagram",
        "draw the controller's state machine (mermaid, dot, svg or png) from its transition table",
        settings=False,
    ),
}


class _ModeParser(_Parser):
    """A subcommand's parser: the mode's own options are added when it is parsed or shown."""

    mode_module = ""

    def add_mode_options(self) -> None:
        """Import the mode and let it add its options (once)."""
        module, self.mode_module = self.mode_module, ""
        if module:
            importlib.import_module(module).add_arguments(self)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """Parse as usual, after the mode's options are added."""
        self.add_mode_options()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        """The help, with the mode's options."""
        self.add_mode_options()
        return super().format_help()


def build_parser() -> argparse.ArgumentParser:
    """Build the full parser with its subcommands (a mode is imported only when used)."""
    common = settings_parser()
    parser = _Parser(
        prog="fsm-agent",
        description=DESCRIPTION,
        epilog=EPILOG,
        parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"fsm-agent {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_ModeParser)
    for name, mode in COMMANDS.items():
        parents = [settings_parser(mode.unused) if mode.unused else common] if mode.settings else []
        sp = sub.add_parser(name, parents=parents, help=mode.help, description=mode.help)
        sp.mode_module = mode.module
    return parser


def _module(name: str) -> Any:
    return importlib.import_module(COMMANDS[name].module)


def main(
    argv: Sequence[str] | None = None, *, original_signals: dict[int, Any] | None = None
) -> int:
    """Entry point of the ``fsm-agent`` console script.

    Args:
        argv: The arguments (``sys.argv[1:]`` when None).
        original_signals: The signal handlers from before the caller took the quit signals
            for start-up (the entry point, ``fsm_agent.__main__``, does); they are given back
            to the modes that handle Ctrl-C themselves.

    """
    # First of all, before the parser is built: the host may stop us at any moment,
    # and a signal during start-up must exit 0, not -15 or with a KeyboardInterrupt traceback.
    previous = install_quit_signals(_exit_now)
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(words)
        except ConfigError as exc:
            raise ConfigError(_usage_error(parser, words, str(exc))) from None
        command = args.command or "run"
        if command != "run":  # the other modes are interactive or short: Ctrl-C is theirs
            restore_signals(original_signals or previous)
        return int(_module(command).main(args))
    except ConfigError as exc:
        _record_startup_error(str(exc), words)
        parser.exit(2, f"fsm-agent: error: {exc}\n")
    except KeyboardInterrupt:
        return 0
    except Exception as exc:
        if not logging.getLogger("fsm_agent").handlers:  # the log is not running yet
            _record_startup_error(f"{type(exc).__name__}: {exc}", words)
        raise


def _record_startup_error(message: str, words: list[str]) -> None:
    """Also write a start-up error where it can be found when stderr is not seen (Windows)."""
    from fsm_agent.config.startup_log import startup_log_targets
    from fsm_agent.runtime.logs import record_startup_error

    record_startup_error(message, startup_log_targets(words, os.environ))


def _exit_now() -> None:
    # Not SystemExit, which a __del__ that the signal lands in would swallow (see __main__).
    # Until the mode takes the signals nothing is buffered: log and --record lines are flushed
    # as they are written, and the history file is rewritten atomically.
    os._exit(0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
