"""The fault matrix: every LLM fault in every phase, and how long the avatar is left waiting.

Run from the repository root:  python benchmarks/faults.py [--stream-timeout S]

Each row is one turn of the real runtime and controller with the real OpenAI backend (the
``openai`` client) against the loopback fake server, which misbehaves once as the row says. A
minimal host answers each SYNTH_START with SYNTH_EVENT_START and, 50 ms later, SYNTH_EVENT_STOP.
After the fault, a second utterance must be answered normally. The API key is recognisable
and searched for in every line printed and every log record (with tracebacks) of every row.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fsm_agent.backends.openai_compat import OpenAIBackend  # noqa: E402
from fsm_agent.config.load import load_settings  # noqa: E402
from fsm_agent.core.controller import Controller  # noqa: E402
from fsm_agent.core.events import SynthStarted, SynthStopped, Utterance  # noqa: E402
from fsm_agent.runtime.loop import QUIT, Runtime  # noqa: E402
from fsm_agent.testing.fake_openai import FakeOpenAI, connection_refused_url  # noqa: E402

KEY = "sk-bench-FSMSECRET-5e4d3c2b1a"
REPLY = "First sentence here. Second one follows. The third is last."
FIRST = len("First sentence here. ")
LAST = len(REPLY) - 4

FAULTS: list[tuple[str, dict[str, object], tuple[str, ...]]] = [
    ("HTTP 400", {"fault": 400}, ("before",)),
    ("HTTP 401", {"fault": 401}, ("before",)),
    ("HTTP 401 echoing the key", {"fault": "echo_key_in_error"}, ("before",)),
    ("HTTP 403", {"fault": 403}, ("before",)),
    ("HTTP 404", {"fault": 404}, ("before",)),
    ("HTTP 429", {"fault": 429}, ("before",)),
    ("HTTP 429 Retry-After: 1", {"fault": 429, "retry_after": "1"}, ("before",)),
    ("HTTP 500", {"fault": 500}, ("before",)),
    ("HTTP 503", {"fault": 503}, ("before",)),
    ("connection refused", {}, ("before",)),
    ("no answer", {"fault": "no_answer"}, ("before",)),
    ("cut without [DONE]", {"cut_after": None}, ("before", "after 1st", "during last")),
    ("malformed chunk", {"malformed_after": None}, ("before", "after 1st", "during last")),
    ("error event in stream", {"error_event_after": None}, ("before", "after 1st", "during last")),
    ("endless stream", {"fault": "endless"}, ("during",)),
]
OFFSETS = {"before": 0, "after 1st": FIRST + 3, "during last": LAST}


class Capture(logging.Handler):
    """Keeps every log record as the log file would show it, traceback included."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))


CAPTURED = Capture()


class Turn:
    """One utterance through the runtime, timed by the runtime's own observers."""

    def __init__(self, base_url: str, stream_timeout: float, max_reply_chars: int) -> None:
        overrides = {
            "base_url": base_url,
            "stream_timeout": stream_timeout,
            "max_reply_chars": max_reply_chars,
            "lang": "en",
            "error_reply": "Sorry.",
        }
        self.settings = load_settings(overrides=overrides, environ={"OPENAI_API_KEY": KEY})
        self.controller = Controller(self.settings)
        self.backend = OpenAIBackend(self.settings)
        self.backend.client()  # import and client creation are not part of a fault
        self.runtime = Runtime(self.controller, self.backend, self._write)
        self.idle = threading.Event()
        self.lines: list[tuple[float, str]] = []
        self.runtime.observers.append(self._observe)
        self.thread = threading.Thread(target=self.runtime.run)
        self.thread.start()

    def _write(self, line: str) -> None:
        self.lines.append((time.perf_counter(), line))
        CAPTURED.texts.append(line)
        if line.startswith("SYNTH_START"):
            self.runtime.post(SynthStarted())
            threading.Timer(0.05, self.runtime.post, [SynthStopped()]).start()

    def _observe(self, direction: str, line: str) -> None:
        if direction == "state" and line == "Idle":
            self.idle.set()

    def say(self, text: str, timeout: float = 120.0) -> float:
        self.idle.clear()
        self.lines.clear()
        t0 = time.perf_counter()
        self.runtime.post(Utterance(text))
        if not self.idle.wait(timeout):
            raise RuntimeError(f"not Idle after {timeout} s")
        return time.perf_counter() - t0

    def close(self) -> None:
        self.runtime.post(QUIT)
        self.thread.join(5)


def run_row(name: str, fault: dict[str, object], phase: str, stream_timeout: float) -> str:
    with FakeOpenAI(reply=REPLY, token_delay=0.01) as server:
        url = connection_refused_url() if name == "connection refused" else server.base_url
        turn = Turn(url, stream_timeout, max_reply_chars=600)
        try:
            spec = dict(fault)
            for key in ("cut_after", "malformed_after", "error_event_after"):
                if key in spec:
                    spec[key] = OFFSETS[phase]
            if name != "connection refused":
                server.push(**spec)  # type: ignore[arg-type]
            took = turn.say("first")
            spoken = [
                line.split("|", 3)[3] for _, line in turn.lines if line.startswith("SYNTH_START")
            ]
            kept = (
                turn.controller.history.turns[-1].assistant if turn.controller.history.turns else ""
            )
            if name == "connection refused":
                ok = "n/a"
            else:
                again = turn.say("second")
                ok = (
                    f"yes {again:.2f}s"
                    if turn.controller.history.turns[-1].user == "second"
                    else "NO"
                )
        finally:
            turn.close()
    said = "Sorry." if spoken == ["Sorry."] else f"{len(spoken)} sentence(s)"
    kept_text = f"{len(kept)} chars" if kept else "nothing"
    return f"{name:<24} {phase:<12} {took:>7.2f}s  {said:<15} {kept_text:<10} {ok}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stream-timeout", type=float, default=3.0)
    args = parser.parse_args()
    log = logging.getLogger("fsm_agent")
    log.setLevel(logging.DEBUG)  # every record is searched for the key, none is printed
    log.addHandler(CAPTURED)
    log.propagate = False
    s = load_settings(environ={})
    # The controller's own stream deadline (re-armed per chunk) caps the wait whatever the
    # client does; its retries (max_retries, Retry-After) happen inside that deadline.
    bound = args.stream_timeout + 1.0
    print(
        f"stream_timeout {args.stream_timeout} s, max_retries {s.max_retries}; max_reply_chars 600"
    )
    print(f"stated bound on silence with no token: stream_timeout + 1 s = {bound:.1f} s")
    print(f"{'fault':<24} {'phase':<12} {'to Idle':>8}  {'spoken':<15} {'history':<10} next turn")
    worst = 0.0
    for name, fault, phases in FAULTS:
        for phase in phases:
            row = run_row(name, fault, phase, args.stream_timeout)
            print(row, flush=True)
            worst = max(worst, float(row[37:45].strip().rstrip("s")))
    print(f"worst time to Idle: {worst:.2f} s ({'within' if worst <= bound else 'OVER'} the bound)")
    leaked = sum(text.count("FSMSECRET") for text in CAPTURED.texts)
    print(f"key found in {len(CAPTURED.texts)} lines printed and log records: {leaked} times")


if __name__ == "__main__":
    main()
