"""SpeechTracker: which START/STOP of our alias belongs to our outstanding sentence."""

from __future__ import annotations

from fsm_agent.core.speech import SpeechTracker


def test_a_stop_after_the_start_ends_the_sentence() -> None:
    t: SpeechTracker[str] = SpeechTracker()
    t.sent("a", "a")
    t.started()
    assert t.has_started
    assert t.stopped() == "a"
    assert t.outstanding is None


def test_the_late_stop_of_a_stopped_sentence_does_not_end_the_next() -> None:
    t: SpeechTracker[str] = SpeechTracker()
    t.sent("a", "a")
    t.started()
    assert t.abandon() == ("a", True)
    t.sent("b", "b")
    assert t.stopped() is None  # a's late STOP, before b's START
    t.started()
    assert t.stopped() == "b"


def test_an_abandoned_unstarted_sentence_takes_the_next_start_and_its_stop() -> None:
    t: SpeechTracker[str] = SpeechTracker()
    t.sent("a", "a")
    assert t.abandon() == ("a", False)
    t.sent("b", "b")
    t.started()  # a's START, late
    assert not t.has_started
    assert t.stopped() is None  # a's STOP
    t.started()
    assert t.stopped() == "b"


def test_the_echo_of_the_current_line_forgets_sentences_that_never_started() -> None:
    t: SpeechTracker[str] = SpeechTracker()
    t.sent("a", "a")
    t.abandon()  # unknown voice: a never starts
    t.sent("b", "line b")
    t.echoed("line a")  # not ours now: changes nothing
    t.echoed("line b")
    t.started()
    assert t.has_started
    assert t.stopped() == "b"


def test_a_stray_or_duplicate_stop_before_our_start_never_ends_the_sentence() -> None:
    t: SpeechTracker[str] = SpeechTracker()
    t.sent("a", "a")
    assert t.stopped() is None  # a content's .fst speaking with our alias
    assert t.stopped() is None  # and a duplicate
    t.started()
    assert t.stopped() == "a"
    t.sent("b", "b")
    assert t.stopped() is None  # a's STOP, duplicated
    t.started()
    assert t.stopped() == "b"


def test_a_stop_with_nothing_outstanding_uses_up_one_late_stop() -> None:
    t: SpeechTracker[str] = SpeechTracker()
    t.sent("a", "a")
    t.started()
    t.abandon()
    assert t.stopped() is None  # a's late STOP, nothing outstanding
    t.sent("b", "b")
    t.started()  # the START is b's: no late STOP is still expected
    assert t.stopped() == "b"
