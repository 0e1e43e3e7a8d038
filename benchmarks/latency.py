"""Latency and cost figures of fsm-agent, and of the MMDAgent-EX docs' streaming sample.

Run from the repository root:  python benchmarks/latency.py [--turns N]

Everything runs on this machine: a loopback fake OpenAI server (real SSE wire format) and real
processes talking over pipes. The sample is extracted at run time from
../shared/seeds/mmdagent-ex-chatgpt-en.md (its second Python block); only the line that sets
its key is changed, to read the environment. No copy of it is kept.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fsm_agent.config.load import load_settings  # noqa: E402
from fsm_agent.core.controller import Controller  # noqa: E402
from fsm_agent.core.events import Chunk, StreamEnd, SynthStarted, SynthStopped, Utterance  # noqa: E402
from fsm_agent.runtime.loop import QUIT, Runtime  # noqa: E402
from fsm_agent.testing.fake_openai import FakeOpenAI  # noqa: E402

SEED = ROOT.parent / "shared" / "seeds" / "mmdagent-ex-chatgpt-en.md"
REPLY = "Hello there. How are you today? I am fine, thank you."
KEY = "sk-bench-not-a-real-key"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# ---- (a) latency the controller adds -----------------------------------------------------------


class _GateStream:
    """Yields pieces the benchmark hands it; stamps the time it hands over the releasing one."""

    def __init__(self, pieces: queue.SimpleQueue[str | None], stamps: list[float]) -> None:
        self.total_tokens = None
        self._pieces = pieces
        self._stamps = stamps

    def __iter__(self):  # type: ignore[no-untyped-def]
        while (piece := self._pieces.get()) is not None:
            if piece.startswith(" Next"):
                self._stamps.append(time.perf_counter())
            yield piece

    def close(self) -> None:
        self._pieces.put(None)


def controller_latency(turns: int) -> list[float]:
    """Seconds from the chunk that completes the first sentence to its SYNTH_START written."""
    pieces: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    handed: list[float] = []
    written: list[float] = []
    got_line = threading.Event()

    class Backend:
        def open(self, messages):  # type: ignore[no-untyped-def]
            return _GateStream(pieces, handed)

    def write(line: str) -> None:
        sys.stdout.flush()  # a real flush of a real stream, as the runtime's writer does
        if line.startswith("SYNTH_START"):
            written.append(time.perf_counter())
            got_line.set()

    settings = load_settings(overrides={"backend": "echo", "lang": "en"}, environ={})
    runtime = Runtime(Controller(settings), Backend(), write)  # type: ignore[arg-type]
    loop = threading.Thread(target=runtime.run)
    loop.start()
    for _ in range(turns):
        got_line.clear()
        runtime.post(Utterance("hi"))
        for piece in ("Hello", " there.", " Next"):
            pieces.put(piece)
        got_line.wait(5)
        runtime.post(SynthStarted())
        runtime.post(SynthStopped())
        pieces.put(" one.")
        pieces.put(None)
        got_line.clear()
        got_line.wait(5)
        runtime.post(SynthStarted())
        runtime.post(SynthStopped())
    runtime.post(QUIT)
    loop.join()
    firsts = written[0::2]
    return [w - h for h, w in zip(handed, firsts, strict=False)]


# ---- (b), (c) end to end against the fake server -------------------------------------------------


def sample_script(tmp: Path) -> Path | None:
    if not SEED.exists():
        return None
    blocks = re.findall(r"```python\n(.*?)```", SEED.read_text(encoding="utf-8"), flags=re.S)
    code = blocks[1].replace(
        'api_key = "YOUR_API_KEY"', 'api_key = __import__("os").environ["OPENAI_API_KEY"]'
    )
    path = tmp / "sample_chatgpt.py"
    path.write_text(code, encoding="utf-8")
    return path


class Child:
    """A submodule under a minimal host: answers each SYNTH_START with START and STOP."""

    def __init__(self, args: list[str], base_url: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "FSM_AGENT_"))}
        env.update(OPENAI_API_KEY=KEY, OPENAI_BASE_URL=base_url, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
        )
        self.lines: queue.SimpleQueue[tuple[float, str]] = queue.SimpleQueue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.put((time.perf_counter(), raw.decode("utf-8", "replace").rstrip("\n")))

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def turn(self, n_sentences: int) -> float:
        """Say something; return seconds to the first SYNTH_START; let the reply finish."""
        t0 = time.perf_counter()
        self.send("RECOG_EVENT_STOP|hello")
        first = 0.0
        for i in range(n_sentences):
            t, line = self.lines.get(timeout=30)
            while not line.startswith("SYNTH_START"):
                t, line = self.lines.get(timeout=30)
            if i == 0:
                first = t - t0
            alias = line.split("|")[1]
            self.send(f"SYNTH_EVENT_START|{alias}")
            self.send(f"SYNTH_EVENT_STOP|{alias}")
        return first

    def close(self) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(3)
        except (subprocess.TimeoutExpired, OSError):
            self.proc.kill()  # the sample never exits on end of input


def end_to_end(turns: int, token_delay: float, sample: Path | None) -> dict[str, dict[str, object]]:
    ours_cmd = [sys.executable, "-m", "fsm_agent", "--lang", "en", "--voice", "slt_voice_normal"]
    programs = {"fsm-agent": ours_cmd}
    if sample is not None:
        programs["MMDAgent-EX sample"] = [sys.executable, "-u", str(sample)]
    # the sample splits after . ! ? and : and sends the rest at the end: 3 sentences here
    results: dict[str, dict[str, object]] = {}
    servers = {name: FakeOpenAI(reply=REPLY, token_delay=token_delay).start() for name in programs}
    try:
        firsts: dict[str, list[float]] = {name: [] for name in programs}
        settled: dict[str, list[float]] = {name: [] for name in programs}
        # Fresh processes, order swapped each round (the OS cache favours the 2nd): spoken to
        # at once, and 1 s after start (as a user would, some time after the content loads).
        for i in range(5):
            for name in list(programs)[:: 1 if i % 2 == 0 else -1]:
                child = Child(programs[name], servers[name].base_url)
                firsts[name].append(child.turn(3))
                child.close()
                child = Child(programs[name], servers[name].base_url)
                time.sleep(1.0)
                settled[name].append(child.turn(3))
                child.close()
        children = {}
        before: dict[str, int] = {}
        for name, cmd in programs.items():
            before[name] = servers[name].connections_opened  # this process's first turn counts
            child = Child(cmd, servers[name].base_url)
            child.turn(3)
            results[name] = {
                "first": statistics.median(firsts[name]),
                "settled": statistics.median(settled[name]),
                "turns": [],
            }
            children[name] = child
        for _ in range(turns):  # alternating, so load changes hit both alike
            for name, child in children.items():
                results[name]["turns"].append(child.turn(3))  # type: ignore[union-attr]
        for name, child in children.items():
            results[name]["connections"] = servers[name].connections_opened - before[name]
            child.close()
    finally:
        for server in servers.values():
            server.stop()
    return results


# ---- (c) what a new connection per turn costs -------------------------------------------------


def first_chunk_seconds(client: object, model: str = "gpt-4o-mini") -> float:
    """Seconds from sending a streamed request to its first content chunk."""
    t0 = time.perf_counter()
    stream = client.chat.completions.create(  # type: ignore[attr-defined]
        model=model, messages=[{"role": "user", "content": "hi"}], stream=True
    )
    first = 0.0
    for chunk in stream:
        if first == 0.0 and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - t0
    return first


def connection_cost(turns: int) -> tuple[float, float, float]:
    """Median time to the first chunk with one connection reused, with a new TCP connection
    per turn (the same client, keep-alive off), and with a new client per turn."""
    import openai

    try:  # the HTTP library openai is built on: httpx2 in openai 3, httpx before
        import httpx2 as httpx  # type: ignore[import-not-found]
    except ImportError:
        import httpx  # type: ignore[no-redef]

    with FakeOpenAI(reply=REPLY, token_delay=0.0) as server:
        url = server.base_url
        shared = openai.OpenAI(api_key=KEY, base_url=url, max_retries=0)
        no_keepalive = openai.OpenAI(
            api_key=KEY,
            base_url=url,
            max_retries=0,
            http_client=openai.DefaultHttpxClient(limits=httpx.Limits(max_keepalive_connections=0)),
        )
        first_chunk_seconds(shared)  # open the one connection
        reused, new_tcp, new_client = [], [], []
        for _ in range(turns):  # alternating, so load changes hit all alike
            reused.append(first_chunk_seconds(shared))
            new_tcp.append(first_chunk_seconds(no_keepalive))
            t0 = time.perf_counter()
            client = openai.OpenAI(api_key=KEY, base_url=url, max_retries=0)
            first_chunk_seconds(client)
            new_client.append(time.perf_counter() - t0)
            client.close()
        shared.close()
        no_keepalive.close()
    return statistics.median(reused), statistics.median(new_tcp), statistics.median(new_client)


def tls_handshake_cost(rounds: int) -> float | None:
    """Median seconds of a TCP connect plus TLS handshake on loopback (None without openssl)."""
    import shutil
    import socket
    import ssl

    if shutil.which("openssl") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", str(key),
             "-out", str(cert)],
            check=True, capture_output=True,
        )  # fmt: skip
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(cert, key)
        client_ctx = ssl.create_default_context(cafile=str(cert))
        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]

        def serve() -> None:
            for _ in range(rounds):
                conn, _ = listener.accept()
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            raw = socket.create_connection(("127.0.0.1", port))
            with client_ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                times.append(time.perf_counter() - t0)
                tls.sendall(b"x")
        thread.join(5)
        listener.close()
    return statistics.median(times)


# ---- (d) per-event cost of the machine, per-character cost of the segmenter -----------------


def per_event_cost(turns: int) -> tuple[float, float]:
    """Seconds per event: all events of a turn, and those that carry no reply text."""
    controller = Controller(load_settings(overrides={"lang": "en"}, environ={}))
    events = 0
    textless = 0
    textless_time = 0.0
    t0 = time.perf_counter()
    for _ in range(turns):
        gen = controller.gen + 1
        seq = [Utterance("hi"), Chunk(gen, "Hello there. "), Chunk(gen, "Bye.")]
        seq += [SynthStarted(), SynthStopped(), StreamEnd(gen, 10), SynthStarted(), SynthStopped()]
        for event in seq:
            e0 = time.perf_counter()
            controller.handle(event)
            if not isinstance(event, Chunk):
                textless_time += time.perf_counter() - e0
                textless += 1
        events += len(seq)
    return (time.perf_counter() - t0) / events, textless_time / textless


def segmenter_cost_per_char(chars: int) -> float:
    """Seconds per character of mixed text streamed through the segmenter in 1-3 char chunks."""
    import random

    from fsm_agent.text.segmenter import Segmenter

    unit = "こんにちは。今日はいい天気ですね！Hello there, Mr. Smith. It costs 3.14 dollars. "
    text = (unit * (chars // len(unit) + 1))[:chars]
    rng = random.Random(1)
    pieces, i = [], 0
    while i < len(text):
        n = rng.randint(1, 3)
        pieces.append(text[i : i + n])
        i += n
    best = float("inf")
    for _ in range(3):
        seg = Segmenter("auto")
        t0 = time.process_time()
        for piece in pieces:
            seg.feed(piece)
        seg.flush()
        best = min(best, time.process_time() - t0)
    return best / len(text)


def idle_cost(seconds: float) -> tuple[float, float, int]:
    import psutil

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "fsm_agent", "--backend", "echo"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    time.sleep(1.5)
    p = psutil.Process(proc.pid)
    before = p.cpu_times()
    time.sleep(seconds)
    after = p.cpu_times()
    rss = p.memory_info().rss
    threads = p.num_threads()
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(5)
    cpu = (after.user - before.user) + (after.system - before.system)
    return cpu, rss / 2**20, threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--token-delay", type=float, default=0.02)
    args = parser.parse_args()

    lat = controller_latency(200)
    print("(a) latency added by the controller: chunk completing sentence 1 -> SYNTH_START written")
    print(
        f"    median {statistics.median(lat) * 1e3:.3f} ms, "
        f"p99 {pct(lat, 99) * 1e3:.3f} ms over {len(lat)} turns"
    )

    with tempfile.TemporaryDirectory() as tmp:
        sample = sample_script(Path(tmp))
        if sample is None:
            print(f"(b) sample not found at {SEED}; measuring fsm-agent alone")
        res = end_to_end(args.turns, args.token_delay, sample)
    print(
        "(b) RECOG_EVENT_STOP written -> first SYNTH_START read; fake server, "
        f"{args.token_delay * 1e3:.0f} ms per token,"
    )
    print(f"    {args.turns} turns each, alternating; reply: {REPLY!r}")
    print("    first turn: a fresh process spoken to at once, and 1 s after its start (median")
    print(f"    of 5 each); TCP conns: opened by one process over {args.turns + 1} turns")
    print(
        f"    {'program':<20} {'first turn':>11} {'after 1 s':>10} {'median':>9} {'p90':>9}"
        f" {'TCP conns':>10}"
    )
    for name, r in res.items():
        t = r["turns"]
        assert isinstance(t, list)
        print(
            f"    {name:<20} {r['first'] * 1e3:>8.0f} ms {r['settled'] * 1e3:>7.0f} ms"  # type: ignore[operator]
            f" {statistics.median(t) * 1e3:>6.0f} ms "
            f"{pct(t, 90) * 1e3:>6.0f} ms {r['connections']:>10}"
        )
    if len(res) == 2:
        ours, theirs = (statistics.median(r["turns"]) for r in res.values())  # type: ignore[arg-type]
        print(f"    ratio sample/fsm-agent (median): {theirs / ours:.1f}x")
    reused, new_tcp, new_client = connection_cost(args.turns)
    tls = tls_handshake_cost(50)
    print("(c) connection reuse: time to the first chunk, loopback fake server, median")
    print(f"    one connection reused {reused * 1e3:.2f} ms; a new TCP connection per turn")
    print(f"    {new_tcp * 1e3:.2f} ms ({(new_tcp - reused) * 1e3:+.2f} ms); a new client per turn")
    print(f"    {new_client * 1e3:.2f} ms ({(new_client - reused) * 1e3:+.2f} ms)")
    if tls is not None:
        print(f"    a TCP connect + TLS 1.3 handshake on loopback costs {tls * 1e3:.2f} ms;")
    print("    over a network a new connection also waits 2 round trips (TCP, then TLS)")
    cost, textless = per_event_cost(2000)
    per_char = segmenter_cost_per_char(200_000)
    print(f"(d) pure controller, per event: {cost * 1e6:.1f} us with the segmenter's work on the")
    print(f"    chunk text, {textless * 1e6:.1f} us for events without text; segmenter alone:")
    print(f"    {per_char * 1e9:.0f} ns per character (CPU time, 1-3 character chunks)")
    cpu, rss, threads = idle_cost(5.0)
    print(f"(e) idle for 5 s: {cpu * 1e3:.1f} ms CPU, RSS {rss:.1f} MiB, {threads} threads")


if __name__ == "__main__":
    main()
