"""Run every event-sequence table in tests/cases against the pure Controller.

Each ``[[case]]`` is one test; see ``tests/table_runner.py`` for the format. Besides the cases:
every (state, trigger) pair of ``fsm_agent.core.table`` and every (row, source state) of the
transition table must be exercised by some case, and the runner itself must catch a wrong
expectation.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from table_runner import (
    Case,
    CaseFailure,
    CaseFormatError,
    Coverage,
    load_cases,
    parse_file,
    run_case,
)

from fsm_agent.core.table import TRANSITIONS, pairs

CASES = load_cases()


def _param(case: Case) -> object:
    marks = (
        [pytest.mark.xfail(reason=case.xfail, raises=CaseFailure, strict=True)]
        if case.xfail
        else []
    )
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case(case: Case) -> None:
    if case.xfail:
        run_case(case)
        return
    message = ""
    try:
        run_case(case)
    except CaseFailure as failure:
        message = str(failure)
    if message:
        pytest.fail(message, pytrace=False)


def _coverage() -> Coverage:
    total = Coverage()
    for case in CASES:
        if case.xfail:
            continue  # a case that shows a bug does not count as coverage
        got = run_case(case, check=False)
        total.pairs |= got.pairs
        total.rows |= got.rows
    return total


def test_enough_cases() -> None:
    assert len(CASES) >= 40, f"only {len(CASES)} cases in tests/cases"


def test_every_state_trigger_pair_is_covered() -> None:
    missing = sorted(pairs() - _coverage().pairs)
    assert not missing, f"(state, trigger) pairs of fsm_agent.core.table no case reaches: {missing}"


def test_every_table_row_fires_from_every_source() -> None:
    wanted: set[tuple[int, str]] = set()
    for index, row in enumerate(TRANSITIONS):
        sources = row.source if isinstance(row.source, tuple) else (row.source,)
        wanted |= {(index, state) for state in sources}
    missing = sorted(wanted - _coverage().rows)
    described = [
        f"{TRANSITIONS[i].trigger} in {state} [{TRANSITIONS[i].guard or 'always'}]"
        for i, state in missing
    ]
    assert not missing, f"transition rows no case fires: {described}"


def test_the_runner_catches_wrong_output() -> None:
    case = next(c for c in CASES if not c.xfail and any(r.out for r in c.rows))
    first = next(r for r in case.rows if r.out)
    wrong_row = dataclasses.replace(first, out=(*first.out, "SYNTH_STOP|0"))
    rows = tuple(wrong_row if r is first else r for r in case.rows)
    with pytest.raises(CaseFailure, match=rf"row {first.number} .*\n.*out:"):
        run_case(dataclasses.replace(case, rows=rows))


def test_the_runner_catches_a_wrong_state() -> None:
    case = CASES[0]
    last = case.rows[-1]
    other = "Speaking" if last.state != "Speaking" else "Idle"
    rows = (*case.rows[:-1], dataclasses.replace(last, state=other))
    with pytest.raises(CaseFailure, match=f"state:   expected {other}"):
        run_case(dataclasses.replace(case, rows=rows))


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"state": "Idle"}, "exactly one input"),
        ({"host": "X", "chunk": "y", "state": "Idle"}, "exactly one input"),
        ({"host": "X"}, "state is required"),
        ({"host": "X", "state": "Idle", "outt": []}, "unknown keys"),
        ({"deadline": "soon", "state": "Idle"}, "deadline"),
        ({"end": True, "tokens": "3", "state": "Idle"}, "tokens"),
        ({"host_bytes": "zz", "state": "Idle"}, "hex"),
    ],
)
def test_bad_rows_are_rejected(row: dict[str, object], message: str) -> None:
    data = {"case": [{"name": "x", "description": "d", "row": [row]}]}
    with pytest.raises(CaseFormatError, match=message):
        parse_file(Path("bad.toml"), data)
