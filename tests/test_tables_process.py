"""The event-sequence tables marked ``process = true``, run against the real ``fsm-agent`` process.

The same case files as ``test_tables.py``, a second runner: the process is started with
``--backend script:FILE``, the file holding, for each generation the pure run starts, the text of
that generation's ``chunk`` rows. The runner writes each ``host`` row to the process's stdin and
checks what the host would see, the sequence of lines printed, and the state the process ends in
(from its ``--log-level debug`` lines ``state -> NAME`` on stderr).

Only the final state is checked, not each row's: the process's reply stream and deadlines run on
their own threads and clock, so between two host rows it may already be further on than the
pure run's row says (the scripted stream has ended sooner, say), and where it is in between is
not observable without a race. For the same reason the final state expected is the last row's
once the reply stream has ended (:func:`settled_state`): a case that leaves its stream open ends
in Generating or Speaking in the pure run, but the scripted backend always ends its replies. The
history is not observable from outside at all; the pure runner checks it.

What keeps it deterministic without asserting any timing:

- The scripted backend streams a whole reply at once, so a sentence can be printed earlier than
  its chunk row; but a sentence is never printed before the STOP that releases it, and that STOP
  is a host row. So before writing each host row the runner waits (generously) until every line
  the rows before it expect has been printed, and compares that prefix.
- ``deadline`` rows are not acted on: the case's own (short) synth_timeout makes them happen.
  ``stale_*`` rows are the cancelled stream's business and are skipped; ``error`` rows cannot be
  played by the scripted backend and are refused.
- At the end the runner waits (generously) for the process to reach that state, then closes
  stdin; the process exits at end of input, everything it printed is compared with every row's
  ``out``, in order, and the last state it logged with that state.
"""

from __future__ import annotations

import dataclasses
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest
from agent_cli import clean_env
from table_runner import Case, case_settings, generations, host_bytes, load_cases, make_event

from fsm_agent.core.controller import Controller
from fsm_agent.core.events import StreamEnd

ROOT = Path(__file__).resolve().parent.parent
WAIT = 20.0
"""Seconds to wait for an expected line: generous, only ever reached when something is wrong."""

PROCESS_CASES = [c for c in load_cases() if c.process]
SKIPPED = ("stale_chunk", "stale_end")
PLAYABLE = ("host", "host_bytes", "chunk", "end", "deadline", *SKIPPED)


def script_for(case: Case) -> str:
    """The ``--backend script:`` file text: one reply per generation the case starts.

    Raises:
        ValueError: If the case cannot be played by the real process.

    """
    refused = sorted({r.kind for r in case.rows if r.kind not in PLAYABLE})
    if refused:
        raise ValueError(
            f"{case.where}: process = true, but rows of kind {refused} cannot be played"
        )
    replies = ["".join(row.value for row in rows) for rows in generations(case)]
    if not replies:
        raise ValueError(f"{case.where}: process = true, but no generation is started")
    for number, reply in enumerate(replies, 1):
        if not reply.strip() or any(line.strip() == "---" for line in reply.splitlines()):
            raise ValueError(f"{case.where}: generation {number} needs chunk text (and no ---)")
    return "\n---\n".join(replies) + "\n"


def command_for(case: Case, script: Path) -> list[str]:
    """The command line: the case's settings as flags, the script backend, quiet logging."""
    args = [sys.executable, "-m", "fsm_agent", "--backend", f"script:{script}"]
    settings = dict(case.settings)
    if not any(r.kind == "deadline" for r in case.rows):
        settings.setdefault("synth_timeout", 60.0)  # no deadline may decide a case without one
    for name, value in settings.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value is not False:
            args += [flag, str(value)]
    return [*args, "--log-level", "debug"]  # "state -> NAME" on every state change


_STATE = re.compile(r" fsm_agent\.controller: state -> (\w+)$", re.M)


def logged_state(log: Path) -> str:
    """The state the process last said it was in (Idle, where it starts, if it never moved)."""
    found = _STATE.findall(log.read_text(encoding="utf-8", errors="replace"))
    return found[-1] if found else "Idle"


def wait_for_state(log: Path, state: str, timeout: float = WAIT) -> bool:
    """Wait until the process has logged ``state`` as its latest; False if it never does."""
    end = time.monotonic() + timeout
    while logged_state(log) != state:
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def _environment() -> dict[str, str]:
    return clean_env(PYTHONPATH=str(ROOT))


