"""The gestures file: what each ``[tag]`` of the reply makes the avatar do, declared as data.

A TOML file beside the content's .mdf (``--gestures FILE``)::

    [tags.happy]
    describe = "when you are glad"       # tells the model when to use the tag
    voice = "mei_voice_happy"            # the sentence the tag stands in is spoken with it
    send = ["MOTION_ADD|{alias}|emotion|motions/happy.vmd|PART|ONCE"]

The lines of ``send`` are written by the content's author and checked here, at start: one line
each, no control characters, a message type the host may safely be sent, and no placeholder
but ``{alias}`` (our model alias) and ``{voice}`` (the voice of the sentence). Nothing the model
writes ever enters them: a tag's name only chooses which lines go out. The types that appear
in the file, with ``SYNTH_START`` and ``SYNTH_STOP``, are the only ones fsm-agent prints.

A tag named ``thinking`` is what the filler sends while a model thinks (see :data:`THINKING`);
a tag without ``describe`` is not offered to the model.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import regex

from fsm_agent.core.protocol import MAX_LINE_BYTES, sanitize_field
from fsm_agent.core.settings import ConfigError
from fsm_agent.text.tags import MAX_TAG_NAME, TAG_NAME, tag_key

__all__ = [
    "FORBIDDEN_TYPES",
    "THINKING",
    "Gesture",
    "Gestures",
    "GesturesError",
    "check_line",
    "forbidden",
    "load_gestures",
    "parse_gestures",
    "prompt_with_tags",
]

THINKING = "thinking"
"""The tag whose lines (and voice) the filler uses while the model is thinking."""

SPEECH_TYPES = frozenset({"SYNTH_START", "SYNTH_STOP"})
"""What fsm-agent prints with no gestures file."""

FORBIDDEN_TYPES = frozenset(
    {
        # PROTOCOL.md, "Messages that must never come out of LLM text", and their kin
        "KEYVALUE_SET",  # the host opens the URL or file
        "EXECUTE",  # starts a program
        "KEY_POST",  # keystrokes to other windows
        "OPEN_CONTENT",
        "FST_LOAD",  # a script that can send anything
        "NETWORK_GET",  # downloads to any path
        "INFOTEXT_FILE",  # shows any file
        "LOG_START",
        "LOG_FINISH",
        "LOG_UPLOAD",
        "PLUGIN_DISABLE",  # e.g. silences the avatar
        "PLUGIN_ENABLE",
        "KEY",  # a key press the content's script reacts to
        # ours alone: a second SYNTH_START cuts the sentence being spoken off
        *SPEECH_TYPES,
    }
)
"""Message types a gestures file may not send (also every ``SUBFST_*``, ``REMOTEKEY_*``,
``RECOG_*``, ``PLUGIN_*``, ``LOG_*``, ``SYNTH_*`` and every ``*_EVENT*``: events are the host's,
and a faked one misleads the content's script, or comes back to fsm-agent as if the user had
spoken)."""

_FORBIDDEN_PREFIXES = ("SUBFST_", "REMOTEKEY_", "RECOG_", "PLUGIN_", "LOG_", "SYNTH_")
_TYPE = regex.compile(r"[A-Z][A-Z0-9_]*")
_UNSAFE = regex.compile(r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Cn}]")
_PLACEHOLDER = regex.compile(r"\{([^{}]*)\}")
_PLACEHOLDERS = ("alias", "voice")
_LONGEST_VALUE = 100  # bytes: the longest alias or voice a setting may have
_TAG_KEYS = ("describe", "voice", "send")
_PROMPT_HEAD = (
    "You can also show feelings and gestures: write one of these tags in square brackets at the "
    "start of the sentence it belongs to, for example {example}. Tags are not spoken. Use only "
    "these, at most one per sentence:"
)


class GesturesError(ConfigError):
    """The gestures file cannot be used; the message says where and why, in one line."""


def forbidden(kind: str) -> bool:
    """Whether a gestures file may not send messages of type ``kind``."""
    return kind in FORBIDDEN_TYPES or kind.startswith(_FORBIDDEN_PREFIXES) or "_EVENT" in f"_{kind}"


@dataclass(frozen=True, slots=True)
class Gesture:
    """What one tag does.

    Attributes:
        name: The tag's name as compared (lower case).
        describe: When the model should use it ("" for a tag the model is not told of).
        voice: The voice of the sentence the tag stands in (None: the usual voice).
        send: Host lines, with ``{alias}`` and ``{voice}`` still to fill in.

    """

    name: str
    describe: str = ""
    voice: str | None = None
    send: tuple[str, ...] = ()


@dataclass(frozen=True)
class Gestures:
    """The tags a content defines, by name (lower case). Empty when there is no file."""

    tags: Mapping[str, Gesture] = field(default_factory=dict)

    def get(self, name: str) -> Gesture | None:
        """The tag named ``name`` (any case), or None when the file does not define it."""
        return self.tags.get(tag_key(name))

    def lines(self, name: str, alias: str, voice: str) -> list[str]:
        """The host lines tag ``name`` sends, filled in; none for a tag not defined.

        Args:
            name: The tag's name.
            alias: Our model alias.
            voice: The voice of the sentence the tag stands in (the tag's own voice if it
                has one, else the usual one).

        """
        gesture = self.get(name)
        if gesture is None:
            return []
        values = {"alias": sanitize_field(alias), "voice": sanitize_field(voice)}
        return [_PLACEHOLDER.sub(lambda m: values[m.group(1)], line) for line in gesture.send]

    def voice(self, name: str) -> str | None:
        """The voice tag ``name`` gives its sentence, or None."""
        gesture = self.get(name)
        return gesture.voice if gesture else None

    def allowed_types(self) -> frozenset[str]:
        """Every message type fsm-agent may print with this file."""
        types = {line.split("|", 1)[0] for g in self.tags.values() for line in g.send}
        return SPEECH_TYPES | types

    def described(self) -> list[Gesture]:
        """The tags offered to the model (those with a ``describe``), in file order."""
        return [g for g in self.tags.values() if g.describe]


def prompt_with_tags(prompt: str, gestures: Gestures, mode: str = "auto") -> str:
    """Add the list of tags the model may use to the system prompt.

    Args:
        prompt: The author's system prompt.
        gestures: The tags; only those with a ``describe`` are listed.
        mode: ``always`` adds the list; ``never`` leaves the prompt as it is; ``auto`` adds it
            unless the prompt already names every listed tag as ``[name]``.

    Returns:
        The prompt to send (the same prompt again gives the same result).

    """
    offered = gestures.described()
    if not offered or mode == "never":
        return prompt
    folded = prompt.casefold()
    if mode == "auto" and all(f"[{g.name}]" in folded for g in offered):
        return prompt
    lines = [_PROMPT_HEAD.format(example=f"[{offered[0].name}]")]
    lines += [f"[{g.name}]: {g.describe}" for g in offered]
    block = "\n".join(lines)
    if block in prompt:
        return prompt  # added already (a history kept from before)
    return "\n\n".join(part for part in (prompt.strip(), block) if part)


def load_gestures(path: Path) -> Gestures:
    """Read and check a gestures file (UTF-8, a BOM and CRLF line ends are fine).

    Raises:
        GesturesError: If it cannot be read, is not TOML, or any entry cannot work.

    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise GesturesError(f"cannot read the gestures file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise GesturesError(f"the gestures file {path} is not UTF-8: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GesturesError(f"the gestures file {path} is not valid TOML: {exc}") from exc
    return parse_gestures(data, str(path))


def parse_gestures(data: Mapping[str, Any], source: str = "gestures") -> Gestures:
    """Check the parsed TOML of a gestures file and build the tags.

    Args:
        data: The file's tables: ``{"tags": {name: {describe, voice, send}}}``.
        source: How messages name the file.

    Raises:
        GesturesError: Naming the file, the tag and what is wrong.

    """
    unknown = [key for key in data if key != "tags"]
    if unknown:
        raise GesturesError(f"{source}: unknown key {unknown[0]!r} (only [tags.NAME] tables)")
    tags = data.get("tags", {})
    if not isinstance(tags, Mapping):
        raise GesturesError(f"{source}: tags must be tables, [tags.NAME]")
    out: dict[str, Gesture] = {}
    for name, spec in tags.items():
        where = f"{source}: tag {name!r}"
        key = tag_key(name)
        if not TAG_NAME.fullmatch(name):
            raise GesturesError(
                f"{where}: a tag name is 1 to {MAX_TAG_NAME} letters, digits, '_' or '-'"
            )
        if key in out:
            raise GesturesError(f"{where} is defined twice (names ignore case)")
        if not isinstance(spec, Mapping):
            raise GesturesError(f"{where} must be a table, [tags.{name}]")
        extra = [k for k in spec if k not in _TAG_KEYS]
        if extra:
            raise GesturesError(f"{where}: unknown key {extra[0]!r} (describe, voice, send)")
        out[key] = Gesture(
            key,
            _text(spec.get("describe", ""), f"{where}: describe"),
            _voice(spec.get("voice"), where),
            tuple(check_line(line, where) for line in _list(spec.get("send", []), where)),
        )
    return Gestures(out)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise GesturesError(f"{where} must be a string")
    return " ".join(value.split())


def _voice(value: Any, where: str) -> str | None:
    if value is None:
        return None
    voice = _text(value, f"{where}: voice")
    if not voice or sanitize_field(voice) != voice or " " in voice:
        raise GesturesError(f"{where}: voice must be one word without '|' or control characters")
    if len(voice.encode("utf-8")) > _LONGEST_VALUE:
        raise GesturesError(f"{where}: voice must be at most {_LONGEST_VALUE} bytes long")
    return voice


def _list(value: Any, where: str) -> list[Any]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise GesturesError(f"{where}: send must be a list of host lines")
    return value


def check_line(line: Any, where: str) -> str:
    """Check one host line a content author asks fsm-agent to send, and return it stripped.

    For the ``send`` lines of a gestures file, and any other configured host message.

    Args:
        line: The line, with ``{alias}`` and ``{voice}`` still to fill in.
        where: Names the setting or entry in the error message.

    Raises:
        GesturesError: If the line is not one safe host message (one line).

    """
    if not isinstance(line, str) or not line.strip():
        raise GesturesError(f"{where}: each line of send must be a non-empty string")
    line = line.strip()
    if _UNSAFE.search(line):
        raise GesturesError(f"{where}: {line!r} holds a line break or control character")
    kind = line.split("|", 1)[0]
    if not _TYPE.fullmatch(kind):
        raise GesturesError(
            f"{where}: {line!r} does not start with a message type (MOTION_ADD|...)"
        )
    if forbidden(kind):
        hint = " (give the tag a voice instead)" if kind in SPEECH_TYPES else ""
        raise GesturesError(
            f"{where}: fsm-agent never sends {kind}: it is not safe to send from a reply{hint}"
        )
    bad = [m.group(0) for m in _PLACEHOLDER.finditer(line) if m.group(1) not in _PLACEHOLDERS]
    if bad or "{" in _PLACEHOLDER.sub("", line) or "}" in _PLACEHOLDER.sub("", line):
        shown = bad[0] if bad else "a lone brace"
        raise GesturesError(
            f"{where}: {line!r} has {shown}; only {{alias}} and {{voice}} are filled in"
        )
    fills = len(_PLACEHOLDER.findall(line))
    if len(line.encode("utf-8")) + fills * _LONGEST_VALUE > MAX_LINE_BYTES:
        raise GesturesError(f"{where}: a line of send is longer than the host reads")
    return line
