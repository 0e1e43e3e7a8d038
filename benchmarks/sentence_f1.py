"""Sentence boundary F1 on human-annotated text, streamed in 1-3 character chunks.

The data are Universal Dependencies treebanks (train and dev splits only; a test split is
refused): each treebank's sentences, as its annotators cut them, are joined into texts of up to
eight consecutive sentences (a document or paragraph break of the treebank ends a text), using
only runs of sentences that end in punctuation. A boundary is the number of non-space characters
before it, so a tool that rewrites white space is scored fairly; per language the boundaries of
all texts are pooled into one precision, recall and F1.

fsm_agent and stream2sentence are fed the text in 1-3 character chunks (seeded); pySBD,
sentencex and blingfire split the whole text at once (batch, their best case). Each peer is
measured only when importable (none is a dependency of this project): install them in your own
virtual environment with ``pip install pysbd sentencex blingfire numpy stream2sentence``.

    python3 benchmarks/sentence_f1.py                # the sample in benchmarks/data
    python3 benchmarks/sentence_f1.py --ud DIR       # every *-ud-{train,dev}.conllu in DIR
    python3 benchmarks/sentence_f1.py --ud DIR --make-sample benchmarks/data/ud_sample.json
    python3 benchmarks/sentence_f1.py --errors en    # print fsm_agent's misses in English
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import regex

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fsm_agent.text.segmenter import Segmenter, split_sentences

SAMPLE = Path(__file__).resolve().parent / "data" / "ud_sample.json"
LANGS = ("en", "de", "fr", "es", "it", "ru", "ja", "zh", "ko")
NO_SPACE = {"ja", "zh"}  # scripts written without spaces between sentences
MAX_RUN = 8
ENDS = ".!?。！？…؟।"
CLOSING = "\"'”’»)]」』）"
Texts = dict[str, list[list[str]]]
_TERMINATOR = regex.compile(r"[\p{Sentence_Terminal}…]")
_WORD = regex.compile(r"[\p{L}\p{N}]")
Splitter = Callable[[str, str], list[str]]


# ---- the data ---------------------------------------------------------------------------------


def _ends_in_punctuation(sentence: str) -> bool:
    return sentence.rstrip(CLOSING)[-1:] in ENDS


def read_conllu(path: Path) -> list[list[str]]:
    """Runs of consecutive punctuated sentences, cut at document and paragraph breaks."""
    texts: list[list[str]] = []
    run: list[str] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    # Some treebanks (ja GSD) make every sentence a document of its own: such breaks say nothing.
    docs = sum(line.startswith("# newdoc") for line in lines)
    breaks = ("# newdoc", "# newpar") if 2 * docs < len(lines) / 30 else ("# newpar",)

    def close() -> None:
        if len(run) >= 2:
            texts.append(list(run))
        run.clear()

    for line in lines:
        if line.startswith(breaks):
            close()
        elif line.startswith("# text = "):
            sentence = line.removeprefix("# text = ").strip()
            if not _ends_in_punctuation(sentence):
                close()
                continue
            run.append(sentence)
            if len(run) == MAX_RUN:
                close()
    close()
    return texts


def read_ud(folder: Path) -> Texts:
    """Every language's train and dev texts in ``folder`` (a test split is refused)."""
    data: Texts = {}
    for path in sorted(folder.glob("*.conllu")):
        if "-test" in path.name:
            print(f"skipped {path.name}: test splits are never used", file=sys.stderr)
            continue
        lang = path.name.split("_", 1)[0]
        if lang in LANGS:
            data.setdefault(lang, []).extend(read_conllu(path))
    return data


def make_sample(data: Texts, per_lang: int, seed: int = 5) -> Texts:
    """A seeded subset of texts per language, small enough to keep in the repository."""
    rng = random.Random(seed)
    return {lang: rng.sample(texts, min(per_lang, len(texts))) for lang, texts in data.items()}


def joined(lang: str, sentences: list[str]) -> str:
    return ("" if lang in NO_SPACE else " ").join(sentences)


# ---- scoring ----------------------------------------------------------------------------------


def boundaries(sentences: list[str]) -> set[int]:
    """Non-space characters before each boundary between the sentences."""
    cuts, n = set(), 0
    for s in sentences[:-1]:
        n += len("".join(s.split()))
        cuts.add(n)
    return cuts


def score(split: Splitter, lang: str, texts: list[list[str]]) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for gold in texts:
        want = boundaries(gold)
        got = boundaries([s for s in split(lang, joined(lang, gold)) if s.strip()])
        tp += len(want & got)
        fp += len(got - want)
        fn += len(want - got)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def chunks(text: str, seed: int = 1) -> Iterator[str]:
    rng = random.Random(seed)
    i = 0
    while i < len(text):
        k = rng.randint(1, 3)
        yield text[i : i + k]
        i += k


# ---- the tools --------------------------------------------------------------------------------


