"""How soon ``fsm-agent`` answers a barge-in while it works through one huge reply chunk.

Run from the repository root:  python benchmarks/huge_chunk.py [--runs N] [--mb M]

Issue 13 item 3: a 5 MB server-sent event blocked the loop, and a barge-in two seconds in was
answered 5-7 s later. The runtime now hands a piece to the controller in slices of at most
``MAX_CHUNK_CHARS`` characters, never more than that waiting in the loop's queue, so a host
event waits for one slice's work at most. Each run starts the real process against the
loopback fake OpenAI server, whose reply to the first utterance is one event of M MB of
sentences; the host (the simulator) barges in two seconds after the first sentence with a new
utterance, and the time until our ``SYNTH_STOP`` line is read, and until the new request
reaches the server, is measured. Also printed: the controller's own time for one slice and for
the whole piece at once (what a host event used to wait for), and its CPU time for the whole
piece in slices, with sentences and with none (one sentence of M MB, spoken at the end): each
grows in proportion to M (``--mb``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fsm_agent.core.controller import Controller  # noqa: E402
from fsm_agent.core.events import Chunk, StreamEnd, Utterance  # noqa: E402
from fsm_agent.core.settings import Settings  # noqa: E402
from fsm_agent.runtime.worker import MAX_CHUNK_CHARS, slices  # noqa: E402
from fsm_agent.sim.host_process import HostProcess  # noqa: E402
from fsm_agent.sim.host_sim import HostSim  # noqa: E402
from fsm_agent.testing.fake_openai import FakeOpenAI  # noqa: E402

KEY = "sk-bench-not-a-real-key"
SENTENCE = "This is one sentence of a reply that never seems to end. "
WORDS = "and then some more words, with **bold** and a [link](https://example.com) "


def huge_text(megabytes: float) -> str:
    return SENTENCE * int(megabytes * 1_000_000 / len(SENTENCE))


def one_run(server: FakeOpenAI, max_reply_chars: int) -> tuple[float, float]:
    """Seconds from the barge-in to our SYNTH_STOP, and to the new request at the server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "FSM_AGENT_"))}
    env.update(OPENAI_API_KEY=KEY, OPENAI_BASE_URL=server.base_url)
    args = [sys.executable, "-m", "fsm_agent", "--max-reply-chars", str(max_reply_chars)]
    host = HostProcess(args, HostSim(chars_per_second=15.0), env=env, cwd=ROOT).start()
    try:
        before = len(server.chat_requests)
        host.say("tell me everything")
        if not host.wait_until(
            lambda: any(line.startswith("SYNTH_START") for line in host.child_lines), 60
        ):
            raise RuntimeError("no first sentence")
        time.sleep(2.0)
        began = time.monotonic()
        host.say("stop please")
        if not host.wait_until(lambda: "SYNTH_STOP|0" in host.child_lines, 60):
            raise RuntimeError("no SYNTH_STOP")
        stopped = time.monotonic() - began
        server.wait_until(lambda: len(server.chat_requests) >= before + 2, 60)
        asked = time.monotonic() - began
        return stopped, asked
    finally:
        host.kill()
        host.close()


def controller_times(text: str) -> tuple[float, float]:
    """The controller's time for the worst slice, and for the whole piece at once (seconds)."""
    settings = replace(Settings(), max_reply_chars=10**9)
    controller = Controller(settings)
    controller.handle(Utterance("hi"))
    worst = 0.0
    for part in slices(text[:300_000]):
        began = time.perf_counter()
        controller.handle(Chunk(1, part))
        worst = max(worst, time.perf_counter() - began)
    controller = Controller(settings)
    controller.handle(Utterance("hi"))
    began = time.perf_counter()
    controller.handle(Chunk(1, text))
    return worst, time.perf_counter() - began


def sliced_cpu(text: str) -> float:
    """The controller's CPU seconds for the whole piece in slices, as the loop is given it."""
    controller = Controller(replace(Settings(), max_reply_chars=10**9))
    controller.handle(Utterance("hi"))
    began = time.process_time()
    for part in slices(text):
        controller.handle(Chunk(1, part))
    controller.handle(StreamEnd(1))
    return time.process_time() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs per row (default: 3)")
    parser.add_argument("--mb", type=float, default=5.0, help="size of the event (default: 5)")
    args = parser.parse_args()
    text = huge_text(args.mb)
    replies = {"tell me everything": text, "stop please": "Okay."}
    print(f"one event of {len(text.encode()) / 1e6:.1f} MB; slices of {MAX_CHUNK_CHARS} chars")
    print(
        f"{'max_reply_chars':<18}{'to SYNTH_STOP ms':>18}{'max':>7}"
        f"{'to new request ms':>19}{'max':>7}"
    )
    with FakeOpenAI(reply=replies, chunk_chars=(10**9, 10**9)) as server:
        for limit in (4000, 10**9):
            runs = [one_run(server, limit) for _ in range(args.runs)]
            stops = [r[0] * 1000 for r in runs]
            asks = [r[1] * 1000 for r in runs]
            print(
                f"{limit:<18}{statistics.median(stops):>18.0f}{max(stops):>7.0f}"
                f"{statistics.median(asks):>19.0f}{max(asks):>7.0f}"
            )
    worst, whole = controller_times(text)
    print(f"controller: worst slice {worst * 1000:.1f} ms; the whole piece at once {whole:.1f} s")
    # The same size with no sentence end at all: one sentence, cleaned and cut at the end.
    endless = (WORDS * (len(text) // len(WORDS) + 1))[: len(text)]
    print(
        f"controller CPU for the piece in slices: {sliced_cpu(text):.1f} s; "
        f"with no sentence end {sliced_cpu(endless):.1f} s"
    )


if __name__ == "__main__":
    main()
