"""The AnyScript mode (``fsm-agent`` / ``fsm-agent run``): stdin/stdout, logging, runtime."""

from __future__ import annotations

import argparse
import gc
import logging
import sys

from fsm_agent.backends.factory import make_backend
from fsm_agent.backends.proxy import require_proxy_support
from fsm_agent.config.load import require_llm_access, warn_about_api_key
from fsm_agent.core.controller import Controller
from fsm_agent.core.history import History, estimate_tokens
from fsm_agent.core.settings import Settings
from fsm_agent.runtime.history_file import remembered_history
from fsm_agent.runtime.lineio import LineWriter, private_stdin, start_reader, watch_output
from fsm_agent.runtime.logs import setup_logging
from fsm_agent.runtime.loop import QUIT, Runtime
from fsm_agent.runtime.record import attach as attach_recorder
from fsm_agent.text.ruleset import preload

log = logging.getLogger("fsm_agent")

RULES_AFTER = 0.5
"""Seconds after start-up before the language's rules are compiled (some 50 ms of CPU).

Not sooner: the host's first lines, or an end of input at once, should not wait for them; not
later: the first reply should find them ready (with the openai backend it cannot come before
``import openai`` is done, which takes longer; a reply that comes sooner compiles them itself).
"""

BY_HAND = (
    "fsm-agent: reading MMDAgent-EX messages from this terminal. Type RECOG_EVENT_STOP|Hello "
    "there. and answer each SYNTH_START as the avatar would: SYNTH_EVENT_START|{alias}, then "
    "SYNTH_EVENT_STOP|{alias} (without a START within --synth-timeout, {timeout:g} s, the "
    "sentence is given up on). Ctrl-D ends (Ctrl-Z, Enter on Windows).\n"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The run mode takes only the shared settings."""


def main(args: argparse.Namespace) -> int:
    """Run the AnyScript loop with the settings from ``args``."""
    from fsm_agent.config.flags import settings_from_args

    settings = settings_from_args(args)
    require_llm_access(settings)
    require_proxy_support(settings)
    return run_anyscript(settings)


def run_anyscript(settings: Settings) -> int:
    """Run as an MMDAgent-EX submodule until stdin ends or a quit signal arrives.

    Input and output are raw UTF-8 bytes with LF endings whatever the platform's defaults, and
    every output line is flushed at once.

    Args:
        settings: The configuration.

    Returns:
        The exit status: 0.

    """
    from fsm_agent.runtime.signals import exit_after_grace, install_quit_signals

    setup_logging(settings.log_level, settings.log_file, [settings.api_key()])
    warn_about_api_key(settings)
    writer = LineWriter(sys.stdout.buffer)
    history, history_file = remembered_history(settings)
    controller = Controller(settings, history)
    warn_if_prompt_exceeds_budget(controller.history)
    runtime = Runtime(controller, make_backend(settings), writer.write, history_file=history_file)
    writer.on_broken = runtime.stop
    recorder = attach_recorder(runtime, settings, "run")
    watch_output(sys.stdout.fileno(), runtime.stop)
    stdin = sys.stdin
    if stdin is not None and stdin.isatty():  # a person trying it, never MMDAgent-EX (pipes)
        sys.stderr.write(BY_HAND.format(alias=settings.alias, timeout=settings.synth_timeout))
        sys.stderr.flush()
    start_reader(private_stdin(), runtime.post)
    preload(settings.lang, RULES_AFTER)

    def quit_() -> None:
        runtime.post(QUIT)
        exit_after_grace()

    install_quit_signals(quit_)
    log.info(
        "fsm-agent ready: %s, voice %s, alias %s",
        replies_from(settings),
        settings.voice,
        settings.alias,
    )
    try:
        status = runtime.run()
        if controller.state != "Idle":
            log.info(
                "input ended in the middle of a turn (%s): nothing more is sent. Under "
                "MMDAgent-EX that is the host going away; to push a file of host lines through "
                "the controller, use `fsm-agent replay FILE`",
                controller.state,
            )
        return status
    finally:
        if recorder is not None:
            recorder.close()
        # The interpreter's last garbage collections walk every object the openai package
        # made (about a quarter of a second); everything is closed, so let exit skip them.
        gc.freeze()


def replies_from(settings: Settings) -> str:
    """Say where the replies come from, e.g. ``model llama3.2 at http://localhost:11434/v1``."""
    if settings.backend != "openai":
        return f"backend {settings.backend}"
    return f"model {settings.model} at {settings.base_url or 'OpenAI'}"


def warn_if_prompt_exceeds_budget(history: History) -> None:
    """Warn once, at start, when the system prompt alone is over the history's token budget.

    The prompt is never trimmed, so every turn would be dropped as soon as it is committed:
    the avatar would remember nothing, and nothing else would say why.

    Args:
        history: The conversation as it starts (turns loaded from a history file do not
            count: only the prompt is never trimmed).

    """
    prompt_tokens = estimate_tokens(history.system_prompt)
    if prompt_tokens > history.max_tokens:
        log.warning(
            "the system prompt alone is about %d tokens, more than history_tokens (%d): "
            "no turn will be remembered; raise --history-tokens or shorten the prompt",
            prompt_tokens,
            history.max_tokens,
        )