class Child:
    """The fsm-agent process with its stdout read line by line on a thread."""

    def __init__(self, command: list[str], stderr: IO[bytes]) -> None:
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=ROOT,
            env=_environment(),
        )
        self.printed: list[str] = []
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self._lines.put(raw.decode("utf-8", errors="replace").rstrip("\n"))
        self._lines.put(None)

    def wait_for(self, count: int, timeout: float = WAIT) -> bool:
        """Wait until ``count`` lines have been printed; False if the time or the output ran out."""
        while len(self.printed) < count:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                return False
            if line is None:
                self._lines.put(None)
                return False
            self.printed.append(line)
        return True

    def send(self, raw: bytes) -> None:
        """Write one host line."""
        assert self.process.stdin is not None
        self.process.stdin.write(raw + b"\n")
        self.process.stdin.flush()

    def finish(self, timeout: float = WAIT) -> int | None:
        """Close stdin, collect the rest of the output, return the exit status (None: hung)."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            status = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None
        self._reader.join(timeout)
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                break
            if line is None:
                break
            self.printed.append(line)
        return status


def settled_state(case: Case) -> str:
    """The state the process must end in: the pure run's last, once its open stream has ended.

    The scripted backend ends every reply, so where the case leaves the current stream open
    (Generating or Speaking), the process goes one step further: Idle or Draining.
    """
    controller = Controller(case_settings(case))
    for row in case.rows:
        event = make_event(row, controller)
        if event is not None:
            controller.handle(event)
    if controller.state in ("Generating", "Speaking"):
        controller.handle(StreamEnd(controller.gen))
    return controller.state


def _report(case: Case, where: str, expected: list[str], child: Child, log: Path) -> str:
    stderr = log.read_text(encoding="utf-8", errors="replace")[-2000:]
    return (
        f"{case.path}: case {case.name!r} (real process), {where}:\n"
        f"  expected {expected}, then state {settled_state(case)}\n"
        f"  printed  {child.printed}, last state {logged_state(log)}\n"
        f"stderr of fsm-agent:\n{stderr}"
    )


def run_process_case(case: Case, workdir: Path) -> None:
    """Play the case's host rows to a real fsm-agent; check the lines it prints and its last state.

    Raises:
        AssertionError: When the printed lines differ from the rows' ``out``, the process does
            not end in the last row's state, or it hangs.

    """
    script = workdir / "replies.txt"
    script.write_text(script_for(case), encoding="utf-8")
    log = workdir / "stderr.txt"
    with log.open("wb") as stderr:
        child = Child(command_for(case, script), stderr)
        try:
            expected: list[str] = []
            for row in case.rows:
                if row.kind in ("host", "host_bytes"):
                    ready = child.wait_for(len(expected))
                    if not ready or child.printed[: len(expected)] != expected:
                        where = f"before row {row.number} ({row.describe()})"
                        raise AssertionError(_report(case, where, expected, child, log))
                    raw = host_bytes(row.value) if row.kind == "host_bytes" else row.value.encode()
                    child.send(raw)
                expected += row.out
            child.wait_for(len(expected))
            wait_for_state(log, settled_state(case))
            status = child.finish()
        finally:
            if child.process.poll() is None:
                child.process.kill()
                child.process.wait()
    final = logged_state(log)
    if child.printed != expected or status != 0 or final != settled_state(case):
        where = "at the end" if status == 0 else f"at the end (exit status {status})"
        raise AssertionError(_report(case, where, expected, child, log))


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in PROCESS_CASES])
def test_case_against_the_process(case: Case, tmp_path: Path) -> None:
    message = ""
    try:
        run_process_case(case, tmp_path)
    except AssertionError as failure:
        message = str(failure)
    if message:
        pytest.fail(message, pytrace=False)


def test_some_cases_run_against_the_process() -> None:
    topics = {c.path.stem for c in PROCESS_CASES}
    assert {"basics", "barge_in", "lost_stop", "bad_input"} <= topics, topics


def test_a_wrong_final_state_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = next(c for c in PROCESS_CASES if c.path.stem == "basics")
    monkeypatch.setitem(globals(), "settled_state", lambda c: "Draining")
    with pytest.raises(AssertionError, match="then state Draining"):
        run_process_case(case, tmp_path)


def test_the_settled_state_lets_the_open_stream_end() -> None:
    by_name = {c.name: c for c in PROCESS_CASES}
    open_stream = by_name["start: RECOG_EVENT_START stops the avatar while Speaking"]
    assert open_stream.rows[-1].state == "Generating" and settled_state(open_stream) == "Idle"
    ended = by_name["junk while Speaking releases nothing"]
    assert ended.rows[-1].state == "Idle" and settled_state(ended) == "Idle"


def test_a_wrong_line_is_caught(tmp_path: Path) -> None:
    case = next(c for c in PROCESS_CASES if c.path.stem == "basics")
    rows = list(case.rows)
    i = next(i for i, r in enumerate(rows) if r.out)
    rows[i] = dataclasses.replace(rows[i], out=("SYNTH_START|0|mei_voice_normal|wrong",))
    with pytest.raises(AssertionError, match="real process"):
        run_process_case(dataclasses.replace(case, rows=tuple(rows)), tmp_path)
