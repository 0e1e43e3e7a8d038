"""Rule files are compiled when text first needs them, once, whichever thread asks first.

Compiling "auto" costs tens of milliseconds; the AnyScript mode must not spend them before it
reads the host's first line (``ruleset.preload`` spends them while it waits for the user).
"""

from __future__ import annotations

import threading

import pytest

from fsm_agent.config.load import load_settings
from fsm_agent.core.controller import Controller
from fsm_agent.text import ruleset
from fsm_agent.text.segmenter import Segmenter, split_sentences


@pytest.fixture
def compilations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Nothing compiled yet; returns the languages compiled from now on, in order."""
    done: list[str] = []
    real = ruleset._compile_language

    def counting(lang: str) -> ruleset.Rules:
        done.append(lang)
        return real(lang)

    monkeypatch.setattr(ruleset, "_compiled", {})
    monkeypatch.setattr(ruleset, "_compile_language", counting)
    return done


def test_a_controller_is_made_without_compiling_rules(compilations: list[str]) -> None:
    Controller(load_settings(environ={}))
    assert compilations == []


def test_the_first_text_compiles_its_language_once(compilations: list[str]) -> None:
    segmenter = Segmenter("en")
    assert compilations == []
    assert segmenter.feed("Hello there. How") == ["Hello there."]
    assert segmenter.flush() == ["How"]
    assert split_sentences("Dr. Smith came. He sat.", "en") == ["Dr. Smith came.", "He sat."]
    assert compilations == ["en"]


def test_an_unknown_language_is_still_refused_when_the_segmenter_is_made(
    compilations: list[str],
) -> None:
    with pytest.raises(ValueError, match="unknown language 'xx'; available: auto"):
        Segmenter("xx")
    ruleset.preload("xx").join()  # the preload thread swallows it ...
    with pytest.raises(ValueError, match="unknown language 'xx'"):
        ruleset.load("xx")  # ... and the caller that needs the rules gets it
    assert compilations == ["xx", "xx"]


def test_a_preload_under_way_is_waited_for_not_repeated(
    compilations: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = threading.Event(), threading.Event()
    real = ruleset._compile_language

    def slow(lang: str) -> ruleset.Rules:
        started.set()
        assert release.wait(10)
        return real(lang)

    monkeypatch.setattr(ruleset, "_compile_language", slow)
    preloading = ruleset.preload("ja")
    assert started.wait(10)
    results: list[ruleset.Rules] = []
    asking = threading.Thread(target=lambda: results.append(ruleset.load("ja")))
    asking.start()
    release.set()
    asking.join(10)
    preloading.join(10)
    assert results == [ruleset.load("ja")]
    assert results[0] is ruleset.load("ja")
    assert compilations == ["ja"]  # the second caller waited for the preload's compilation
