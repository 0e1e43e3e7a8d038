"""``TerminalHost``, the chat's stand-in for MMDAgent-EX, with a fake text-to-speech program.

The fake program writes its process id and sentence to a log, then says nothing for a minute
(unless told to finish at once): a sentence is "being said" until the host cuts it off. Nothing
here measures time; the checks wait (generously) only for a process to start or end.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from fsm_agent.modes.chat_host import TerminalHost
from fsm_agent.modes.tts import TtsProgram

FAKE_TTS = """\
import sys, time
from pathlib import Path
log, text = Path(sys.argv[1]), sys.argv[-1]
with log.open("a", encoding="utf-8") as f:
    f.write(f"{__import__('os').getpid()} {text}\\n")
if not text.startswith("quick"):
    time.sleep(60)
"""


class Posted:
    """Collects what the host posts to the runtime, and lets a test wait for a count."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()

    def __call__(self, item: object) -> None:
        assert isinstance(item, bytes)
        with self._changed:
            self.lines.append(item.decode("utf-8").rstrip("\n"))
            self._changed.notify_all()

    def wait_for(self, count: int) -> list[str]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.lines) >= count, 30), self.lines
            return list(self.lines)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "spoken.txt"


@pytest.fixture
def program(tmp_path: Path, log: Path) -> TtsProgram:
    script = tmp_path / "fake_tts.py"
    script.write_text(FAKE_TTS, encoding="utf-8")
    return TtsProgram((sys.executable, str(script), str(log)))


def started(log: Path, count: int) -> list[tuple[int, str]]:
    """Wait until ``count`` sentences have started; return (pid, text) of each."""
    for _ in range(600):
        lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
        if len(lines) >= count:
            return [(int(pid), text) for pid, text in (line.split(" ", 1) for line in lines)]
        time.sleep(0.05)
    raise AssertionError(f"{count} sentences never started")


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


START = "SYNTH_EVENT_START|0"
STOP = "SYNTH_EVENT_STOP|0"


def test_a_new_sentence_cuts_the_old_one_off_stop_before_start(
    program: TtsProgram, log: Path
) -> None:
    posted, shown = Posted(), []
    host = TerminalHost("0", shown.append, posted, program)
    try:
        host.write("SYNTH_START|0|mei_voice_normal|One.")
        ((first, _),) = started(log, 1)
        assert posted.lines == [START] and host.speaking
        host.write("SYNTH_START|0|mei_voice_normal|Two.")
        # As MMDAgent-EX: the old sentence is cut off, its STOP first, then the new START.
        assert posted.lines == [START, STOP, START]
        assert not alive(first)
        second = started(log, 2)[1][0]
        assert alive(second)
    finally:
        host.close()
    assert not alive(second)  # nothing is left speaking after the chat
    assert posted.lines == [START, STOP, START]  # and the cut sentences post nothing late
    assert shown == ["One.", "Two."]


def test_synth_stop_cuts_the_sentence_and_its_stop_follows_once(
    program: TtsProgram, log: Path
) -> None:
    posted = Posted()
    host = TerminalHost("0", lambda text: None, posted, program)
    try:
        host.write("SYNTH_STOP|0")  # nothing being said: nothing follows
        assert posted.lines == []
        host.write("SYNTH_START|0|mei_voice_normal|One.")
        ((pid, _),) = started(log, 1)
        host.write("SYNTH_STOP|1")  # another character's
        assert alive(pid)
        host.write("SYNTH_STOP|0")
        assert posted.wait_for(2) == [START, STOP]
        assert not alive(pid) and not host.speaking
        host.write("SYNTH_STOP|0")  # no longer speaking
        host.write("SYNTH_START|0|mei_voice_normal|quick one.")
        assert posted.wait_for(4) == [START, STOP, START, STOP]  # ends by itself: one STOP
    finally:
        host.close()
    assert posted.lines == [START, STOP, START, STOP]


def test_other_characters_are_not_ours_to_speak(program: TtsProgram, log: Path) -> None:
    posted = Posted()
    host = TerminalHost("mei", lambda text: None, posted, program)
    host.write("SYNTH_START|0|mei_voice_normal|Not mine.")
    host.write("MOTION_ADD|mei|wave|wave.vmd")
    host.close()
    assert posted.lines == [] and not log.exists()


def test_without_a_program_each_sentence_ends_at_once() -> None:
    posted, shown = Posted(), []
    host = TerminalHost("0", shown.append, posted, None)
    host.write("SYNTH_START|0|v|One.")
    host.write("SYNTH_START|0|v|Two.")
    host.write("SYNTH_STOP|0")
    host.close()
    assert posted.lines == [START, STOP, START, STOP]
    assert shown == ["One.", "Two."]


def test_after_close_nothing_starts(program: TtsProgram, log: Path) -> None:
    posted = Posted()
    host = TerminalHost("0", lambda text: None, posted, program)
    host.close()
    host.write("SYNTH_START|0|v|Too late.")
    assert posted.lines == [] and not log.exists()


def test_a_program_that_cannot_start_still_ends_the_sentence(tmp_path: Path) -> None:
    posted = Posted()
    missing = TtsProgram((str(tmp_path / "no-such-program"),))
    host = TerminalHost("0", lambda text: None, posted, missing)
    host.write("SYNTH_START|0|v|One.")
    host.close()
    assert posted.lines == [START, STOP]


def test_a_failing_program_is_reported_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    script = tmp_path / "fails.py"
    script.write_text("import sys\nsys.exit(3)\n", encoding="utf-8")
    posted = Posted()
    host = TerminalHost("0", lambda text: None, posted, TtsProgram((sys.executable, str(script))))
    with caplog.at_level("WARNING", logger="fsm_agent.modes.chat"):
        host.write("SYNTH_START|0|v|One.")
        posted.wait_for(2)
        host.write("SYNTH_START|0|v|Two.")
        posted.wait_for(4)
        host.close()
    assert posted.lines == [START, STOP, START, STOP]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "exited with status 3" in warnings[0]
