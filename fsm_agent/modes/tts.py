"""Local text-to-speech programs for ``chat --speak``: which one to use and how to call it.

Each program must say one sentence and exit when it has finished (that exit is the chat's
``SYNTH_EVENT_STOP``), and stop at once when it is terminated. Found in this order: espeak-ng,
espeak, speech-dispatcher's ``spd-say --wait``, ``say`` on macOS, and Windows PowerShell's
System.Speech on Windows. ``--tts-command`` names any other program instead.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fsm_agent.core.settings import ConfigError

__all__ = ["TEXT_VARIABLE", "TtsProgram", "find_tts", "tts_from_command"]

Which = Callable[[str], str | None]

TEXT_VARIABLE = "FSM_AGENT_SENTENCE"
"""The environment variable that carries the sentence to PowerShell (no quoting, any script)."""

_POWERSHELL_SAY = (
    "Add-Type -AssemblyName System.Speech; "
    "$s = New-Object System.Speech.Synthesis.SpeechSynthesizer; "
    f"$s.Speak($env:{TEXT_VARIABLE})"
)

NOT_FOUND = (
    "--speak found no text-to-speech program: install espeak-ng "
    "(https://github.com/espeak-ng/espeak-ng) or speech-dispatcher (spd-say), "
    "or name one with --tts-command"
)


@dataclass(frozen=True)
class TtsProgram:
    """How to speak one sentence with one program.

    Attributes:
        argv: The program and its options, without the sentence.
        kind: ``espeak``, ``spd-say``, ``say``, ``powershell`` or ``command`` (``--tts-command``).
        cancel: A command that silences speech the program handed to a daemon (``spd-say -C``:
            terminating ``spd-say`` alone leaves speech-dispatcher talking), or empty.

    """

    argv: tuple[str, ...]
    kind: str = "command"
    cancel: tuple[str, ...] = field(default=())

    def command(self, text: str) -> list[str]:
        """The command line that says ``text``.

        The sentence is the last argument, except for PowerShell, which reads it from
        :data:`TEXT_VARIABLE` (see :meth:`environment`). A sentence such as ``-5 degrees`` gets
        a leading space so that it is not read as an option.
        """
        words = list(self.argv)
        if self.kind == "powershell":
            return words
        words += _voice_options(self.kind, text)
        words.append(" " + text if text.startswith("-") else text)
        return words

    def environment(self, text: str) -> dict[str, str] | None:
        """The child's environment: None (inherit) except for PowerShell, which gets the text."""
        if self.kind != "powershell":
            return None
        return {**os.environ, TEXT_VARIABLE: text}


def _voice_options(kind: str, text: str) -> list[str]:
    """Pick a voice from the script of the sentence (espeak and spd-say default to English)."""
    if kind not in ("espeak", "spd-say"):
        return []
    if any("\u3040" <= ch <= "\u30ff" for ch in text):
        lang = "ja"
    elif any("\uac00" <= ch <= "\ud7af" for ch in text):
        lang = "ko"
    elif any("\u4e00" <= ch <= "\u9fff" for ch in text):
        lang = "cmn" if kind == "espeak" else "zh"
    else:
        return []
    return ["-v", lang] if kind == "espeak" else ["-l", lang]


def tts_from_command(command: str, which: Which = shutil.which) -> TtsProgram:
    """The program named by ``--tts-command`` (split like a command line, no shell).

    Raises:
        ConfigError: When the program cannot be found.

    """
    words = shlex.split(command, posix=os.name != "nt")
    found = which(words[0]) if words else None
    if found is None:
        raise ConfigError(f"--tts-command: cannot find the program {words[:1] or ['']}")
    kind = "espeak" if len(words) == 1 and Path(words[0]).name.startswith("espeak") else "command"
    return TtsProgram((found, *words[1:]), kind)


def find_tts(which: Which = shutil.which, platform: str = sys.platform) -> TtsProgram:
    """The first local text-to-speech program there is.

    Args:
        which: Finds a program on PATH (``shutil.which``).
        platform: ``sys.platform``.

    Returns:
        The program.

    Raises:
        ConfigError: When there is none, in one line that says what to install.

    """
    for name in ("espeak-ng", "espeak"):
        if (path := which(name)) is not None:
            return TtsProgram((path,), "espeak")
    if (path := which("spd-say")) is not None:
        return TtsProgram((path, "--wait"), "spd-say", cancel=(path, "--cancel"))
    if platform == "darwin" and (path := which("say")) is not None:
        return TtsProgram((path,), "say")
    if platform == "win32":
        for name in ("powershell", "pwsh"):
            if (path := which(name)) is not None:
                argv = (path, "-NoProfile", "-NonInteractive", "-Command", _POWERSHELL_SAY)
                return TtsProgram(argv, "powershell")
    raise ConfigError(NOT_FOUND)
