"""What keeping a reasoning model's thinking silent costs per streamed piece.

A reply of 60 sentences of ``<think>`` thinking, then 80 Japanese sentences, cut into pieces of
1 to 4 characters (seeded), fed to ``ThinkFilter`` alone and to ``ReplyText`` (the think filter,
the length bound and the segmenter: all a chunk goes through before speech). Best of 5.
Run from the repository root:

    python3 benchmarks/think.py
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fsm_agent.core.reply import ReplyText
from fsm_agent.text.think import ThinkFilter

THINKING = "The user asks about the weather. I should answer briefly. " * 60
REPLY = "今日はいい天気ですね。散歩に行きましょう。" * 40


def pieces(text: str, seed: int = 0) -> list[str]:
    """Cut ``text`` into pieces of 1 to 4 characters."""
    rng = random.Random(seed)
    out: list[str] = []
    i = 0
    while i < len(text):
        k = rng.randint(1, 4)
        out.append(text[i : i + k])
        i += k
    return out


def best_of(make: Callable[[], Any], cut: list[str], runs: int = 5) -> float:
    """The fastest of ``runs`` feeds of every piece, in seconds."""
    best = float("inf")
    for _ in range(runs):
        target = make()
        start = time.perf_counter()
        for piece in cut:
            target.feed(piece)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    text = f"<think>{THINKING}</think>{REPLY}"
    cut = pieces(text)
    print(f"{len(text)} characters in {len(cut)} pieces")
    for name, make in (
        ("ThinkFilter", ThinkFilter),
        ("ReplyText (think filter + segmenter)", lambda: ReplyText("auto", 100_000)),
    ):
        seconds = best_of(make, cut)
        print(f"{name}: {seconds * 1000:.1f} ms, {seconds / len(cut) * 1e6:.1f} us per piece")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