def fsm_agent(lang: str, text: str) -> list[str]:
    seg = Segmenter(lang)
    out = [s for piece in chunks(text) for s in seg.feed(piece)] + seg.flush()
    batch = Segmenter(lang)
    assert out == batch.feed(text) + batch.flush(), "streamed output differs from batch"
    return out


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def peers() -> tuple[dict[str, Splitter], list[str]]:
    """The peers that are importable, by column name, and a note for each one missing."""
    found: dict[str, Splitter] = {}
    notes: list[str] = []

    def load(module: str) -> Any:
        try:
            return importlib.import_module(module)
        except ImportError as exc:
            notes.append(f"{module} not importable ({exc}), skipped")
            return None

    if pysbd := load("pysbd"):
        cache: dict[str, Any] = {}

        def sbd(lang: str, text: str) -> list[str]:
            if lang not in cache:
                try:
                    cache[lang] = pysbd.Segmenter(language=lang, clean=False)
                except ValueError:  # no rules for it: its English rules
                    cache[lang] = pysbd.Segmenter(language="en", clean=False)
            return list(cache[lang].segment(text))

        found[f"pySBD {_version('pysbd')}"] = sbd
    if sentencex := load("sentencex"):
        found[f"sentencex {_version('sentencex')}"] = lambda lang, text: list(
            sentencex.segment(lang, text)
        )
    if blingfire := load("blingfire"):
        found[f"blingfire {_version('blingfire')}"] = lambda lang, text: (
            blingfire.text_to_sentences(text).split("\n")
        )
    if s2s := load("stream2sentence"):

        def stream(lang: str, text: str) -> list[str]:
            return list(s2s.generate_sentences(chunks(text), language=lang))

        found[f"stream2sentence {_version('stream2sentence')} (streamed)"] = stream
    return found, notes


# ---- a first sentence released at its end (issue 14) --------------------------------------------


def early_release(lang: str, texts: list[list[str]]) -> tuple[int, int, int, int, int]:
    """What releasing a first sentence at once where its text decides its end costs.

    Every sentence of the text is taken as a reply's first one: at each terminator inside it
    and at its end, :meth:`Segmenter.ends_here` is asked about the text so far, as the first
    unit is when a token ends there. A release is right when the whole text's segmentation
    ends a sentence there; it leaves marks unsaid when only closing quotes, brackets or more
    terminators follow before that sentence's end (``friend."``, ``Really?!``); it breaks the
    sentence at an ellipsis when more terminators and then words follow (``person... and``);
    it is wrong when words follow at once (``example.com``, ``25 фр., во``). Words are never
    lost: what follows a release is spoken as the next unit.

    Returns:
        (releases, right, marks left unsaid, a break at an ellipsis, wrong)

    """
    total = right = marks = ellipsis = wrong = 0
    for gold in texts:
        text = joined(lang, gold)
        start = 0
        whole = split_sentences(text, lang)
        for sentence in whole:
            begin = text.index(sentence, start)
            end = start = begin + len(sentence)
            for m in _TERMINATOR.finditer(text, begin, end):
                seg = Segmenter(lang)
                seg.feed(text[begin : m.end()])
                if seg.ends_here() is None:
                    continue
                total += 1
                rest = text[m.end() : end]
                if not rest.strip():
                    right += 1
                elif not _WORD.search(rest):
                    marks += 1
                elif _TERMINATOR.match(rest):
                    ellipsis += 1
                else:
                    wrong += 1
    return total, right, marks, ellipsis, wrong


# ---- report -----------------------------------------------------------------------------------


def print_errors(lang: str, texts: list[list[str]], limit: int = 60) -> None:
    shown = 0
    for gold in texts:
        text = joined(lang, gold)
        got = fsm_agent(lang, text)
        want = boundaries(gold)
        have = boundaries(got)
        if want != have and shown < limit:
            shown += 1
            missed = len(want - have)
            extra = len(have - want)
            print(f"--- missed {missed}, extra {extra}")
            for s in got:
                print("   |", s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ud", type=Path, help="folder of UD .conllu files (train/dev only)")
    parser.add_argument("--make-sample", type=Path, help="write a small sample of --ud here")
    parser.add_argument("--per-lang", type=int, default=60, help="texts per language in a sample")
    parser.add_argument("--errors", metavar="LANG", help="print fsm_agent's wrong texts")
    parser.add_argument("--langs", default=",".join(LANGS), help="comma-separated languages")
    parser.add_argument(
        "--early",
        action="store_true",
        help="measure releasing a first sentence at its end at once (issue 14) instead",
    )
    args = parser.parse_args()
    if args.ud:
        data = read_ud(args.ud)
        source = f"UD train/dev in {args.ud}"
    else:
        data = json.loads(SAMPLE.read_text(encoding="utf-8"))["texts"]
        source = "the sample in benchmarks/data/ud_sample.json"
    if args.make_sample:
        sample = make_sample(data, args.per_lang)
        args.make_sample.write_text(
            json.dumps(
                {"source": "Universal Dependencies, dev splits", "texts": sample},
                ensure_ascii=False,
                indent=0,
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"wrote {args.make_sample}")
        return
    langs = [lang for lang in args.langs.split(",") if lang in data]
    if args.errors:
        print_errors(args.errors, data[args.errors])
        return
    if args.early:
        print(f"A first sentence released at once where its text decides its end ({source})")
        print("| lang | released | right | marks left unsaid | break at an ellipsis | wrong |")
        print("|---|---:|---:|---:|---:|---:|")
        for lang in langs:
            total, right, marks, ellipsis, wrong = early_release(lang, data[lang])
            share = wrong / total if total else 0.0
            print(f"| {lang} | {total} | {right} | {marks} | {ellipsis} | {wrong} ({share:.1%}) |")
        return
    tools: dict[str, Splitter] = {"fsm_agent (streamed)": fsm_agent}
    found, notes = peers()
    tools.update(found)
    print(f"Sentence boundary F1 ({source}), texts streamed in 1-3 character chunks")
    print("| lang | texts | " + " | ".join(tools) + " |")
    print("|---|---:|" + "---:|" * len(tools))
    for lang in langs:
        cells = []
        for split in tools.values():
            _, _, f1 = score(split, lang, data[lang])
            cells.append(f"{f1:.3f}")
        print(f"| {lang} | {len(data[lang])} | " + " | ".join(cells) + " |")
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
