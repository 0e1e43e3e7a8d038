"""How long ``fsm-agent`` takes to exit after end of input, SIGTERM or Ctrl-C (SIGINT).

Run from the repository root:  python benchmarks/exit_time.py [--runs N]

Each row starts the real process against the loopback fake OpenAI server, brings it to a phase
(starting up; a reply streaming; a request waiting for headers that never come; idle; a
sentence being written to an output pipe the host does not read, issue 13 item 8), then stops
it and times how long until the process has exited, and with which status. The issue asks for
status 0 within one second; the tests check the status, this script the time. Signals are
POSIX-only here (on Windows only end of input is measured). With the output pipe full only a
signal can stop the process: end of input is not measured there.

The child runs as an installed copy would: from compiled bytecode (kept in a cache under the
temporary directory, warmed by one unmeasured run), even where ``PYTHONDONTWRITEBYTECODE`` is
set; without it every start compiles some 60 modules of fsm-agent from source (about 50 ms
more). The exit is waited for without polling (``Popen.wait`` with a timeout sleeps in steps of
up to 50 ms, which rounded every time up to its next step).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fsm_agent.testing.fake_openai import FakeOpenAI  # noqa: E402

KEY = "sk-bench-not-a-real-key"
PHASES = ("start-up", "streaming", "waiting for headers", "idle", "output pipe full")


def full_pipe() -> tuple[int, int]:
    """A pipe whose buffer is already full: the child's first write to it blocks."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    for size in (4096, 1):  # to the last byte: a short line must not fit either
        with contextlib.suppress(BlockingIOError):
            while True:
                os.write(write_end, b"x" * size)
    os.set_blocking(write_end, True)
    return read_end, write_end


LOG = Path(tempfile.gettempdir()) / "fsm-agent-exit-time.log"
BYTECODE = Path(tempfile.gettempdir()) / "fsm-agent-exit-time-bytecode"


def start(server: FakeOpenAI, stdout: int = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "FSM_AGENT_"))}
    env.update(OPENAI_API_KEY=KEY, OPENAI_BASE_URL=server.base_url)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(BYTECODE)
    LOG.unlink(missing_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "fsm_agent", "--log-level", "info", "--log-file", str(LOG)],
        stdin=subprocess.PIPE,
        stdout=stdout,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )


def reach(phase: str, proc: subprocess.Popen[bytes], server: FakeOpenAI) -> None:
    """Bring the process to ``phase``."""
    assert proc.stdin is not None
    if phase == "start-up":
        time.sleep(0.05)  # inside the imports, long before the ready line
        return
    if phase == "waiting for headers":
        server.push("no_answer")
    if phase != "idle":
        proc.stdin.write(b"RECOG_EVENT_STOP|talk to me\n")
        proc.stdin.flush()
    if phase in ("streaming", "output pipe full"):
        server.wait_until(lambda: server.active_streams >= 1, 20)
        if phase == "output pipe full":  # wait until the first sentence is being written
            while not (LOG.exists() and "say: Hello there." in LOG.read_text(encoding="utf-8")):
                time.sleep(0.02)
            time.sleep(0.2)
    elif phase == "waiting for headers":
        before = len(server.chat_requests)
        server.wait_until(lambda: len(server.chat_requests) > before, 20)
    else:
        time.sleep(1.5)  # start-up done, nothing going on


def stop(how: str, proc: subprocess.Popen[bytes]) -> tuple[float, int]:
    """Stop the process; return (seconds until it exited, status)."""
    began = time.perf_counter()
    if how == "end of input":
        assert proc.stdin is not None
        proc.stdin.close()
    else:
        proc.send_signal(signal.SIGTERM if how == "SIGTERM" else signal.SIGINT)
    status = wait_exit(proc)
    return time.perf_counter() - began, status


def wait_exit(proc: subprocess.Popen[bytes], limit: float = 30.0) -> int:
    """Wait for the exit without polling; kill the process after ``limit`` seconds."""
    killer = threading.Timer(limit, proc.kill)
    killer.start()
    try:
        return proc.wait()
    finally:
        killer.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs per row (default: 5)")
    args = parser.parse_args()
    ways = ["end of input"] if sys.platform == "win32" else ["end of input", "SIGTERM", "SIGINT"]
    print(f"{'phase':<22}{'stopped by':<14}{'median ms':>10}{'max ms':>9}  statuses")
    with FakeOpenAI(reply="Hello there. " + "word " * 5000, token_delay=0.05) as server:
        warm_up = start(server)  # fills the bytecode cache
        assert warm_up.stdin is not None
        warm_up.stdin.close()
        wait_exit(warm_up)
        for phase in PHASES if sys.platform != "win32" else PHASES[:-1]:
            for how in ways:
                if phase == "output pipe full" and how == "end of input":
                    continue
                times, statuses = [], set()
                for _ in range(args.runs):
                    server.wait_until(lambda: server.active_streams == 0, 20)  # the last run's
                    read_end, write_end = full_pipe() if phase == PHASES[-1] else (-1, -1)
                    proc = start(server, write_end if write_end >= 0 else subprocess.DEVNULL)
                    if write_end >= 0:
                        os.close(write_end)
                    reach(phase, proc, server)
                    seconds, status = stop(how, proc)
                    if read_end >= 0:
                        os.close(read_end)
                    times.append(seconds * 1000)
                    statuses.add(status)
                print(
                    f"{phase:<22}{how:<14}{statistics.median(times):>10.0f}{max(times):>9.0f}"
                    f"  {sorted(statuses)}"
                )


if __name__ == "__main__":
    main()
