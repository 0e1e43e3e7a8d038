"""One settings object, from defaults, a TOML file, the environment and flags (in that order)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

BargeIn = Literal["final", "start", "never"]
Pairs = tuple[tuple[str, str], ...]
"""A small mapping as a setting: ``(key, value)`` pairs, in order (TOML: a table)."""
BARGE_IN_CHOICES: tuple[str, ...] = ("final", "start", "never")
BargeInMark = Literal["ellipsis", "note", "none"]
BARGE_IN_MARK_CHOICES: tuple[str, ...] = ("ellipsis", "note", "none")
MIN_SUMMARY_TOKENS = 20
LOG_LEVELS: tuple[str, ...] = ("debug", "info", "warning", "error")
DESCRIBE_TAGS_CHOICES: tuple[str, ...] = ("auto", "always", "never")
MAX_SECONDS = 3600.0
"""The longest timeout a setting may ask for; more is a typo, and ``inf`` would crash the loop."""
MAX_SECONDS_PER_CHAR = 60.0
"""The most ``synth_seconds_per_char`` may add for each character."""
MAX_ALIAS_BYTES = 100
"""Longest model or voice alias (UTF-8 bytes); a sentence must still fit on the line after it."""
_PROMPT_KEYS = ("system_prompt", "prompt_file")

DEFAULT_IDLE_PROMPT = (
    "(Nobody has spoken for a while. Say one short, friendly remark to the user, in the "
    "language of the conversation, without asking for an answer.)"
)

DEFAULT_PROMPT = (
    "You are a friendly character who talks with people by voice. Answer in the language the "
    "user speaks, in short spoken sentences, without lists, markdown or emoji."
)


class ConfigError(ValueError):
    """A setting is missing, unknown or out of range; the message says which and why."""


def setting(
    default: Any,
    help: str,
    *,
    metavar: str | None = None,
    choices: tuple[str, ...] | None = None,
    shown_default: str | None = None,
) -> Any:
    """Declare one setting: its default, and what its flag says in ``--help``.

    Args:
        default: The value when no source gives one.
        help: One line for ``--help``; ``(default: ...)`` is added from ``default``.
        metavar: The flag's argument name in ``--help``.
        choices: The only values the flag takes.
        shown_default: What ``--help`` says for the default, where the value itself says
            nothing (``None`` means "the server's").

    """
    meta = {"help": help, "metavar": metavar, "choices": choices, "shown_default": shown_default}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Settings:
    """Everything fsm-agent can be told. Each field is also a TOML key, a flag and a variable.

    A field's ``help`` (see :func:`setting`) is its documentation and its flag's help; its
    default is stated once, here.
    """

    model: str = setting("gpt-4o-mini", "chat model name")
    base_url: str | None = setting(
        None,
        "OpenAI-compatible endpoint, e.g. http://localhost:11434/v1",
        metavar="URL",
        shown_default="OpenAI",
    )
    api_key_env: str = setting(
        "OPENAI_API_KEY", "environment variable holding the API key", metavar="NAME"
    )
    backend: str = setting(
        "openai",
        "openai, echo (repeat the user), or script:FILE (replies separated by ---)",
        metavar="NAME",
    )
    voice: str = setting("mei_voice_normal", "voice alias for SYNTH_START")
    voices: Pairs = setting(
        (),
        "a voice per language, e.g. ja=mei_voice_normal,en=slt_voice_normal (TOML: voices = "
        "{ ja = ..., en = ... }); each sentence is said by the voice of its script's language, "
        "the others by --voice",
        metavar="LANG=VOICE,...",
        shown_default="--voice for every sentence",
    )
    voice_engines: Pairs = setting(
        (),
        "which synthesizer has each voice of your content: VOICE=open_jtalk, flite or other; "
        "ASCII sent to an Open JTalk voice is widened to full-width, as its plugin crashes the "
        "host on ASCII-heavy text",
        metavar="VOICE=ENGINE,...",
        shown_default="slt_* flite, any other open_jtalk",
    )
    alias: str = setting("0", "model alias of the speaking character")
    lang: str = setting(
        "auto", "sentence rules: auto (mixed text), ja, en, zh, ko, de, fr, es, ru, it"
    )
    system_prompt: str = setting(
        DEFAULT_PROMPT,
        "the system prompt; replaces a prompt file given in the TOML file or environment",
        metavar="TEXT",
        shown_default="a short friendly-character prompt",
    )
    prompt_file: Path | None = setting(
        None,
        "read the system prompt from FILE (UTF-8); replaces a system prompt given in the TOML "
        "file or environment; not together with --system-prompt",
        metavar="FILE",
        shown_default="none",
    )
    history_turns: int = setting(20, "turns kept", metavar="N")
    history_tokens: int = setting(3000, "token budget of the history", metavar="N")
    history_file: Path | None = setting(
        None,
        "keep the conversation in FILE (JSON lines, UTF-8): each turn is added as it ends and "
        "the file is read at start, so a restart remembers; FSM_AGENT_FORGET from the "
        "content (or chat's /reset) empties it",
        metavar="FILE",
        shown_default="none",
    )
    summarize: bool = setting(
        False,
        "condense the turns trimmed from the history into a running summary after the system "
        "prompt (one more LLM request, between turns)",
    )
    summary_tokens: int = setting(
        300, "largest running summary, in tokens; within the history's budget", metavar="N"
    )
    barge_in_mark: BargeInMark = setting(
        "ellipsis",
        "how a reply cut off by the user is kept: what was heard then '…' (ellipsis), then "
        "'[interrupted]' (note), or as heard (none)",
        choices=BARGE_IN_MARK_CHOICES,
    )
    synth_timeout: float = setting(
        2.0,
        "wait this long past a sentence's expected end for its SYNTH_EVENT_STOP (the expected "
        "length is estimated from the text and learnt for each voice); at most 3600",
        metavar="SEC",
    )
    synth_seconds_per_char: float = setting(
        0.0,
        "wait at least this long per character as well, for a synthesizer slower than any estimate",
        metavar="SEC",
    )
    synth_speed: float = setting(
        1.0,
        "how fast a voice not heard yet is taken to speak, relative to Open JTalk's "
        "mei_voice_normal (2: twice as fast); after its first sentence its own pace is used",
        metavar="X",
    )
    stream_timeout: float = setting(
        30.0,
        "the server is gone: longest wait for its answer to a request, and longest silence "
        "once the reply or its thinking flows; at most 3600",
        metavar="SEC",
    )
    think_timeout: float = setting(
        120.0,
        "the server is working: longest wait for the reply's first words while it processes "
        "the prompt or the model thinks (it answered the request, or sends reasoning); at most "
        "3600",
        metavar="SEC",
    )
    think_prompted: bool = setting(
        False,
        "every reply begins inside <think> (a chat template that opens it in the prompt, as "
        "DeepSeek-R1's); learnt from the first bare </think> when not set",
    )
    keepalive: float = setting(
        300.0,
        "keep an idle connection to the LLM server this long, for the next turn (the server "
        "may close it sooner); at most 3600",
        metavar="SEC",
    )
    no_prewarm: bool = setting(
        False,
        "do not open (or re-check) the connection to the LLM server ahead of a turn: at "
        "start-up, at RECOG_EVENT_START, after the server closed it (a free GET /models)",
    )
    max_retries: int = setting(
        1, "LLM request retries before the first token (429/5xx/connection)", metavar="N"
    )
    first_clause: int = setting(
        8,
        "speak the reply's first sentence up to its first clause break (、 , ; :) when that "
        "ends at least N characters, not waiting for the sentence's end: the user hears it "
        "sooner, and the break becomes the short pause between two utterances; 0: off",
        metavar="N",
    )
    hold_first_end: bool = setting(
        False,
        "wait for the text after the reply's first sentence before speaking it, as for every "
        "later one; by default a first sentence that ends in a period after an ordinary "
        "lower-case word, ! or ? after a letter, or 。 is spoken at once (one token sooner)",
    )
    max_reply_chars: int = setting(
        4000, "cut a reply off here (an endless stream ends here)", metavar="N"
    )
    temperature: float | None = setting(
        None, "sampling temperature", metavar="T", shown_default="the server's"
    )
    max_tokens: int | None = setting(
        None, "reply token limit", metavar="N", shown_default="the server's"
    )
    no_stream: bool = setting(
        False, "ask for the whole reply at once; it is still spoken sentence by sentence"
    )
    barge_in: BargeIn = setting(
        "final",
        "what interrupts the avatar: final utterance, start of speech, never",
        choices=BARGE_IN_CHOICES,
    )
    error_reply: str = setting(
        "auto",
        "spoken when a turn fails before any sentence: auto (a short apology in the voice's "
        "language), a text, or none",
        metavar="TEXT",
    )
    filler: str = setting(
        "",
        "said once when the reply's first sentence has not come after --filler-after: a text, "
        "auto (e.g. えーと。 in the voice's language), or none",
        metavar="TEXT",
        shown_default="none",
    )
    filler_after: float = setting(
        3.0, "seconds without a sentence before the filler; at most 3600", metavar="SEC"
    )
    filler_message: str = setting(
        "",
        "host message sent with the filler, {alias} and {voice} filled in, e.g. "
        "MOTION_ADD|{alias}|think|motions/think.vmd|PART|ONCE (motions and captions only)",
        metavar="LINE",
        shown_default="none",
    )
    keep_emoji: bool = setting(False, "do not drop emoji from spoken text")
    gestures: Path | None = setting(
        None,
        "TOML file mapping [tags] in the reply to host messages and voices (see README)",
        metavar="FILE",
        shown_default="none",
    )
    describe_tags: str = setting(
        "auto",
        "add the gestures file's tags to the system prompt: auto (unless the prompt already "
        "names them all as [name]), always, never",
        choices=DESCRIBE_TAGS_CHOICES,
    )
    greeting: str = setting(
        "",
        "said once when the host is ready after start ([tags] allowed)",
        metavar="TEXT",
        shown_default="none",
    )
    greeting_prompt: str = setting(
        "",
        "instead of a fixed greeting, ask the model for one with this instruction",
        metavar="TEXT",
        shown_default="none",
    )
    idle_after: float = setting(
        0.0,
        "after this long with nobody speaking, ask the model for a short remark (0: never); "
        "the user starting to speak restarts the clock",
        metavar="SEC",
    )
    idle_prompt: str = setting(
        DEFAULT_IDLE_PROMPT,
        "the instruction that asks the model for a remark when nobody speaks",
        metavar="TEXT",
        shown_default="ask for one short friendly remark",
    )
    idle_max: int = setting(
        1, "remarks in a row while nobody speaks, before waiting for the user", metavar="N"
    )
    log_file: Path | None = setting(
        None,
        "also log to FILE (UTF-8): the only durable log under MMDAgent-EX",
        metavar="FILE",
        shown_default="none",
    )
    log_level: str = setting(
        "info",
        "how much to log: debug adds every state change and ignored line",
        choices=LOG_LEVELS,
    )
    record: Path | None = setting(
        None,
        "write every exchanged line with a timestamp to FILE (JSON lines), for replay",
        metavar="FILE",
        shown_default="none",
    )

    def api_key(self, environ: Mapping[str, str] | None = None) -> str | None:
        """Return the API key from the environment, without what was wrapped around it, or None.

        ``set OPENAI_API_KEY=sk-... `` in cmd.exe keeps the trailing space (and quotes, if
        typed); a key file or a paste may add a line break. No key has those, and any of them
        fails every request with a bare "Connection error.".
        """
        env = os.environ if environ is None else environ
        return clean_api_key(env.get(self.api_key_env) or "")[0] or None

    def api_key_problems(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """Say what is wrong with the key as it is set (never the key itself); empty if nothing."""
        env = os.environ if environ is None else environ
        return [
            f"{self.api_key_env} {problem}"
            for problem in clean_api_key(env.get(self.api_key_env) or "")[1]
        ]

    def resolved_prompt(self) -> str:
        """Return the system prompt, read from ``prompt_file`` when one is set.

        A byte order mark (Notepad's UTF-8) is dropped.

        Raises:
            ConfigError: If the file cannot be read or is not UTF-8 (saying to save it so).

        """
        if self.prompt_file is None:
            return self.system_prompt
        from fsm_agent.text.files import TextFileError, read_text_file

        try:
            return read_text_file(self.prompt_file, "the prompt file").strip()
        except TextFileError as exc:
            raise ConfigError(str(exc)) from None


SETTING_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Settings))

# White space (also the ideographic and no-break spaces), a byte order mark, a zero-width space
# and quotes: what a shell, an editor or a paste wraps around a key.
_KEY_WRAPPING = " \t\r\n\v\f\u00a0\u3000\ufeff\u200b\"'"


def clean_api_key(raw: str) -> tuple[str, list[str]]:
    """Remove what is wrapped around an API key, and say what is wrong with it.

    Args:
        raw: The value of the key's environment variable.

    Returns:
        The key without surrounding white space and quotes, and the problems found (phrases
        that follow the variable's name; they never contain the key).

    """
    key = raw.strip(_KEY_WRAPPING)
    problems: list[str] = []
    if key != raw:
        problems.append(
            "has white space or quotes around the key (as `set NAME=value ` in cmd.exe "
            "gives); they were removed"
        )
    if any(not ch.isascii() or not ch.isprintable() or ch.isspace() for ch in key):
        problems.append(
            "has white space, control or non-ASCII characters inside the key: no API key "
            "has those, so every request will fail; check the variable"
        )
    return key, problems
