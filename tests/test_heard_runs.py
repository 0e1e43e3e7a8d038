"""The heard-* runs of the real MMDAgent-EX (benchmarks/heard_pause.py's fixture, issue 14).

- What fsm-agent sent the real host in each run is what it sends today for the same host lines,
  with the run's own flags: one unit, or with ``--first-clause 4`` two, split at the 、.
- The recorded audio was heard in every turn, only after the turn's first SYNTH_START, and each
  two-unit turn's longest silence holds the first unit's SYNTH_EVENT_STOP (the silence measured
  as the gap between the units is that one).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from agent_cli import clean_env, run_agent
from recordings import RUNS_DIR

_SPEC = importlib.util.spec_from_file_location(
    "heard_pause", Path(__file__).resolve().parents[1] / "benchmarks" / "heard_pause.py"
)
assert _SPEC is not None and _SPEC.loader is not None
heard_pause = importlib.util.module_from_spec(_SPEC)
sys.modules["heard_pause"] = heard_pause  # its dataclasses look their module up
_SPEC.loader.exec_module(heard_pause)

HEARD = tuple(sorted(p.name for p in RUNS_DIR.glob("heard-*") if (p / "run.env").is_file()))


def _env(run: str) -> dict[str, str]:
    return heard_pause.run_env(RUNS_DIR / run)


def test_every_setting_has_both_one_and_two_units_of_each_reply() -> None:
    settings = heard_pause.runs_by_setting(RUNS_DIR)
    assert set(settings) >= {"asis", "rec20"}
    for replies in settings.values():
        for runs in replies.values():
            assert set(runs) == {"one", "two"}


def _host_lines(run: str) -> list[str]:
    rows = (RUNS_DIR / run / "host-stdout.tsv").read_text(encoding="utf-8").splitlines()
    return [row.split("\t", 1)[1] for row in rows]


@pytest.mark.parametrize("run", HEARD)
def test_replaying_a_heard_run_with_its_flags_sends_what_was_sent(run: str, tmp_path: Path) -> None:
    env = _env(run)
    flags = env["FSM_ARGS"].split()
    assert flags == (["--first-clause", "4"] if env["units"] == "two" else [])
    sent = [line.split("|", 3)[3] for line in _host_lines(run) if line.startswith("SYNTH_START|0|")]
    reply = env["replies"]
    cut = reply.index("、") + 1
    units = [reply[:cut], reply[cut:]] if flags else [reply]
    assert sent == units * 7
    transcript = tmp_path / "host.txt"
    transcript.write_text("\n".join(_host_lines(run)) + "\n", encoding="utf-8")
    # The runs were recorded when first_clause was off by default: say so to today's replay.
    replay_flags = flags or ["--first-clause", "0"]
    result = run_agent("replay", str(transcript), *replay_flags, env=clean_env())
    assert result.returncode == 0, result.stderr
    assert "the same lines as in the transcript" in result.stdout


@pytest.mark.parametrize("run", HEARD)
def test_every_turn_of_a_heard_run_was_heard_after_its_synth_start(run: str) -> None:
    turns = heard_pause.turns_of(RUNS_DIR / run)
    assert len(turns) == 7
    for turn in turns:
        assert turn.sounds, f"nothing heard in the turn at {turn.start}"
        assert turn.units[0].sent < turn.sounds[0][0]
        assert all(unit.stop for unit in turn.units)
        if _env(run)["units"] == "two":
            start, end = heard_pause.longest_silence(turn.sounds)
            assert start <= turn.units[0].stop <= end
