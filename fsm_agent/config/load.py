"""Where settings come from: defaults, a TOML file, the environment and flags (in that order)."""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from fsm_agent.core.gestures import load_gestures
from fsm_agent.core.settings import SETTING_NAMES, ConfigError, Settings, validate

log = logging.getLogger("fsm_agent.config")
_PROMPT_KEYS = ("system_prompt", "prompt_file")
_TYPES: dict[str, str] = {f.name: str(f.type) for f in fields(Settings)}


def _coerce(name: str, value: Any) -> Any:
    """Convert a value from TOML, the environment or a flag to the field's type."""
    kind = _TYPES[name]
    if value is None:
        return None
    try:
        if "bool" in kind:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(value)
        if "int" in kind:
            if isinstance(value, bool):
                raise ValueError(value)
            if isinstance(value, float) and not value.is_integer():
                raise ConfigError(f"{name}: {value!r} is not a whole number")
            return int(value)
        if "float" in kind:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if "Path" in kind:
            return Path(str(value)) if str(value) else None
        if kind == "Pairs":
            return _pairs(name, value)
    except ConfigError:
        raise
    except (ValueError, OverflowError):
        raise ConfigError(f"{name}: {value!r} is not a valid {kind}") from None
    return str(value)


def _pairs(name: str, value: Any) -> tuple[tuple[str, str], ...]:
    """A mapping setting from a TOML table or from ``key=value,key=value`` text."""
    if isinstance(value, tuple | list):  # ours, or a record file's JSON
        items = [tuple(item) if isinstance(item, list | tuple) else (item, None) for item in value]
    elif isinstance(value, dict):
        items = list(value.items())
    else:
        text = str(value).strip()
        items = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, val = part.partition("=")
            if not sep:
                raise ConfigError(f"{name}: {part!r} is not KEY=VALUE")
            items.append((key, val))
    out: list[tuple[str, str]] = []
    for key, val in items:
        if not isinstance(val, str) or not str(key).strip() or not val.strip():
            raise ConfigError(f"{name}: {key!r} = {val!r} is not a name and a text")
        out.append((str(key).strip(), val.strip()))
    return tuple(out)


def read_toml(path: Path) -> dict[str, Any]:
    """Read a settings file; relative paths inside it are relative to the file.

    Raises:
        ConfigError: If the file is missing, not TOML, or has unknown keys.

    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # Notepad writes a BOM
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in SETTING_NAMES:
            raise ConfigError(f"{path}: unknown setting {key!r}")
        if name in ("prompt_file", "log_file", "record", "history_file", "gestures") and value:
            value = path.parent / Path(str(value))
        if name == "backend" and str(value).startswith("script:"):
            value = "script:" + str(path.parent / str(value)[len("script:") :])
        out[name] = value
    return out


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """Read ``FSM_AGENT_<NAME>`` variables, plus ``OPENAI_BASE_URL`` and ``OPENAI_MODEL``."""
    out: dict[str, Any] = {}
    if environ.get("OPENAI_BASE_URL"):
        out["base_url"] = environ["OPENAI_BASE_URL"]
    if environ.get("OPENAI_MODEL"):
        out["model"] = environ["OPENAI_MODEL"]
    for name in SETTING_NAMES:
        value = environ.get(f"FSM_AGENT_{name.upper()}")
        if value is not None:
            out[name] = value
    return out


def load_settings(
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings: defaults, then the TOML file, then the environment, then overrides.

    Args:
        config_file: A TOML file of settings, or None.
        overrides: Values given on the command line (only the ones the user gave).
        environ: The environment; ``os.environ`` when None.

    Returns:
        Validated settings.

    Raises:
        ConfigError: With a one-line explanation when anything is wrong.

    """
    env = os.environ if environ is None else environ
    sources: list[tuple[str, dict[str, Any]]] = []
    if config_file is not None:
        sources.append((f"{config_file}: system_prompt and prompt_file", read_toml(config_file)))
    sources.append(("FSM_AGENT_SYSTEM_PROMPT and FSM_AGENT_PROMPT_FILE", from_environment(env)))
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    sources.append(("--system-prompt and --prompt-file", flags))
    merged = _merge(sources)
    unknown = set(merged) - set(SETTING_NAMES)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    values = {name: _coerce(name, value) for name, value in merged.items()}
    settings = validate(replace(Settings(), **values))
    if settings.gestures is not None:
        load_gestures(settings.gestures)  # a file that cannot work is refused at start
    return settings


def _merge(sources: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Merge sources, later ones winning; the prompt and the prompt file are one setting.

    A source that gives either of them replaces whatever an earlier source gave for both, so
    ``--system-prompt`` beats a ``prompt_file`` from the TOML file and ``--prompt-file`` beats
    ``FSM_AGENT_SYSTEM_PROMPT``.

    Args:
        sources: ``(how the source names the two prompt settings, its values)``, in order.

    Raises:
        ConfigError: When one source gives both.

    """
    merged: dict[str, Any] = {}
    for both, values in sources:
        given = [key for key in _PROMPT_KEYS if values.get(key) not in (None, "")]
        if len(given) > 1:
            raise ConfigError(f"{both} are both given; give only one of them")
        if given:
            for key in _PROMPT_KEYS:
                merged.pop(key, None)
        merged.update(values)
    return merged


def require_llm_access(settings: Settings, environ: Mapping[str, str] | None = None) -> None:
    """Check that the OpenAI-compatible backend has somewhere to go before the first turn.

    Without a key and without a base URL every turn would fail with a connection or
    authentication error; saying so at start is kinder than a silent avatar.

    Raises:
        ConfigError: When ``backend`` is ``openai`` and neither a key nor a base URL is set.

    """
    if settings.backend == "openai" and not settings.base_url and not settings.api_key(environ):
        raise ConfigError(
            f"no API key: set {settings.api_key_env}, or give --base-url for a local server "
            "(e.g. http://localhost:11434/v1 for Ollama), or try --backend echo"
        )


def warn_about_api_key(settings: Settings) -> None:
    """Warn (once, at start, after logging is set up) about a key with white space or quotes.

    The key is used without them (:meth:`Settings.api_key`); the warning says so, and never
    shows the key.
    """
    if settings.backend != "openai":
        return
    for problem in settings.api_key_problems():
        log.warning("%s", problem)
