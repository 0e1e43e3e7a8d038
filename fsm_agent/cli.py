"""The ``fsm-agent`` command line: the AnyScript loop by default, and the other modes."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

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
"""

EPILOG = """\
examples:
  fsm-agent --model gpt-4o-mini                       # OpenAI (key in OPENAI_API_KEY)
  fsm-agent --base-url http://localhost:11434/v1 --model llama3.2    # Ollama
  fsm-agent --backend echo                             # no LLM: repeat the user
"""


def build_parser() -> argparse.ArgumentParser:
    """Build the full parser with its subcommands."""
    common = settings_parser()
    parser = argparse.ArgumentParser(
        prog="fsm-agent",
        description=DESCRIPTION,
        epilog=EPILOG,
        parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"fsm-agent {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = _module(name)
        parents = [common] if getattr(module, "TAKES_SETTINGS", True) else []
        sp = sub.add_parser(name, parents=parents, help=module.HELP, description=module.HELP)
        module.add_arguments(sp)
    return parser


# Each subcommand is a module with HELP (one line), add_arguments(parser) and main(args) -> int.
# Adding a mode is adding a module and one line here.
COMMANDS: dict[str, str] = {
    "run": "fsm_agent.modes.run",
    "replay": "fsm_agent.modes.replay",
    "chat": "fsm_agent.modes.chat",
    "demo": "fsm_agent.modes.demo",
    "diagram": "fsm_agent.modes.diagram",
}


def _module(name: str) -> Any:
    return importlib.import_module(COMMANDS[name])


def main(
    argv: Sequence[str] | None = None, *, original_signals: dict[int, Any] | None = None
) -> int:
    """Entry point of the ``fsm-agent`` console script.

    Args:
        argv: The arguments (``sys.argv[1:]`` when None).
        original_signals: The signal handlers from before the caller took the quit signals
            for start-up (``python -m fsm_agent`` does); they are given back to the modes
            that handle Ctrl-C themselves.

    """
    # First of all, before the parser imports every mode: the host may stop us at any moment,
    # and a signal during start-up must exit 0, not -15 or with a KeyboardInterrupt traceback.
    previous = install_quit_signals(_exit_now)
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "run"
    if command != "run":  # the other modes are interactive or short: Ctrl-C is theirs
        restore_signals(original_signals or previous)
    try:
        return int(_module(command).main(args))
    except ConfigError as exc:
        parser.exit(2, f"fsm-agent: error: {exc}\n")
    except KeyboardInterrupt:
        return 0


def _exit_now() -> None:
    raise SystemExit(0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
