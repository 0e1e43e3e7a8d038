"""The recorded runs of the real MMDAgent-EX as fixtures (issue 11).

- ``fsm-agent replay`` of each recorded host log sends the lines fsm-agent sent in that run. The
  one deliberate difference: a sentence for an Open JTalk voice has its ASCII widened, which
  keeps run3's 60 ASCII digits (the line that crashed the host) from crashing it.
- The real fsm-agent process, against the simulator that dies as the real host did, says an
  English sentence, a URL and 40 ASCII digits with its Japanese voice without killing it.
"""

from __future__ import annotations

import sys

import pytest
from agent_cli import clean_env, run_agent
from recordings import RUNS, RUNS_DIR

from fsm_agent.core.voices import is_safe_for_open_jtalk, widen_ascii
from fsm_agent.modes.replay_transcript import read_transcript, spoken_replies
from fsm_agent.sim.host_process import HostProcess
from fsm_agent.sim.host_sim import HostSim
from fsm_agent.testing import FakeOpenAI


def _as_sent_now(line: str) -> str:
    fields = line.split("|", 3)
    if fields[0] == "SYNTH_START" and fields[2].startswith("mei_"):
        return "|".join([*fields[:3], widen_ascii(fields[3])])
    return line


@pytest.mark.parametrize("run", RUNS)
def test_replaying_a_recorded_host_log_sends_the_recorded_lines(run: str) -> None:
    path = RUNS_DIR / run / "host.log"
    recorded = spoken_replies(read_transcript(path.read_bytes().splitlines()), "0").sent
    result = run_agent("replay", str(path), "--sent-only")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [_as_sent_now(line) for line in recorded]
    if run in ("run2", "run4", "alllog", "childdeath"):
        assert recorded == [_as_sent_now(line) for line in recorded]  # nothing else changed
        assert "the same lines as in the transcript" in run_agent("replay", str(path)).stdout


def test_run3_s_crash_line_is_now_sent_widened() -> None:
    path = RUNS_DIR / "run3" / "host.log"
    out = run_agent("replay", str(path)).stdout
    assert "#   spoken:   SYNTH_START|0|mei_voice_normal|" + "1234567890" * 6 + "。" in out
    assert (
        "#   replayed: SYNTH_START|0|mei_voice_normal|" + "１２３４５６７８９０" * 6 + "。" in out
    )


def test_what_crashed_the_real_host_reaches_the_simulated_one_only_in_a_safe_form() -> None:
    reply = "Hello! My name is Mei. See https://example.com/a?b=1 now. " + "1234567890" * 4 + "."
    with FakeOpenAI(reply=reply, token_delay=0.0) as server:
        env = clean_env(OPENAI_API_KEY="sk-test-fake", OPENAI_BASE_URL=server.base_url)
        sim = HostSim(chars_per_second=200.0, min_seconds=0.05)  # dies as the real host does
        host = HostProcess(
            [sys.executable, "-m", "fsm_agent", "--lang", "en"], sim, env=env
        ).start()
        host.say("introduce yourself")
        assert host.wait_until(lambda: len(host.sim.spoken) == 4 or host.sim.crashed, 30)
        assert host.wait_idle(quiet=0.3, timeout=30)
        assert host.close(timeout=30) == 0
    assert host.sim.crashed is None and host.sim.violations == []
    assert [s.text for s in host.sim.spoken] == [
        widen_ascii("Hello!"),
        widen_ascii("My name is Mei."),
        widen_ascii("See example.com now."),  # a bare URL is said as its host
        widen_ascii("1234567890" * 4 + "."),
    ]


def test_a_real_host_run_with_widened_sentences_replays_to_the_same_lines() -> None:
    """Recorded after the widening: English, a URL and 40 ASCII digits said by mei_voice_normal.

    The real host (MMDAgent-EX built from source, Open JTalk) lived through every sentence and
    spoke the 60 full-width digits whole. Replaying its log narrows the widened text back to what
    the model wrote, so the replay sends exactly the recorded lines.
    """
    path = RUNS_DIR / "widened" / "host.log"
    recorded = spoken_replies(read_transcript(path.read_bytes().splitlines()), "0").sent
    assert any("Ｈｅｌｌｏ！" in line for line in recorded)
    starts = [line.split("|", 3) for line in recorded if line.startswith("SYNTH_START|")]
    assert all(is_safe_for_open_jtalk(fields[3]) for fields in starts)
    out = run_agent("replay", str(path))
    assert out.returncode == 0, out.stderr
    assert "the same lines as in the transcript" in out.stdout


def test_a_real_host_run_with_the_first_clause_first_replays_to_the_same_lines() -> None:
    """Recorded with first_clause = 8 and the first sentence at once (issue 14's defaults).

    The real host spoke each reply's first clause as a unit of its own and lived; the replay,
    which has each reply whole, splits the first sentence at the same clause.
    """
    path = RUNS_DIR / "first-unit" / "host.log"
    recorded = spoken_replies(read_transcript(path.read_bytes().splitlines()), "0").sent
    texts = [line.split("|", 3)[3] for line in recorded if line.startswith("SYNTH_START|")]
    assert texts[:2] == ["ありがとうございます、", "その質問にはすぐにお答えしますね。"]
    assert "Ｈｅｌｌｏ ｔｈｅｒｅ，" in texts
    out = run_agent("replay", str(path))
    assert out.returncode == 0, out.stderr
    assert "the same lines as in the transcript" in out.stdout
    out = run_agent("replay", str(path), "--first-clause", "0")
    assert "the same lines as in the transcript" not in out.stdout  # the split is the default's
