"""One settings object, from defaults, a TOML file, the environment and flags (in that order)."""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

BargeIn = Literal["final", "start", "never"]
BARGE_IN_CHOICES: tuple[str, ...] = ("final", "start", "never")
LOG_LEVELS: tuple[str, ...] = ("debug", "info", "warning", "error")
MAX_SECONDS = 3600.0
"""The longest timeout a setting may ask for; more is a typo, and ``inf`` would crash the loop."""
MAX_SECONDS_PER_CHAR = 60.0
"""The most ``synth_seconds_per_char`` may add for each character."""
MAX_ALIAS_BYTES = 100
"""Longest model or voice alias (UTF-8 bytes); a sentence must still fit on the line after it."""
_PROMPT_KEYS = ("system_prompt", "prompt_file")

DEFAULT_PROMPT = (
    "You are a friendly character who talks with people by voice. Answer in the language the "
    "user speaks, in short spoken sentences, without lists, markdown or emoji."
)


class ConfigError(ValueError):
    """A setting is missing, unknown or out of range; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    """Everything fsm-agent can be told. Each field is also a TOML key and a flag."""

    model: str = "gpt-4o-mini"
    """Chat model name as the server knows it."""
    base_url: str | None = None
    """OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 for Ollama."""
    api_key_env: str = "OPENAI_API_KEY"
    """Name of the environment variable that holds the API key (keys never go in files)."""
    backend: str = "openai"
    """Where replies come from: openai, echo, or script:FILE."""
    voice: str = "mei_voice_normal"
    """Voice alias for SYNTH_START."""
    alias: str = "0"
    """Model alias of the character that speaks."""
    lang: str = "auto"
    """Sentence rules: auto, ja, en, zh, ko, de, fr, es, ru, it."""
    system_prompt: str = DEFAULT_PROMPT
    """The system prompt, sent first with every request and never trimmed."""
    prompt_file: Path | None = None
    """Read the system prompt from this UTF-8 file instead."""
    history_turns: int = 20
    """Keep at most this many user/assistant turns."""
    history_tokens: int = 3000
    """Keep the conversation within this many tokens (server-reported where available)."""
    synth_timeout: float = 5.0
    """Base seconds to wait for SYNTH_EVENT_STOP before moving on."""
    synth_seconds_per_char: float = 0.25
    """Seconds added to that wait for each character of the sentence."""
    stream_timeout: float = 30.0
    """Seconds without a token from the LLM before the turn fails."""
    max_retries: int = 1
    """Retries of a failed LLM request before the first token (429/5xx/connection)."""
    max_reply_chars: int = 4000
    """A reply is cut off after this many characters (an endless stream ends here)."""
    temperature: float | None = None
    """Sampling temperature; the server's default when unset."""
    max_tokens: int | None = None
    """Upper bound on reply tokens; the server's default when unset."""
    no_stream: bool = False
    """Ask for the whole reply at once (servers without streaming); still spoken by sentence."""
    barge_in: BargeIn = "final"
    """What interrupts the avatar: final (a new utterance), start (RECOG_EVENT_START), never."""
    error_reply: str = ""
    """Spoken when a turn fails before any sentence; nothing when empty."""
    keep_emoji: bool = False
    """Keep emoji in spoken text (dropped by default)."""
    log_file: Path | None = None
    """Also write the log to this file (the only durable log under MMDAgent-EX)."""
    log_level: str = "info"
    """debug, info, warning or error."""
    record: Path | None = None
    """Write every exchanged line with a timestamp to this JSON-lines file."""

    def api_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """Return the API key from the environment, or None."""
        env = os.environ if environ is None else environ
        return env.get(self.api_key_env) or None

    def resolved_prompt(self) -> str:
        """Return the system prompt, read from ``prompt_file`` when one is set.

        Raises:
            ConfigError: If the file cannot be read as UTF-8.

        """
        if self.prompt_file is None:
            return self.system_prompt
        try:
            return self.prompt_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the prompt file {self.prompt_file}: {exc}") from exc


SETTING_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Settings))
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
    except ConfigError:
        raise
    except (ValueError, OverflowError):
        raise ConfigError(f"{name}: {value!r} is not a valid {kind}") from None
    return str(value)


def _validate(s: Settings) -> Settings:
    if s.barge_in not in BARGE_IN_CHOICES:
        raise ConfigError(
            f"barge_in must be one of {', '.join(BARGE_IN_CHOICES)}, not {s.barge_in!r}"
        )
    if s.log_level.lower() not in LOG_LEVELS:
        raise ConfigError(f"log_level must be one of {', '.join(LOG_LEVELS)}, not {s.log_level!r}")
    for name in ("synth_timeout", "stream_timeout"):
        value = getattr(s, name)
        if not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
            raise ConfigError(f"{name} must be more than 0 and at most {MAX_SECONDS:g} seconds")
    if not (
        math.isfinite(s.synth_seconds_per_char)
        and 0 <= s.synth_seconds_per_char <= MAX_SECONDS_PER_CHAR
    ):
        raise ConfigError(
            f"synth_seconds_per_char must be from 0 to {MAX_SECONDS_PER_CHAR:g} seconds"
        )
    if s.temperature is not None and not math.isfinite(s.temperature):
        raise ConfigError("temperature must be a finite number")
    for name in ("history_turns", "history_tokens", "max_retries"):
        if getattr(s, name) < 0:
            raise ConfigError(f"{name} must not be negative")
    if s.max_reply_chars < 1:
        raise ConfigError("max_reply_chars must be at least 1")
    for name in ("alias", "voice"):
        _check_alias(name, getattr(s, name))
    from fsm_agent.segmenter import available_languages  # the rules live with the segmenter

    if s.lang not in available_languages():
        raise ConfigError(f"lang must be one of {', '.join(available_languages())}, not {s.lang!r}")
    if not (s.backend in ("openai", "echo") or s.backend.startswith("script:")):
        raise ConfigError(f"backend must be openai, echo or script:FILE, not {s.backend!r}")
    return s


def _check_alias(name: str, value: str) -> None:
    """Reject a model or voice alias that could not work.

    One too long would leave no room for the sentence on the line. The model alias also comes
    back in the host's events and is compared as is: one that sanitizing changes on the way
    out (a ``|``, a space, a control character) would never match its own SYNTH_EVENT_STOP.
    """
    from fsm_agent.protocol import sanitize_field

    if not value.strip():
        raise ConfigError(f"{name} must not be empty")
    if len(value.encode("utf-8")) > MAX_ALIAS_BYTES:
        raise ConfigError(f"{name} must be at most {MAX_ALIAS_BYTES} bytes long")
    if name == "alias" and (sanitize_field(value) != value or any(c.isspace() for c in value)):
        raise ConfigError("alias must be one word without '|', spaces or control characters")


def read_toml(path: Path) -> dict[str, Any]:
    """Read a settings file; relative paths inside it are relative to the file.

    Raises:
        ConfigError: If the file is missing, not TOML, or has unknown keys.

    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in SETTING_NAMES:
            raise ConfigError(f"{path}: unknown setting {key!r}")
        if name in ("prompt_file", "log_file", "record") and value:
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
    return _validate(replace(Settings(), **values))


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
