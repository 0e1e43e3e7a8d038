"""The history file (issue 17): what is written, what loads, what is skipped, what is kept."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from fsm_agent.core.history import History, Turn
from fsm_agent.core.settings import ConfigError
from fsm_agent.core.summary import clean_summary, clip_tokens, summary_request
from fsm_agent.runtime.history_file import HistoryFile, open_history_file, parse
from fsm_agent.runtime.logs import add_secret


def fresh(limit: int = 20, tokens: int = 3000, summarize: bool = False) -> History:
    return History("sys", limit, tokens, summarize=summarize)


def test_turns_written_one_by_one_load_back_in_order(tmp_path: Path) -> None:
    path = tmp_path / "memory.jsonl"
    memory = open_history_file(path, fresh())
    assert memory is not None
    memory.add_turn(1, "私はアキです", "よろしく、アキさん。")
    memory.add_turn(2, "stop", "Well…", interrupted=True)
    # no close: what is flushed is on disk, as after a SIGKILL
    history = fresh()
    open_history_file(path, history)
    assert [(t.n, t.user, t.assistant, t.interrupted) for t in history.turns] == [
        (1, "私はアキです", "よろしく、アキさん。", False),
        (2, "stop", "Well…", True),
    ]
    assert history.commit("again", "yes").n == 3
    assert "私はアキです" in path.read_text(encoding="utf-8")  # readable, not \\u-escaped


def test_a_line_cut_mid_write_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "memory.jsonl"
    whole = json.dumps({"n": 1, "user": "hello", "assistant": "Hi there."}) + "\n"
    cut = json.dumps({"n": 2, "user": "and then", "assistant": "Then we"})[:25]
    path.write_text(whole + cut, encoding="utf-8")
    history = fresh()
    with caplog.at_level(logging.WARNING, "fsm_agent"):
        memory = open_history_file(path, history)
    assert [t.user for t in history.turns] == ["hello"]
    assert "line 2: cut off" in caplog.text
    assert memory is not None
    memory.add_turn(2, "next", "Fine.")
    reloaded = parse(path.read_bytes())
    assert [t.user for t in reloaded.turns] == ["hello", "next"]
    assert not reloaded.untidy  # the cut line was rewritten away, the new one is whole


def test_a_notepad_file_with_bom_and_crlf_and_no_numbers_loads(tmp_path: Path) -> None:
    path = tmp_path / "memory.jsonl"
    lines = [
        '{"summary": "The user is called Aki and likes tea."}',
        '{"user": "What do I like?", "assistant": "Tea, I think."}',
        '{"user": "好きな色は？", "assistant": "青です。"}',
    ]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8") + b"\r\n")
    history = fresh()
    open_history_file(path, history)
    assert history.summary == "The user is called Aki and likes tea."
    assert [t.user for t in history.turns] == ["What do I like?", "好きな色は？"]
    assert [t.n for t in history.turns] == [1, 2]
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert b"\r" not in path.read_bytes()


def test_loading_trims_by_the_usual_limits(tmp_path: Path) -> None:
    path = tmp_path / "memory.jsonl"
    path.write_text(
        "".join(
            json.dumps({"n": i, "user": f"u{i}", "assistant": f"a{i}"}) + "\n" for i in range(1, 31)
        ),
        encoding="utf-8",
    )
    history = fresh(limit=3)
    open_history_file(path, history)
    assert [t.user for t in history.turns] == ["u28", "u29", "u30"]
    assert len(parse(path.read_bytes()).turns) == 3  # the stale 27 were compacted away


def test_with_summaries_the_trimmed_turns_wait_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "memory.jsonl"
    path.write_text(
        json.dumps({"summary": "Old news.", "through": 2})
        + "\n"
        + "".join(
            json.dumps({"n": i, "user": f"u{i}", "assistant": f"a{i}"}) + "\n" for i in range(3, 9)
        ),
        encoding="utf-8",
    )
    history = fresh(limit=2, summarize=True)
    open_history_file(path, history)
    assert history.summary == "Old news."
    assert [t.n for t in history.pending] == [3, 4, 5, 6]
    assert [t.n for t in history.turns] == [7, 8]
    assert "Old news." in history.messages()[0]["content"]


def test_a_summary_covers_the_turns_before_its_through(tmp_path: Path) -> None:
    data = "".join(
        json.dumps(r) + "\n"
        for r in [
            {"n": 1, "user": "u1", "assistant": "a1"},
            {"n": 2, "user": "u2", "assistant": "a2"},
            {"summary": "S1", "through": 1},
            {"n": 3, "user": "u3", "assistant": "a3"},
        ]
    )
    saved = parse(data.encode())
    assert saved.summary == "S1"
    assert [t.n for t in saved.turns] == [2, 3]


def test_clear_empties_the_file_and_later_turns_still_land(tmp_path: Path) -> None:
    path = tmp_path / "memory.jsonl"
    memory = open_history_file(path, fresh())
    assert memory is not None
    memory.add_turn(1, "secret plans", "Noted.")
    memory.clear()
    assert path.read_bytes() == b""
    memory.add_turn(1, "hello", "Hi.")
    assert [t.user for t in parse(path.read_bytes()).turns] == ["hello"]


def test_the_api_key_is_never_written(tmp_path: Path) -> None:
    key = "sk-test-MEMSECRET-0123456789"
    add_secret(key)
    path = tmp_path / "memory.jsonl"
    memory = open_history_file(path, fresh())
    assert memory is not None
    memory.add_turn(1, f"my key is {key}", f"Your key {key} is safe.")
    memory.add_summary(f"The key {key}.", 1)
    assert key not in path.read_text(encoding="utf-8")


def test_an_unreadable_or_unwritable_path_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="history file"):
        open_history_file(tmp_path, fresh())  # a folder
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match=r"cannot (read|write) the history file"):
        open_history_file(blocker / "sub" / "memory.jsonl", fresh())


def test_a_missing_folder_is_created(tmp_path: Path) -> None:
    path = tmp_path / "new" / "memory.jsonl"
    memory = open_history_file(path, fresh())
    assert memory is not None
    memory.add_turn(1, "a", "b")
    assert path.exists()


def test_a_failing_write_warns_once_and_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    memory = HistoryFile(tmp_path / "m.jsonl")
    memory.open(fresh(), parse(b""))
    assert memory._file is not None
    memory._file.close()  # every write now fails
    with caplog.at_level(logging.WARNING, "fsm_agent"):
        memory.add_turn(1, "a", "b")
        memory.add_turn(2, "c", "d")
    assert caplog.text.count("cannot write the history file") == 1


def test_summary_request_takes_the_oldest_turns_within_the_budget() -> None:
    turns = [Turn(f"question {i} " * 20, f"answer {i} " * 20, i) for i in range(1, 30)]
    messages, through = summary_request("Earlier: hello.", turns, 200, 600)
    assert 1 <= through < 29
    assert "Earlier: hello." in messages[1]["content"]
    assert "question 1 " in messages[1]["content"]
    assert f"question {through + 1} " not in messages[1]["content"]
    one, through_one = summary_request("", [Turn("x" * 10_000, "y", 5)], 200, 300)
    assert through_one == 5 and len(one[1]["content"]) < 2000


def test_clean_summary_drops_reasoning_and_keeps_the_size() -> None:
    raw = "<think>let me see</think>\n  The user, Aki, likes tea.  " + "She plans a trip. " * 200
    text = clean_summary(raw, 60)
    assert text.startswith("The user, Aki, likes tea.")
    assert "think" not in text
    assert text.endswith(".")
    assert clip_tokens("short", 60) == "short"


def test_when_the_rewrite_fails_a_cut_line_still_swallows_no_new_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fsm_agent.runtime.history_file as module

    def refuse(*args: object) -> None:
        raise PermissionError(13, "in use by another program")

    monkeypatch.setattr(module.os, "replace", refuse)
    path = tmp_path / "memory.jsonl"
    path.write_bytes(b'{"n": 1, "user": "a", "assistant": "b"}\n{"n": 2, "user": "c", "assis')
    memory = open_history_file(path, fresh())
    assert memory is not None
    memory.add_turn(2, "next", "Fine.")
    assert [t.user for t in parse(path.read_bytes()).turns] == ["a", "next"]


def test_a_history_file_that_cannot_work_is_refused_at_start_in_one_line(tmp_path: Path) -> None:
    from agent_cli import clean_env, run_agent

    result = run_agent("--backend", "echo", "--history-file", str(tmp_path), env=clean_env())
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()  # the reason is the platform's words
    assert line.startswith(f"fsm-agent: error: cannot read the history file {tmp_path}: ")


def test_a_notepad_unicode_file_loads_and_unreadable_lines_are_kept_aside(tmp_path: Path) -> None:
    path = tmp_path / "memory.jsonl"
    text = '{"user": "こんにちは", "assistant": "やあ。"}\r\nmy own note, not JSON\r\n'
    path.write_bytes(text.encode("utf-16"))  # with its BOM, as Notepad's "Unicode" saves
    history = fresh()
    open_history_file(path, history)
    assert [(t.user, t.assistant) for t in history.turns] == [("こんにちは", "やあ。")]
    assert (tmp_path / "memory.jsonl.skipped").read_bytes() == b"my own note, not JSON\n"
    assert [t.user for t in parse(path.read_bytes()).turns] == ["こんにちは"]  # now UTF-8


def test_a_line_cut_by_a_kill_is_not_kept_aside(tmp_path: Path) -> None:
    path = tmp_path / "memory.jsonl"
    path.write_bytes(b'{"n": 1, "user": "a", "assistant": "b"}\n{"n": 2, "us')
    open_history_file(path, fresh())
    assert not (tmp_path / "memory.jsonl.skipped").exists()
