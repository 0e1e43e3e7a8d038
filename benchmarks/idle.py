"""Idle cost of the AnyScript process, without and with the openai client loaded.

``python benchmarks/idle.py``: each process is started, left 4 s to finish starting (the
openai backend imports its client on a thread of its own), then watched idle for 5 s: CPU time
used, resident memory, threads. The echo backend never loads the client; the openai backend is
pointed at a port nothing listens on and asked nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "--backend echo": ["--backend", "echo"],
    "openai backend, no request": ["--base-url", "http://127.0.0.1:9/v1"],
}


def idle(flags: list[str], start: float = 4.0, seconds: float = 5.0) -> tuple[float, float, int]:
    """(CPU ms, RSS MiB, threads) of an idle ``fsm-agent FLAGS`` process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "fsm_agent", *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        time.sleep(start)
        watched = psutil.Process(proc.pid)
        before = watched.cpu_times()
        time.sleep(seconds)
        after = watched.cpu_times()
        cpu = (after.user + after.system - before.user - before.system) * 1e3
        return cpu, watched.memory_info().rss / 2**20, watched.num_threads()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)


def main() -> None:
    """Print one line per case."""
    print(f"idle for 5 s after 4 s to start; Python {sys.version.split()[0]}")
    for name, flags in CASES.items():
        cpu, rss, threads = idle(flags)
        print(f"{name:28} {cpu:6.1f} ms CPU  RSS {rss:5.1f} MiB  {threads} threads")


if __name__ == "__main__":
    main()
