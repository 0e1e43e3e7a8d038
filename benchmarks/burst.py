"""How many connections and requests a burst of utterances costs (issue 13 item 9).

Run from the repository root:  python benchmarks/burst.py [--runs N]

Each run starts the real process under the simulated host against the loopback fake OpenAI
server, has one ordinary turn (so the client is ready and its connection open), then sends 50
``RECOG_EVENT_STOP`` lines: all in one write, or one every 2 ms (100 ms in all). Counted: the
TCP connections the server accepted and the requests it read after the first turn, and whether
the reply spoken last answers the last utterance. Before the runtime coalesced the starts of
streams, such a burst opened 45-49 connections.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fsm_agent.sim.host_process import HostProcess  # noqa: E402
from fsm_agent.sim.host_sim import HostSim  # noqa: E402
from fsm_agent.testing.fake_openai import FakeOpenAI  # noqa: E402

KEY = "sk-bench-not-a-real-key"


def spoken(host: HostProcess) -> list[str]:
    return [line.split("|", 3)[3] for line in host.child_lines if line.startswith("SYNTH_START|")]


def one_run(spacing: float | None) -> tuple[int, int, bool]:
    """Connections and requests after the first turn; whether the last utterance was answered."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "FSM_AGENT_"))}
    with FakeOpenAI(token_delay=0.001) as server:
        env.update(OPENAI_API_KEY=KEY, OPENAI_BASE_URL=server.base_url)
        sim = HostSim(chars_per_second=500.0, min_seconds=0.02)
        args = [sys.executable, "-m", "fsm_agent", "--voice", "slt_voice_normal"]
        host = HostProcess(args, sim, env=env, cwd=ROOT).start()
        try:
            host.say("hello")
            if not host.wait_until(lambda: len(spoken(host)) == 3, 60):
                raise RuntimeError("the first turn was not answered")
            connections, requests = server.connections_opened, len(server.chat_requests)
            lines = [f"RECOG_EVENT_STOP|number {n}" for n in range(1, 51)]
            if spacing is None:
                host.send_bytes("\n".join(lines).encode())
            else:
                for line in lines:
                    host.send(line)
                    time.sleep(spacing)
            host.wait_until(lambda: len(spoken(host)) >= 6, 60)
            host.wait_idle(timeout=60)
            answered = spoken(host)[-3] == "You said: number 50."
            return (
                server.connections_opened - connections,
                len(server.chat_requests) - requests,
                answered,
            )
        finally:
            host.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs per row (default: 5)")
    args = parser.parse_args()
    print(f"{'50 utterances':<18}{'connections':>12}{'requests':>10}  last answered")
    for name, spacing in (("in one write", None), ("2 ms apart", 0.002)):
        runs = [one_run(spacing) for _ in range(args.runs)]
        conns = sorted(r[0] for r in runs)
        reqs = sorted(r[1] for r in runs)
        print(
            f"{name:<18}{f'{conns[0]}-{conns[-1]}':>12}{f'{reqs[0]}-{reqs[-1]}':>10}"
            f"  {sum(r[2] for r in runs)}/{len(runs)}"
        )


if __name__ == "__main__":
    main()
