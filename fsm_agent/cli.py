"""The ``fsm-agent`` command line: the AnyScript loop by default, and the other modes."""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from fsm_agent import __version__
from fsm_agent.config import (
    BARGE_IN_CHOICES,
    LOG_LEVELS,
    SETTING_NAMES,
    ConfigError,
    Settings,
    load_settings,
)

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


def _settings_parser() -> argparse.ArgumentParser:
    """The options every mode shares; each sets one field of Settings."""
    p = argparse.ArgumentParser(add_help=False)
    S = argparse.SUPPRESS
    g = p.add_argument_group("settings (also TOML keys and FSM_AGENT_* variables)")
    g.add_argument("--config", type=Path, metavar="FILE", default=S, help="TOML settings file")
    g.add_argument("--model", default=S, help="chat model name (default: gpt-4o-mini)")
    g.add_argument(
        "--base-url",
        default=S,
        metavar="URL",
        help="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 (default: OpenAI)",
    )
    g.add_argument(
        "--api-key-env",
        default=S,
        metavar="NAME",
        help="environment variable holding the API key (default: OPENAI_API_KEY)",
    )
    g.add_argument(
        "--backend",
        default=S,
        metavar="NAME",
        help="openai (default), echo (repeat the user), or script:FILE (replies separated by ---)",
    )
    g.add_argument(
        "--voice", default=S, help="voice alias for SYNTH_START (default: mei_voice_normal)"
    )
    g.add_argument("--alias", default=S, help="model alias of the speaking character (default: 0)")
    g.add_argument(
        "--lang",
        default=S,
        help="sentence rules: auto (default, mixed text), ja, en, zh, ko, de, fr, es, ru, it",
    )
    g.add_argument(
        "--system-prompt",
        default=S,
        metavar="TEXT",
        help="the system prompt; replaces a prompt file given in the TOML file or environment",
    )
    g.add_argument(
        "--prompt-file",
        type=Path,
        default=S,
        metavar="FILE",
        help="read the system prompt from FILE (UTF-8); replaces a system prompt given in the "
        "TOML file or environment; not together with --system-prompt",
    )
    g.add_argument(
        "--history-turns", type=int, default=S, metavar="N", help="turns kept (default: 20)"
    )
    g.add_argument(
        "--history-tokens",
        type=int,
        default=S,
        metavar="N",
        help="token budget of the history (default: 3000)",
    )
    g.add_argument(
        "--synth-timeout",
        type=float,
        default=S,
        metavar="SEC",
        help="base wait for SYNTH_EVENT_STOP; grows by --synth-seconds-per-char "
        "(default: 5, at most 3600)",
    )
    g.add_argument(
        "--synth-seconds-per-char",
        type=float,
        default=S,
        metavar="SEC",
        help="added to that wait for each character of the sentence, so a long sentence is "
        "not cut short (default: 0.25)",
    )
    g.add_argument(
        "--stream-timeout",
        type=float,
        default=S,
        metavar="SEC",
        help="LLM silence before a turn fails (default: 30, at most 3600)",
    )
    g.add_argument(
        "--max-retries", type=int, default=S, metavar="N", help="LLM request retries (default: 1)"
    )
    g.add_argument(
        "--max-reply-chars",
        type=int,
        default=S,
        metavar="N",
        help="cut a reply off here (default: 4000)",
    )
    g.add_argument(
        "--temperature", type=float, default=S, help="sampling temperature (default: the server's)"
    )
    g.add_argument(
        "--max-tokens",
        type=int,
        default=S,
        metavar="N",
        help="reply token limit (default: the server's)",
    )
    g.add_argument(
        "--no-stream",
        action="store_const",
        const=True,
        default=S,
        help="ask for the whole reply at once",
    )
    g.add_argument(
        "--barge-in",
        choices=BARGE_IN_CHOICES,
        default=S,
        help="what interrupts the avatar: final utterance (default), start of speech, never",
    )
    g.add_argument(
        "--error-reply",
        default=S,
        metavar="TEXT",
        help="spoken when a turn fails before any sentence",
    )
    g.add_argument(
        "--keep-emoji", action="store_const", const=True, default=S, help="do not drop emoji"
    )
    g.add_argument(
        "--log-file", type=Path, default=S, metavar="FILE", help="also log to FILE (UTF-8)"
    )
    g.add_argument(
        "--log-level",
        type=str.lower,
        choices=LOG_LEVELS,
        default=S,
        help="how much to log: debug adds every state change and ignored line (default: info)",
    )
    g.add_argument(
        "--record",
        type=Path,
        default=S,
        metavar="FILE",
        help="write every exchanged line with a timestamp to FILE (JSON lines), for replay",
    )
    return p


def build_parser() -> argparse.ArgumentParser:
    """Build the full parser with its subcommands."""
    common = _settings_parser()
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


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Load the settings with the flags the user gave on top.

    Raises:
        ConfigError: When a setting is wrong; ``main`` prints it in one line.

    """
    given = {k: v for k, v in vars(args).items() if k in SETTING_NAMES}
    settings = load_settings(getattr(args, "config", None), given)
    return replace(settings, system_prompt=settings.resolved_prompt(), prompt_file=None)


# Each subcommand is a module with HELP (one line), add_arguments(parser) and main(args) -> int.
# Adding a mode is adding a module and one line here.
COMMANDS: dict[str, str] = {
    "run": "fsm_agent.app",
    "replay": "fsm_agent.replay",
    "chat": "fsm_agent.chat",
    "demo": "fsm_agent.demo",
    "diagram": "fsm_agent.diagram",
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
        _restore_signals(original_signals or previous)
    try:
        return int(_module(command).main(args))
    except ConfigError as exc:
        parser.exit(2, f"fsm-agent: error: {exc}\n")
    except KeyboardInterrupt:
        return 0


_QUIT_SIGNALS = ("SIGINT", "SIGTERM", "SIGBREAK")


def install_quit_signals(quit_: Callable[[], None]) -> dict[int, Any]:
    """Call ``quit_`` on Ctrl-C and SIGTERM where the platform has them.

    Returns:
        The handlers replaced, by signal number (none when not on the main thread).

    """
    previous: dict[int, Any] = {}
    for name in _QUIT_SIGNALS:
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            previous[signum] = signal.signal(signum, lambda *_: quit_())
        except ValueError:  # not the main thread: signals are not ours to take
            break
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def _exit_now() -> None:
    raise SystemExit(0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
