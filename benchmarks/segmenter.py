"""Segmenter benchmark: throughput, linearity, release lag and Golden Rules accuracy.

Compares fsm_agent.Segmenter with the method of the MMDAgent-EX docs' streaming sample
(``part += token`` and ``re.match(r'(.*(\\.|\\!|\\?|\\:))(.*)', part)`` on every token; the
Japanese sample strips each token and uses 、！。？), reimplemented here only to measure it.
Inputs are seeded and deterministic. Run from the repository root:

    python3 benchmarks/segmenter.py
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fsm_agent.segmenter import Segmenter

GOLDEN = Path(__file__).resolve().parents[2] / "shared" / "data" / "golden_rules.json"
SIZES = (25_000, 50_000, 100_000, 200_000)
LAG_SIZE = 50_000
CJK_END = set("。！？」』”）")

SENTENCES = {
    "ja": [
        "今日はいい天気ですね。",
        "「はい。」と彼は言った。",
        "円周率は３．１４です。",
        "明日の会議は10:30からです！",
        "本当にそうでしょうか？",
    ],
    "zh": ["我们明天一起去看电影好吗？", "“你好。”然后走了。", "价格是3.5元。", "太好了！"],
    "ko": ["안녕하세요.", "저는 학생입니다!", '그는 "네."라고 말했다.', "정말요?"],
    "en": [
        "Hello World.",
        "Mr. Smith paid $100.00 at 5 p.m. yesterday.",
        "I live in the U.S. How about you?",
        "Version 3.14 is out, see https://example.com/news.html for details.",
        "Is that right?",
        "Send it to jane.doe@example.com now!",
    ],
    "de": ["Was geschah am 12. Juni?", "Es kostet 3,50 Euro.", "„Komm.“ Er ging."],
}


def mixed_text(size: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    langs = list(SENTENCES)
    parts: list[str] = []
    total = 0
    while total < size:
        lang = rng.choice(langs)
        s = rng.choice(SENTENCES[lang])
        sep = "" if lang in ("ja", "zh") else " "
        if rng.random() < 0.05:
            sep = "\n"
        parts.append(s + sep)
        total += len(s) + len(sep)
    return "".join(parts)[:size]


def chunks(text: str, seed: int = 1) -> Iterator[str]:
    rng = random.Random(seed)
    i = 0
    while i < len(text):
        k = rng.randint(1, 3)
        yield text[i : i + k]
        i += k


class SampleMethod:
    """The MMDAgent-EX sample's splitting loop, as written there (bugs included)."""

    def __init__(self, japanese: bool = False) -> None:
        self.japanese = japanese
        self.pattern = r"(.*(、|！|。|？))(.*)" if japanese else r"(.*(\.|\!|\?|\:))(.*)"
        self.part = ""

    def feed(self, token: str) -> list[str]:
        self.part += token.strip() if self.japanese else token
        mm = re.match(self.pattern, self.part)
        if mm:
            self.part = mm.group(3)
            return [mm.group(0)]
        return []

    def flush(self) -> list[str]:
        rest, self.part = self.part, ""
        return [rest] if rest else []


Factory = Callable[[], "Segmenter | SampleMethod"]


def run(make: Factory, text: str) -> tuple[float, list[tuple[str, int]]]:
    seg = make()
    released: list[tuple[str, int]] = []
    fed = 0
    pieces = list(chunks(text))
    t0 = time.process_time()
    for piece in pieces:
        fed += len(piece)
        for s in seg.feed(piece):
            released.append((s, fed))
    for s in seg.flush():
        released.append((s, fed))
    return time.process_time() - t0, released


CJK_DELIMS = "。！？、"
ALL_DELIMS = ".!?:…" + CJK_DELIMS


