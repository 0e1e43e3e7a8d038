"""Where an error that stops fsm-agent at start-up is written, before the log itself runs.

Under MMDAgent-EX on Windows nobody sees stderr: an error at start that reaches only stderr
leaves a silent avatar and no trace. So such an error also goes to the log file the settings
name, found from the raw sources (flags, ``FSM_AGENT_LOG_FILE``, the TOML file) because the
settings themselves may be what failed; and where that file cannot be written, or the TOML file
cannot be read to find it, to :data:`FALLBACK_NAME` beside the TOML file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

from fsm_agent.text.files import TextFileError, read_text_file

FALLBACK_NAME = "fsm-agent-error.log"
"""The file beside the TOML file for start-up errors that have no log file to go to."""


def startup_log_targets(argv: Sequence[str], environ: Mapping[str, str]) -> list[Path]:
    """The files a start-up error should be appended to, the first that can be written wins.

    Args:
        argv: The command line's arguments (without the program name).
        environ: The environment.

    Returns:
        The log file the settings name (flag, then environment, then TOML file) and the
        fallback beside the TOML file; empty when there is neither a log file nor a TOML file.

    """
    config = _flag_value(argv, "--config")
    log_file = _flag_value(argv, "--log-file") or environ.get("FSM_AGENT_LOG_FILE") or None
    readable = True
    if log_file is None and config:
        try:
            data = tomllib.loads(read_text_file(Path(config)))
        except (TextFileError, tomllib.TOMLDecodeError):
            readable = False
        else:
            value = data.get("log_file", data.get("log-file"))
            if value:
                log_file = str(Path(config).parent / str(value))
    targets = [Path(log_file)] if log_file else []
    if config and (log_file or not readable):
        targets.append(Path(config).parent / FALLBACK_NAME)
    return targets


def _flag_value(argv: Sequence[str], flag: str) -> str | None:
    """The last value given to ``flag`` (``--flag VALUE`` or ``--flag=VALUE``), or None."""
    found = None
    for i, word in enumerate(argv):
        if word == flag and i + 1 < len(argv):
            found = argv[i + 1]
        elif word.startswith(flag + "="):
            found = word[len(flag) + 1 :]
    return found or None
