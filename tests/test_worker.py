"""A generation hands a huge reply piece to the loop in bounded slices, one queue-full at a time."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from fsm_agent.core.backend import Messages
from fsm_agent.core.events import Chunk, Event, StreamEnd
from fsm_agent.runtime.worker import MAX_CHUNK_CHARS, Generation, slices

WAIT = 10.0


class OnePiece:
    """A reply stream of given pieces (one huge piece, as one 5 MB server-sent event gives)."""

    total_tokens = None

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[str]:
        yield from self.pieces

    def close(self) -> None:
        self.closed.set()


class Backend:
    def __init__(self, stream: OnePiece) -> None:
        self.stream = stream

    def open(self, messages: Messages) -> OnePiece:
        return self.stream


def start(pieces: list[str]) -> tuple[Generation, queue.Queue[Event], OnePiece]:
    posted: queue.Queue[Event] = queue.Queue()
    stream = OnePiece(pieces)
    generation = Generation(7, Backend(stream), (), posted.put)  # type: ignore[arg-type]
    generation.start()
    return generation, posted, stream


def test_slices_cover_the_piece_and_are_bounded() -> None:
    piece = "あいう。" * 1000
    parts = slices(piece)
    assert "".join(parts) == piece
    assert max(len(p) for p in parts) == MAX_CHUNK_CHARS
    assert slices("") == [] and slices("hi") == ["hi"]


def test_a_huge_piece_waits_for_the_loop_slice_by_slice() -> None:
    huge = "".join(f"Sentence {n}. " for n in range(2000))
    generation, posted, _ = start([huge])
    received: list[str] = []
    while True:
        event = posted.get(timeout=WAIT)
        if isinstance(event, StreamEnd):
            break
        assert isinstance(event, Chunk) and event.gen == 7
        assert len(event.text) <= MAX_CHUNK_CHARS
        received.append(event.text)
        # until the loop has taken it, no more text is queued behind it (the end may be)
        generation.thread.join(0.02)
        behind = list(posted.queue)
        assert behind in ([], [StreamEnd(7)]), behind
        generation.taken(event)
    assert "".join(received) == huge
    assert len(received) == len(slices(huge))


def test_small_pieces_do_not_wait_for_the_loop() -> None:
    pieces = ["Hello", " there", ". How", " are you?"]
    generation, posted, _ = start(pieces)
    generation.thread.join(WAIT)  # nothing taken, yet the whole reply was handed over
    events = [posted.get_nowait() for _ in range(len(pieces) + 1)]
    assert [e.text for e in events if isinstance(e, Chunk)] == pieces
    assert isinstance(events[-1], StreamEnd)


def test_cancel_releases_a_generation_waiting_for_the_loop() -> None:
    generation, posted, stream = start(["x" * (10 * MAX_CHUNK_CHARS)])
    first = posted.get(timeout=WAIT)
    assert isinstance(first, Chunk)
    generation.cancel()
    generation.thread.join(WAIT)
    assert not generation.thread.is_alive()
    assert posted.empty()  # a cancelled generation posts nothing more
    assert stream.closed.is_set()
