"""What a user feels over a real network: RECOG_EVENT_STOP to the first SYNTH_START.

Run from the repository root:  python benchmarks/network.py  (about 2 minutes)

Each program talks to its own TLS fake OpenAI server behind a relay (benchmarks/netlink.py) that
adds a round-trip time (default 60 ms; a new connection pays one more for the TCP handshake,
and TLS its own), a time to first token (default 250 ms) and a token interval (default 30 ms).
Programs: fsm-agent as it is (its first clause, "Hello there,", goes at its comma), fsm-agent
with --first-clause 0 (the whole first sentence, at its period), fsm-agent as it was before
(--first-clause 0 --hold-first-end: on the token after the period), and the MMDAgent-EX docs'
streaming sample (extracted at run time from ../shared/seeds/mmdagent-ex-chatgpt-en.md as
benchmarks/latency.py does; only its key line is changed, to read the environment).

Two rounds, each with fresh processes started 5 s before the first turn: the user's turns
without RECOG_EVENT_START, then with it 1.5 s before RECOG_EVENT_STOP. In a round each program
gets 8 turns exactly 7 s apart; the programs' turns are spread evenly over each 7 s, so they
alternate. Per program: the median time from RECOG_EVENT_STOP written to the first
SYNTH_START read, the TCP connections it opened, and the overhead above the earliest moment
its first unit could be known (the server's write of the token that completes it, plus the
one-way delay).
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from latency import sample_script  # noqa: E402
from netlink import Relay, TlsFakeServer, make_certificate  # noqa: E402

REPLY = (
    "Hello there, my friend. It is good to see you again today. What would you like to talk about?"
)
KEY = "sk-bench-not-a-real-key"
FSM = [sys.executable, "-m", "fsm_agent", "--lang", "en", "--voice", "slt_voice_normal"]


@dataclass
class Turn:
    """One measured turn."""

    stop: float  # RECOG_EVENT_STOP written
    first: float  # first SYNTH_START read
    text: str  # its text


@dataclass
class Program:
    """A submodule under a minimal host that speaks each SYNTH_START in ``speak`` seconds."""

    name: str
    args: list[str]
    server: TlsFakeServer
    relay: Relay
    cert: Path
    speak: float = 0.2
    turns: list[Turn] = field(default_factory=list)

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "FSM_AGENT_"))}
        env.update(
            OPENAI_API_KEY=KEY,
            OPENAI_BASE_URL=f"https://127.0.0.1:{self.relay.port}/v1",
            SSL_CERT_FILE=str(self.cert),
            PYTHONPATH=str(ROOT),
        )
        self.proc = subprocess.Popen(
            self.args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.lines: queue.SimpleQueue[tuple[float, str]] = queue.SimpleQueue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.put((time.perf_counter(), raw.decode("utf-8", "replace").rstrip("\n")))

    def send(self, line: str) -> float:
        assert self.proc.stdin is not None
        now = time.perf_counter()
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        return now

    def turn(self, speech_start: float | None) -> None:
        """Say something (RECOG_EVENT_START ``speech_start`` s before); speak the reply."""
        if speech_start is not None:
            self.send("RECOG_EVENT_START")
            time.sleep(speech_start)
        stop = self.send("RECOG_EVENT_STOP|hello")
        first: tuple[float, str] | None = None
        while True:
            t, line = self.lines.get(timeout=30)
            if not line.startswith("SYNTH_START"):
                continue
            if first is None:
                first = (t, line.split("|", 3)[3])
            alias = line.split("|")[1]
            self.send(f"SYNTH_EVENT_START|{alias}")
            time.sleep(self.speak)
            self.send(f"SYNTH_EVENT_STOP|{alias}")
            if line.rstrip().endswith("?"):  # the reply's last sentence
                break
        self.turns.append(Turn(stop, first[0], first[1]))

    def close(self) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(3)
        except (subprocess.TimeoutExpired, OSError):
            self.proc.kill()  # the sample never exits on end of input


def earliest(turn: Turn, writes: list[tuple[float, str]], one_way: float) -> float:
    """When the turn's first unit could first be known at the client: its last token's write
    plus the one-way delay."""
    want = "".join(turn.text.split())
    got = ""
    for written, token in writes:
        got += "".join(token.split())
        if got.startswith(want) or len(got) >= len(want):
            return written + one_way
    raise ValueError(f"{turn.text!r} is not in the reply")


def run_round(
    programs: dict[str, list[str]],
    speech_start: float | None,
    args: argparse.Namespace,
    cert: tuple[Path, Path],
) -> list[Program]:
    running = []
    for name, cmd in programs.items():
        server = TlsFakeServer(
            REPLY, cert, args.ttft / 1000, args.interval / 1000, args.server_idle
        )
        relay = Relay(server.port, args.rtt / 1000)
        running.append(Program(name, cmd, server, relay, cert[0]))
    for program in running:
        program.start()
    time.sleep(args.settle)  # the content loads; the user speaks some time later
    begin = time.perf_counter()
    offset = args.gap / len(running)  # the programs' turns are spread over each gap

    def talk(k: int, program: Program) -> None:
        for i in range(args.turns):
            due = begin + i * args.gap + k * offset
            while (left := due - time.perf_counter()) > 0:
                time.sleep(left)
            program.turn(speech_start)

    threads = [
        threading.Thread(target=talk, args=(k, p), daemon=True) for k, p in enumerate(running)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for program in running:
            program.close()
            program.relay.close()
            program.server.close()
    return running


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rtt", type=float, default=60.0, help="round-trip time, ms")
    parser.add_argument("--ttft", type=float, default=250.0, help="time to first token, ms")
    parser.add_argument("--interval", type=float, default=30.0, help="token interval, ms")
    parser.add_argument(
        "--server-idle", type=float, default=0.0, help="the server closes idle connections (s)"
    )
    parser.add_argument("--verbose", action="store_true", help="print every turn")
    parser.add_argument("--turns", type=int, default=8)
    parser.add_argument("--gap", type=float, default=7.0, help="seconds between turns")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds from start to turn 1")
    parser.add_argument("--first-clause", type=int, default=0, help="for the 2nd fsm-agent")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cert = make_certificate(Path(tmp))
        programs = {
            "fsm-agent": FSM,
            f"fsm-agent --first-clause {args.first_clause}": [
                *FSM,
                "--first-clause",
                str(args.first_clause),
            ],
            # The defaults before issue 14's last step: the first sentence whole, on the token
            # after its end.
            "fsm-agent (before)": [*FSM, "--first-clause", "0", "--hold-first-end"],
        }
        sample = sample_script(Path(tmp))
        if sample is not None:
            programs["MMDAgent-EX sample"] = [sys.executable, "-u", str(sample)]
        print(
            f"link: RTT {args.rtt:.0f} ms, time to first token {args.ttft:.0f} ms, token "
            f"interval {args.interval:.0f} ms; {args.turns} turns {args.gap:g} s apart; TLS"
        )
        if args.server_idle:
            print(f"the server closes a connection idle for {args.server_idle:g} s")
        print(f"reply: {REPLY!r}")
        for label, speech_start in (
            ("without RECOG_EVENT_START", None),
            ("with RECOG_EVENT_START 1.5 s before RECOG_EVENT_STOP", 1.5),
        ):
            done = run_round(programs, speech_start, args, cert)
            print(f"\n{label}:")
            print(
                f"  {'program':<28} {'median':>8} {'min':>6} {'max':>6} {'conns':>6} "
                f"{'earliest':>9} {'overhead':>9}  first unit"
            )
            medians = {}
            for p in done:
                firsts = [(t.first - t.stop) * 1000 for t in p.turns]
                writes = p.server.writes[-len(p.turns) :]
                one_way = args.rtt / 2000
                soonest = [
                    (earliest(t, w, one_way) - t.stop) * 1000
                    for t, w in zip(p.turns, writes, strict=True)
                ]
                over = [f - e for f, e in zip(firsts, soonest, strict=True)]
                medians[p.name] = statistics.median(firsts)
                if args.verbose:
                    pairs = ", ".join(
                        f"{f:.0f}/{e:.0f}" for f, e in zip(firsts, soonest, strict=True)
                    )
                    print(f"  {p.name}: per turn, first SYNTH_START/earliest (ms): {pairs}")
                print(
                    f"  {p.name:<28} {statistics.median(firsts):>5.0f} ms {min(firsts):>6.0f}"
                    f" {max(firsts):>6.0f} {p.relay.connections:>6}"
                    f" {statistics.median(soonest):>6.0f} ms"
                    f" {statistics.median(over):>6.1f} ms  {p.turns[-1].text!r}"
                )
            base = medians.get("MMDAgent-EX sample")
            if base:
                for name, value in medians.items():
                    if name != "MMDAgent-EX sample":
                        print(f"  {name}: {value / base:.2f} of the sample's median")


if __name__ == "__main__":
    main()