def lags(make: Factory, text: str) -> tuple[list[int], list[int]]:
    """Characters fed past each sentence end before it is released, feeding one at a time.

    For fsm_agent the end is the sentence's last character (its terminator or closing mark).
    The sample emits its whole buffer, so its end is the last delimiter in what it emitted.
    """
    seg = make()
    cjk: list[int] = []
    latin: list[int] = []
    at = 0
    for fed, ch in enumerate(text, 1):
        for s in seg.feed(ch):
            core = s.rstrip()
            stop = max(core.rfind(d) for d in ALL_DELIMS) + 1
            if stop <= 0:
                continue
            if isinstance(seg, Segmenter):
                found = text.find(core, at)
                at = found + len(core)
                lag = fed - at
            else:
                lag = len(s) - stop
            (cjk if core[stop - 1] in CJK_DELIMS else latin).append(lag)
    return cjk, latin


def pct(values: list[int], q: float) -> str:
    if not values:
        return "-"
    values = sorted(values)
    return str(values[min(len(values) - 1, int(q * len(values)))])


def golden(make: Callable[[str], Segmenter | SampleMethod]) -> dict[str, tuple[int, int]]:
    data = json.loads(GOLDEN.read_text(encoding="utf-8"))
    result: dict[str, tuple[int, int]] = {}
    for lang in ("en", "ja", "zh", "de", "fr", "es", "ru", "it"):
        passed = total = 0
        for case in data[lang]:
            if "needs_text_cleaning" in case.get("tags", []):
                continue
            total += 1
            ok = True
            for seed in range(5):
                rng = random.Random(seed)
                seg = make(lang)
                out: list[str] = []
                i = 0
                text = case["text"]
                while i < len(text):
                    k = rng.randint(1, 3)
                    out += seg.feed(text[i : i + k])
                    i += k
                out += seg.flush()
                out = [s.strip() for s in out if s.strip()]
                ok = ok and out == case["sentences"]
            passed += ok
        result[lang] = (passed, total)
    return result


def main() -> None:
    text = mixed_text(SIZES[-1])
    methods: list[tuple[str, Factory]] = [
        ("fsm_agent Segmenter(auto)", lambda: Segmenter("auto")),
        ("MMDAgent-EX sample (en)", lambda: SampleMethod(japanese=False)),
        ("MMDAgent-EX sample (ja)", lambda: SampleMethod(japanese=True)),
    ]
    print(
        f"Mixed ja/zh/ko/en/de text, streamed in 1-3 char chunks (seeded); {sys.version.split()[0]}"
    )
    header = f"{'method':<28}" + "".join(f"{n // 1000:>7}k" for n in SIZES)
    print(f"{header}  {'lag CJK med/p90':>16}  {'lag Latin med/p90':>18}")
    note = f"(CPU s, best of 3, first N chars; lag: 1-char feed, {LAG_SIZE // 1000}k chars)"
    print(note)
    for name, make in methods:
        times = []
        for n in SIZES:
            times.append(min(run(make, text[:n])[0] for _ in range(3)))
        cjk, latin = lags(make, text[:LAG_SIZE])
        row = f"{name:<28}" + "".join(f"{t:>7.3f}s" for t in times)
        lag_c = f"{pct(cjk, 0.5)}/{pct(cjk, 0.9)}"
        lag_l = f"{pct(latin, 0.5)}/{pct(latin, 0.9)}"
        print(f"{row}  {lag_c:>16}  {lag_l:>18}")
    if not GOLDEN.exists():
        print(f"\nGolden Rules: {GOLDEN} not found, skipped")
        return
    print(
        "\nGolden Rules streamed in 1-3 char chunks, 5 seeds (3 needs_text_cleaning cases left out)"
    )
    ours = golden(Segmenter)
    sample = golden(lambda lang: SampleMethod(japanese=lang in ("ja", "zh")))
    print(f"{'lang':<6}{'fsm_agent':>12}{'sample':>10}")
    for lang in ours:
        mine, theirs = "{}/{}".format(*ours[lang]), "{}/{}".format(*sample[lang])
        print(f"{lang:<6}{mine:>12}{theirs:>10}")
    tot = lambda r: f"{sum(p for p, _ in r.values())}/{sum(t for _, t in r.values())}"  # noqa: E731
    print(f"{'total':<6}{tot(ours):>12}{tot(sample):>10}")


if __name__ == "__main__":
    main()
