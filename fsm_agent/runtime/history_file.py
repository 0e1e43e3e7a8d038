"""``--history-file FILE``: the conversation kept on disk, so that a restart remembers it.

MMDAgent-EX ends its children with SIGKILL (PROTOCOL.md), so each record is written and flushed
the moment it exists; nothing waits for an orderly exit. One JSON object per line, UTF-8:

- ``{"n": 3, "user": "...", "assistant": "...", "at": "2026-12-02T05:40:01Z"}``: a turn, with
  what the user said and what of the reply the user heard; ``"interrupted": true`` when the
  user cut it off;
- ``{"summary": "...", "through": 12}``: the running summary (``--summarize``), covering the
  turns up to number 12; the last one in the file counts.

The API key is never written (any registered secret is redacted). On load a line that is cut
off (a kill in the middle of a write) or not a record is skipped with a warning; a BOM, CRLF
line endings and UTF-16 (the file saved by Notepad) are fine; ``n`` may be left out of
hand-written lines. The file is rewritten, whole and compacted, when it holds such lines or much
that is no longer kept; the rewrite goes to a temporary file first, so a kill leaves the old file
intact, and unreadable lines other than a cut last one are kept in ``<file>.skipped``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fsm_agent.core.history import History, Turn
from fsm_agent.core.settings import ConfigError, Settings
from fsm_agent.runtime.logs import redact

log = logging.getLogger("fsm_agent.runtime.history_file")

_SPARE_RECORDS = 20
"""Records the file may hold beyond the kept ones before a load compacts it."""


@dataclass
class Saved:
    """What a history file held.

    Attributes:
        turns: The turns the summary does not cover, oldest first.
        summary: The last running summary ("" for none).
        records: How many records the file held.
        untidy: The file had lines to skip, no final line break, a BOM, CRLF endings or
            UTF-16 (Notepad's "Unicode").
        skipped: The lines skipped, as they were, but for a last line without a line break
            (the mark of a kill in the middle of a write); kept aside when the file is
            rewritten.

    """

    turns: list[Turn] = field(default_factory=list)
    summary: str = ""
    records: int = 0
    untidy: bool = False
    skipped: list[bytes] = field(default_factory=list)


def parse(data: bytes, name: str = "the history file") -> Saved:
    """Read the records of a history file; bad lines are skipped with a warning each.

    Args:
        data: The file's bytes.
        name: How warnings name the file.

    Returns:
        The turns not covered by the last summary, and that summary.

    """
    saved = Saved()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        saved.untidy = True
    elif data.startswith(
        (b"\xff\xfe", b"\xfe\xff")
    ):  # Notepad's "Unicode" and "Unicode big endian"
        data = data.decode("utf-16", errors="replace").encode("utf-8")
        saved.untidy = True
    saved.untidy |= b"\r" in data or (bool(data) and not data.endswith(b"\n"))
    through = 0
    turns: list[Turn] = []
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, 1):
        cut = number == len(lines)  # after the last line break: a write cut short
        raw = raw.strip(b"\r \t")
        if not raw:
            continue
        record = _record(raw)
        if record is None:
            log.warning("%s, line %d: cut off or not a record; skipped", name, number)
            saved.untidy = True
            if not cut:
                saved.skipped.append(raw)
            continue
        saved.records += 1
        if isinstance(record, Turn):
            if record.n <= 0:
                record.n = (turns[-1].n if turns else through) + 1
            turns.append(record)
        else:
            saved.summary, through = record
            if through <= 0:  # hand-written: it covers what came before it
                through = turns[-1].n if turns else 0
    saved.turns = [t for t in turns if t.n > through]
    return saved


def _record(raw: bytes) -> Turn | tuple[str, int] | None:
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(obj, dict):
        return None
    n = obj.get("n", obj.get("through", 0))
    if not isinstance(n, int) or isinstance(n, bool):
        return None
    if isinstance(obj.get("summary"), str):
        return obj["summary"].strip(), n
    user, assistant = obj.get("user"), obj.get("assistant")
    if not isinstance(user, str) or not isinstance(assistant, str) or not user.strip():
        return None
    return Turn(user.strip(), assistant.strip(), n, obj.get("interrupted") is True)


class HistoryFile:
    """The history file, open for appending; every method is safe to call after a failure.

    A write that fails (disk full, file removed, no permission) is logged once and the
    conversation goes on in memory.

    Args:
        path: The file.

    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None
        self._warned = False

    def load(self) -> Saved:
        """Read the file (a missing one is an empty conversation).

        Raises:
            ConfigError: When the file exists but cannot be read (a folder, no permission).

        """
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return Saved()
        except OSError as exc:
            raise ConfigError(
                f"cannot read the history file {self.path}: {exc.strerror or exc}"
            ) from None
        return parse(data, str(self.path))

    def open(self, history: History, saved: Saved) -> None:
        """Open for appending; first rewrite the file if it is untidy or mostly stale.

        Args:
            history: The conversation as loaded (and trimmed).
            saved: What :meth:`load` returned.

        Raises:
            ConfigError: When the file cannot be created or written.

        """
        kept = len(history.turns) + len(history.pending) + bool(history.summary)
        tidy = not saved.untidy
        if saved.untidy or saved.records > 2 * kept + _SPARE_RECORDS:
            tidy = (self._set_aside(saved.skipped) and self._rewrite(history)) or tidy
        try:
            if self.path.parent != Path():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
            if not tidy:  # a cut last line must not swallow the next record
                self._file.write(b"\n")  # (blank lines are skipped)
                self._file.flush()
        except OSError as exc:
            raise ConfigError(
                f"cannot write the history file {self.path}: {exc.strerror or exc}"
            ) from None

    def add_turn(self, n: int, user: str, assistant: str, *, interrupted: bool = False) -> None:
        """Append one turn and flush it."""
        record: dict[str, Any] = {"n": n, "user": user, "assistant": assistant}
        if interrupted:
            record["interrupted"] = True
        record["at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self._write([record])

    def add_summary(self, text: str, through: int) -> None:
        """Append the running summary and flush it."""
        self._write([{"summary": text, "through": through}])

    def clear(self) -> None:
        """Empty the file: the conversation is forgotten."""
        self.close()
        try:
            self._file = self.path.open("wb")
        except OSError as exc:
            self._failed("empty", exc)

    def close(self) -> None:
        """Close the file (records already written stay)."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    def _write(self, records: list[dict[str, Any]]) -> None:
        if self._file is None:
            return
        data = "".join(_line(r) for r in records).encode("utf-8")
        try:
            self._file.write(data)
            self._file.flush()  # in the OS's hands: a SIGKILL of ours no longer loses it
        except (OSError, ValueError) as exc:  # ValueError: the file was closed under us
            self._failed("write", exc)

    def _set_aside(self, lines: list[bytes]) -> bool:
        """Keep skipped lines in ``<file>.skipped`` before a rewrite drops them.

        Returns:
            Whether the file may be rewritten (nothing to keep, or it was kept).

        """
        if not lines:
            return True
        aside = self.path.with_name(self.path.name + ".skipped")
        try:
            with aside.open("ab") as out:
                out.write(b"".join(line + b"\n" for line in lines))
        except OSError as exc:
            self._failed("set lines aside for", exc)
            return False
        log.warning("%d unreadable lines of %s kept in %s", len(lines), self.path, aside)
        return True

    def _rewrite(self, history: History) -> bool:
        records: list[dict[str, Any]] = []
        if history.summary:
            through = min((t.n for t in [*history.pending, *history.turns]), default=1) - 1
            records.append({"summary": history.summary, "through": through})
        for turn in [*history.pending, *history.turns]:
            record: dict[str, Any] = {"n": turn.n, "user": turn.user, "assistant": turn.assistant}
            if turn.interrupted:
                record["interrupted"] = True
            records.append(record)
        temp = self.path.with_name(self.path.name + ".tmp")
        try:
            temp.write_bytes("".join(_line(r) for r in records).encode("utf-8"))
            os.replace(temp, self.path)
        except OSError as exc:
            self._failed("rewrite", exc)
            return False
        log.info("history file %s rewritten with %d records", self.path, len(records))
        return True

    def _failed(self, what: str, exc: OSError | ValueError) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "cannot %s the history file %s: %s; the conversation goes on in memory",
                what,
                self.path,
                getattr(exc, "strerror", None) or exc,
            )


def _line(record: dict[str, Any]) -> str:
    return redact(json.dumps(record, ensure_ascii=False)) + "\n"


def open_history_file(path: Path | None, history: History) -> HistoryFile | None:
    """Load the conversation from ``path`` into ``history`` and open the file for the rest.

    Args:
        path: The history file (``history_file``), or None for none.
        history: The empty conversation; trimmed by its limits after loading.

    Returns:
        The open file, or None without a path.

    Raises:
        ConfigError: When the file cannot be read or written.

    """
    if path is None:
        return None
    memory = HistoryFile(path)
    saved = memory.load()
    history.load(saved.turns, saved.summary)
    memory.open(history, saved)
    if saved.turns or saved.summary:
        log.info(
            "history file %s: %d turns remembered%s",
            path,
            len(history.turns),
            ", with a summary" if history.summary else "",
        )
    return memory


def remembered_history(settings: Settings) -> tuple[History, HistoryFile | None]:
    """The conversation to start with: empty, or loaded from ``settings.history_file``.

    Returns:
        The history, and the open history file (None without one).

    Raises:
        ConfigError: When the history file cannot be read or written.

    """
    history = History(
        settings.system_prompt,
        settings.history_turns,
        settings.history_tokens,
        summarize=settings.summarize,
    )
    return history, open_history_file(settings.history_file, history)
