"""Checking a whole ``Settings``: every setting's range and form.

One clear error names the first setting that cannot work. Called once the sources are merged
(``fsm_agent.config.load``).
"""

from __future__ import annotations

import math

from fsm_agent.core.settings import (
    BARGE_IN_CHOICES,
    BARGE_IN_MARK_CHOICES,
    DESCRIBE_TAGS_CHOICES,
    LOG_LEVELS,
    MAX_ALIAS_BYTES,
    MAX_SECONDS,
    MAX_SECONDS_PER_CHAR,
    MIN_SUMMARY_TOKENS,
    ConfigError,
    Settings,
)


def validate(s: Settings) -> Settings:
    """Check every setting's range and form.

    Returns:
        ``s`` itself.

    Raises:
        ConfigError: Naming the first setting that cannot work.

    """
    if s.barge_in not in BARGE_IN_CHOICES:
        raise ConfigError(
            f"barge_in must be one of {', '.join(BARGE_IN_CHOICES)}, not {s.barge_in!r}"
        )
    if s.barge_in_mark not in BARGE_IN_MARK_CHOICES:
        raise ConfigError(
            f"barge_in_mark must be one of {', '.join(BARGE_IN_MARK_CHOICES)}, "
            f"not {s.barge_in_mark!r}"
        )
    if s.summary_tokens < MIN_SUMMARY_TOKENS:
        raise ConfigError(f"summary_tokens must be at least {MIN_SUMMARY_TOKENS}")
    if s.log_level.lower() not in LOG_LEVELS:
        raise ConfigError(f"log_level must be one of {', '.join(LOG_LEVELS)}, not {s.log_level!r}")
    for name in ("synth_timeout", "stream_timeout", "think_timeout", "filler_after"):
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
    if not (math.isfinite(s.synth_speed) and 0.01 <= s.synth_speed <= 100):
        raise ConfigError("synth_speed must be from 0.01 to 100")
    _check_voices(s)
    if s.temperature is not None and not math.isfinite(s.temperature):
        raise ConfigError("temperature must be a finite number")
    _check_expressive(s)
    if not math.isfinite(s.keepalive) or not 0 <= s.keepalive <= MAX_SECONDS:
        raise ConfigError(f"keepalive must be from 0 to {MAX_SECONDS:g} seconds")
    for name in ("history_turns", "history_tokens", "max_retries", "idle_max", "first_clause"):
        if getattr(s, name) < 0:
            raise ConfigError(f"{name} must not be negative")
    if s.max_reply_chars < 1:
        raise ConfigError("max_reply_chars must be at least 1")
    if s.max_tokens is not None and s.max_tokens < 1:
        raise ConfigError("max_tokens must be at least 1; leave it out for the server's limit")
    if not s.model.strip():
        raise ConfigError("model must not be empty; name the server's model, e.g. llama3.2")
    for name in ("alias", "voice"):
        _check_alias(name, getattr(s, name))
    if s.filler_message:
        from fsm_agent.core.protocol import host_message

        try:
            host_message(s.filler_message, s.alias, s.voice)
        except ValueError as exc:
            raise ConfigError(f"filler_message: {exc}") from None
    from fsm_agent.text.segmenter import available_languages  # the rules live with the segmenter

    if s.lang not in available_languages():
        raise ConfigError(f"lang must be one of {', '.join(available_languages())}, not {s.lang!r}")
    if not (s.backend in ("openai", "echo") or s.backend.startswith("script:")):
        raise ConfigError(f"backend must be openai, echo or script:FILE, not {s.backend!r}")
    return s


def _check_expressive(s: Settings) -> None:
    """Check the greeting and idle talk (the gestures file is read by ``config.load``)."""
    if s.describe_tags not in DESCRIBE_TAGS_CHOICES:
        raise ConfigError(
            f"describe_tags must be one of {', '.join(DESCRIBE_TAGS_CHOICES)}, "
            f"not {s.describe_tags!r}"
        )
    if s.greeting.strip() and s.greeting_prompt.strip():
        raise ConfigError("greeting and greeting_prompt are both given; give only one of them")
    if not math.isfinite(s.idle_after) or not 0 <= s.idle_after <= MAX_SECONDS:
        raise ConfigError(f"idle_after must be from 0 (never) to {MAX_SECONDS:g} seconds")
    if s.idle_after and not s.idle_prompt.strip():
        raise ConfigError("idle_prompt must not be empty when idle_after is set")


def _check_alias(name: str, value: str) -> None:
    """Reject a model or voice alias that could not work.

    One too long would leave no room for the sentence on the line. The model alias also comes
    back in the host's events and is compared as is: one that sanitizing changes on the way
    out (a ``|``, a space, a control character) would never match its own SYNTH_EVENT_STOP.
    """
    from fsm_agent.core.protocol import sanitize_field

    if not value.strip():
        raise ConfigError(f"{name} must not be empty")
    if len(value.encode("utf-8")) > MAX_ALIAS_BYTES:
        raise ConfigError(f"{name} must be at most {MAX_ALIAS_BYTES} bytes long")
    if name == "alias" and (sanitize_field(value) != value or any(c.isspace() for c in value)):
        raise ConfigError("alias must be one word without '|', spaces or control characters")


def _check_voices(s: Settings) -> None:
    """Check the ``voices`` and ``voice_engines`` pairs: known languages and engines."""
    from fsm_agent.core.voices import ENGINES
    from fsm_agent.text.segmenter import available_languages

    languages = [lang for lang in available_languages() if lang != "auto"]
    for lang, voice in s.voices:
        if lang not in languages:
            raise ConfigError(
                f"voices: {lang!r} is not a language; use one of {', '.join(languages)}"
            )
        _check_alias(f"voices.{lang}", voice)
    for voice, engine in s.voice_engines:
        _check_alias(f"voice_engines: {voice}", voice)
        if engine not in ENGINES:
            raise ConfigError(
                f"voice_engines: {voice} = {engine!r}; the engine is one of {', '.join(ENGINES)}"
            )


def check_base_url(url: str) -> None:
    """Reject a base URL the client could not use, saying what it probably should be.

    The client itself would only say "Connection error." at the first turn. Checked only where
    the URL is used (see ``require_llm_access``): a stale ``OPENAI_BASE_URL`` must not stop
    ``demo`` or ``--backend echo``.

    Raises:
        ConfigError: Naming the URL and the fix.

    """
    from urllib.parse import urlsplit

    shown = url.strip()
    if not shown:
        raise ConfigError("base_url is empty; leave it out for OpenAI, or give the server's URL")
    if shown != url or any(c.isspace() for c in shown):
        raise ConfigError(f"base_url {url!r} has spaces in it")
    if "://" not in shown:
        raise ConfigError(
            f"base_url {shown!r} does not start with http:// or https://; "
            f"did you mean http://{shown}?"
        )
    parts = urlsplit(shown)
    if parts.scheme.lower() not in ("http", "https"):
        raise ConfigError(f"base_url {shown!r} must start with http:// or https://")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if not parts.hostname or port == -1:
        raise ConfigError(
            f"base_url {shown!r} has no valid host and port, e.g. http://localhost:11434/v1"
        )
