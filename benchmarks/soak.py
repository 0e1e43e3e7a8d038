"""Soak: many turns of the real process with barge-ins and faults mixed in.

Run from the repository root:  python benchmarks/soak.py [--turns 1000]

The real ``fsm-agent`` process talks to the simulated MMDAgent-EX host (fsm_agent.sim.host_sim)
through real pipes, and to a loopback fake OpenAI server through the real ``openai`` client.
Every 7th turn is interrupted by the next utterance while it speaks; every 5th request fails
(HTTP 500 with no retry left, a cut stream, a malformed chunk, an error event, a 401 whose
message holds the key, in turn). A turn counts as answered when its own first sentence, or the
error reply, is spoken. Resident memory and thread count of the process are read as the soak
goes; they must stay flat. The key is recognisable, and searched for in everything the process
wrote: stdout, stderr and its log file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fsm_agent.sim.host_process import HostProcess  # noqa: E402
from fsm_agent.sim.host_sim import HostSim  # noqa: E402
from fsm_agent.testing.fake_openai import FakeOpenAI  # noqa: E402

KEY = "sk-soak-FSMSECRET-0a1b2c3d4e5f"
FAULTS: list[dict[str, object]] = [
    {"fault": 500},
    {"cut_after": 25},
    {"malformed_after": 25},
    {"error_event_after": 0},
    {"fault": "echo_key_in_error"},
]


def reply(messages: list[dict[str, str]]) -> str:
    text = messages[-1]["content"]
    if text.startswith("long"):
        return f"This one is long, {text}. " + "It goes on and on. " * 12
    return f"Answer to {text}. Short and done."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=1000)
    args = parser.parse_args()
    log_file = Path(tempfile.mkdtemp()) / "soak.log"
    with FakeOpenAI(reply=reply, token_delay=0.0) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "FSM_AGENT_"))}
        env.update(OPENAI_API_KEY=KEY, OPENAI_BASE_URL=server.base_url, PYTHONPATH=str(ROOT))
        cmd = [sys.executable, "-m", "fsm_agent", "--lang", "en", "--max-retries", "0"]
        cmd += ["--error-reply", "Sorry.", "--log-level", "info", "--stream-timeout", "5"]
        cmd += ["--log-file", str(log_file), "--history-turns", "6"]
        sim = HostSim(chars_per_second=2000.0, min_seconds=0.005, stop_latency=0.005)
        host = HostProcess(cmd, sim, env=env).start()
        proc = psutil.Process(host.proc.pid)  # type: ignore[union-attr]
        host.say("warm up")
        host.wait_until(lambda: len(host.child_lines) >= 1, 30)
        host.wait_idle(quiet=0.2, timeout=30)
        samples = [(0, proc.memory_info().rss, proc.num_threads())]
        every = max(1, args.turns // 4)
        t0 = time.perf_counter()
        unanswered: list[int] = []
        for i in range(args.turns):
            if i % 5 == 4:
                server.push(**FAULTS[(i // 5) % len(FAULTS)])  # type: ignore[arg-type]
            before = len(host.child_lines)
            barge = i % 7 == 6
            said = f"long {i}" if barge else f"turn {i}"
            host.say(said)

            def answered(b: int = before, said: str = said) -> bool:
                return any(
                    said + "." in line or said + "," in line or line.endswith("|Sorry.")
                    for line in host.child_lines[b:]
                )

            if not host.wait_until(answered, 30):
                unanswered.append(i)
                continue
            if not barge:  # a barge turn is interrupted by the next utterance while it speaks
                host.wait_idle(quiet=0.02, timeout=30)
            if (i + 1) % every == 0:
                samples.append((i + 1, proc.memory_info().rss, proc.num_threads()))
        host.wait_idle(quiet=0.3, timeout=30)
        took = time.perf_counter() - t0
        code = host.close()
        stops = sum(1 for line in host.child_lines if line.startswith("SYNTH_STOP"))
        sorry = sum(1 for line in host.child_lines if line.endswith("|Sorry."))
        texts = [host.stderr_text, log_file.read_text(encoding="utf-8"), *host.child_lines]
        leaked = sum(text.count("FSMSECRET") for text in texts)
        print(f"turns {args.turns} in {took:.0f} s against the real process")
        done = args.turns - len(unanswered)
        print(f"answered {done}/{args.turns}; unanswered: {unanswered[:10]}")
        print(f"barge-ins (SYNTH_STOP sent) {stops}; failed requests answered 'Sorry.' {sorry}")
        print(f"host rules broken {len(host.sim.violations)}; exit status {code}")
        opened, requests = server.connections_opened, len(server.chat_requests)
        print(f"TCP connections opened {opened} for {requests} requests")
        print(f"key found in stdout, stderr or the log: {leaked} times")
        print(f"    {'after turn':>10} {'RSS MiB':>8} {'threads':>8}")
        for turn, rss, threads in samples:
            print(f"    {turn:>10} {rss / 2**20:>8.1f} {threads:>8}")


if __name__ == "__main__":
    main()
