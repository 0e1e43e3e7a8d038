"""What each ``--barge-in-mark`` puts in front of the model, read from the fake server's log.

Run from the repository root:  python benchmarks/barge_in_mark.py

The real runtime, controller and ``openai`` client talk to a loopback fake server through a
simulated MMDAgent-EX. The same conversation is played once per choice: a reply cut off while
its second sentence is spoken, a reply cut off before any sentence, then two more turns. For each
choice the script prints what the next requests hold for the interrupted turns, their estimated
size, whether the roles still alternate, and what the avatar would say if the model copied the
end of its previous (marked) message into its next reply, as chat models tend to copy their
own earlier formatting: the fake model does exactly that, so the effect can be seen.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fsm_agent.backends.openai_compat import OpenAIBackend  # noqa: E402
from fsm_agent.core.controller import Controller  # noqa: E402
from fsm_agent.core.history import estimate_tokens  # noqa: E402
from fsm_agent.core.memory import MARKS  # noqa: E402
from fsm_agent.core.settings import BARGE_IN_MARK_CHOICES, Settings  # noqa: E402
from fsm_agent.runtime.loop import QUIT, Runtime  # noqa: E402
from fsm_agent.sim.host_loop import HostLoop, runtime_delivery  # noqa: E402
from fsm_agent.sim.host_sim import HostSim  # noqa: E402
from fsm_agent.testing.fake_openai import FakeOpenAI  # noqa: E402

REPLIES = {
    "Tell me about Kyoto.": "Kyoto was the capital for a thousand years. It has two thousand "
    "temples. The autumn leaves there are famous.",
    "What about Osaka?": "Osaka is known for its food. People there are friendly.",
    "Hmm, and Nara?": "Nara has deer in its park. They bow to visitors.",
    "Never mind. Which is cheapest?": "Nara is usually the cheapest of the three.",
    "Thanks, bye.": "Goodbye, have a nice trip.",
}


def copying_model(messages: list[dict[str, str]]) -> str:
    """Answer from REPLIES, starting with the end of the last assistant message when marked."""
    reply = REPLIES.get(messages[-1]["content"], "I see.")
    last = next((m["content"] for m in reversed(messages[:-1]) if m["role"] == "assistant"), "")
    for mark in (m for m in MARKS.values() if m):
        if last.endswith(mark):
            return f"{mark} {reply}"
    return reply


def play(mark: str) -> tuple[list[list[dict[str, str]]], list[str]]:
    """Play the conversation with one choice; return the chat requests and the sentences said."""
    with FakeOpenAI(reply=copying_model) as server:
        settings = replace(
            Settings(),
            base_url=server.base_url,
            api_key_env="FSM_BENCH_NO_KEY",
            system_prompt="You are a travel guide. Answer briefly.",
            lang="en",
            voice="slt_voice_normal",
            barge_in_mark=mark,  # type: ignore[arg-type]
        )
        controller = Controller(settings)
        runtime = Runtime(controller, OpenAIBackend(settings), lambda line: None)
        sim = HostSim(chars_per_second=60.0, min_seconds=0.05, stop_latency=0.02)
        thread = threading.Thread(target=runtime.run, daemon=True)
        with HostLoop(runtime_delivery(runtime.post), sim) as host:
            runtime.write = host.child_line
            thread.start()

            def wait(predicate: object, timeout: float = 20.0) -> None:
                end = time.monotonic() + timeout
                while not predicate() and time.monotonic() < end:  # type: ignore[operator]
                    time.sleep(0.005)

            host.say("Tell me about Kyoto.")
            wait(lambda: len(sim.spoken) >= 2)  # the second sentence is being spoken
            host.say("What about Osaka?")
            wait(lambda: runtime.turns_done >= 2)
            server.push(None, delay_first=2.0)  # the Nara reply is slow to start
            host.say("Hmm, and Nara?")
            wait(lambda: len(server.chat_requests) >= 3)
            host.say("Never mind. Which is cheapest?")  # before any sentence of the Nara reply
            wait(lambda: runtime.turns_done >= 4)
            host.say("Thanks, bye.")
            wait(lambda: runtime.turns_done >= 5)
            runtime.post(QUIT)
            thread.join(5)
        requests = [r.body["messages"] for r in server.chat_requests if r.body]
        said = [s.text for s in sim.spoken]
    return requests, said


def main() -> int:
    """Print, for each choice, the last request and what was said."""
    for mark in BARGE_IN_MARK_CHOICES:
        requests, said = play(mark)
        last = requests[-1]
        roles = [m["role"] for m in last[1:]]
        alternate = roles == ["user", "assistant"] * (len(roles) // 2) + ["user"]
        print(f"== --barge-in-mark {mark}")
        print(f"   requests: {len(requests)}; estimated tokens of each: ", end="")
        print([sum(estimate_tokens(m["content"]) for m in r) for r in requests])
        print(f"   roles alternate user/assistant: {alternate}")
        print("   the last request, after the system prompt:")
        for message in last[1:]:
            print(f"     {message['role']:>9}: {message['content']}")
        print("   the avatar said (a model that copies its own marks):")
        for text in said:
            print(f"     » {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
