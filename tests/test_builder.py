"""TextBuilder: the text it reads back is the pieces appended, whenever it is read."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fsm_agent.text.builder import TextBuilder

STEPS = st.lists(st.one_of(st.text(max_size=5), st.none(), st.just("<clear>")), max_size=30)


@given(start=st.text(max_size=5), steps=STEPS)
def test_reads_what_was_appended(start: str, steps: list[str | None]) -> None:
    built, expected = TextBuilder(start), start
    for step in steps:
        if step is None:  # a read in between changes nothing
            assert str(built) == expected
        elif step == "<clear>":
            built.clear()
            expected = ""
        else:
            built.append(step)
            expected += step
        assert len(built) == len(expected)
    assert str(built) == expected
    assert str(built) == expected
