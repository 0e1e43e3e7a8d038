"""Run the ``fsm-agent`` command as a child process, and the clean environment to run it in."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

SETTINGS_PREFIXES = ("OPENAI_", "FSM_AGENT_")


def run_agent(
    *args: str,
    stdin: str = "",
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m fsm_agent ARGS`` with ``stdin`` as its input; UTF-8 text, never raises.

    ``env`` is the child's whole environment (``None``: this process's).
    """
    return subprocess.run(
        [sys.executable, "-m", "fsm_agent", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        cwd=cwd,
        env=env,
        check=False,
    )


def clean_env(*, without_proxies: bool = False, **extra: str) -> dict[str, str]:
    """This process's environment without API keys or fsm-agent settings, plus ``extra``.

    ``without_proxies`` also leaves out every ``*_proxy`` variable (any case).
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(SETTINGS_PREFIXES)
        and not (without_proxies and name.lower().endswith("_proxy"))
    }
    env.update(extra)
    return env
