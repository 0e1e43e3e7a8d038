"""Every example command of README.md's modes table runs, as a new user would type it.

The table sits between ``<!-- modes`` and ``<!-- /modes -->``; each code span in it that is an
``fsm-agent`` command (or the ``.mdf`` line ``Plugin_AnyScript_Command=fsm-agent ...``) is run in
one fresh directory, in table order (the record row makes the file the replay row reads), with:

- ``OPENAI_BASE_URL`` pointing at the loopback fake OpenAI server, no key, no proxy variables;
- a stand-in ``espeak-ng`` first on ``PATH`` that writes down what it is asked to say;
- README's own ``agent.toml`` example (and the prompt file it names);
- ``demo`` with ``--fast`` added (the same code at 15 times the speed).

Each command must exit 0 and show its mode working: a ``SYNTH_START`` for the AnyScript mode,
spoken sentences for ``chat``, no broken rule for ``demo``, a replay summary, a diagram.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_cli import clean_env, run_agent

from fsm_agent.cli import COMMANDS
from fsm_agent.modes import diagram
from fsm_agent.testing import FakeOpenAI

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MDF_PREFIX = "Plugin_AnyScript_Command="


def modes_table(readme: str) -> str | None:
    """The text between the modes markers, or None when README has none."""
    found = re.search(r"<!-- modes\b[^\n]*-->\n(.*?)<!-- /modes -->", readme, flags=re.S)
    return found.group(1) if found else None


def example_commands(table: str) -> list[tuple[str, list[str]]]:
    """(mode, argv after ``fsm-agent``) of every command in the table, in order."""
    found: list[tuple[str, list[str]]] = []
    for line in table.splitlines():
        if not line.startswith("|") or line.startswith("| ---") or line.startswith("| mode "):
            continue
        mode = line.split("|")[1].strip()
        for span in re.findall(r"`([^`]+)`", line):
            text = span.replace("\\|", "|").removeprefix(MDF_PREFIX)
            if text.startswith("fsm-agent ") or text == "fsm-agent":
                found.append((mode, shlex.split(text)[1:]))
    return found


def subcommand(argv: list[str]) -> str:
    """The mode an argv runs: the first word that names one, else the default (run)."""
    return next((word for word in argv if word in COMMANDS), "run")


TABLE = modes_table(README.read_text(encoding="utf-8"))
EXAMPLES = example_commands(TABLE) if TABLE else []

FAKE_ESPEAK = """\
import sys
from pathlib import Path
with (Path(__file__).parent / "spoken.txt").open("a", encoding="utf-8") as log:
    log.write(sys.argv[-1] + "\\n")
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh directory with README's agent.toml and a stand-in espeak-ng."""
    work = tmp_path_factory.mktemp("readme")
    readme = README.read_text(encoding="utf-8")
    toml = re.search(r"```toml\n(.*?)```", readme, flags=re.S)
    assert toml, "README.md has no agent.toml example"
    (work / "agent.toml").write_text(toml.group(1), encoding="utf-8")
    prompt = re.search(r'^prompt_file\s*=\s*"([^"]+)"', toml.group(1), flags=re.M)
    if prompt:
        (work / prompt.group(1)).write_text("You are a test character.", encoding="utf-8")
    bin_dir = work / "bin"
    bin_dir.mkdir()
    (bin_dir / "fake_espeak.py").write_text(FAKE_ESPEAK, encoding="utf-8")
    if sys.platform == "win32":
        (bin_dir / "espeak-ng.bat").write_text(
            f'@"{sys.executable}" "%~dp0fake_espeak.py" %*\r\n', encoding="utf-8"
        )
    else:
        script = bin_dir / "espeak-ng"
        script.write_text(f"#!{sys.executable}\n{FAKE_ESPEAK}", encoding="utf-8")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return work


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI("Hello from the fake server. It works.") as fake:
        yield fake


def environment(work: Path, server: FakeOpenAI) -> dict[str, str]:
    env = clean_env(without_proxies=True, OPENAI_BASE_URL=server.base_url)
    env["PATH"] = str(work / "bin") + os.pathsep + env.get("PATH", "")
    return env


def fsm_agent(argv: list[str], work: Path, env: dict[str, str], stdin: str) -> tuple[int, str]:
    result = run_agent(*argv, stdin=stdin, env=env, cwd=work, timeout=120)
    assert result.returncode == 0, f"fsm-agent {shlex.join(argv)}: {result.stderr}"
    return result.returncode, result.stdout


def as_host(argv: list[str], work: Path, env: dict[str, str]) -> list[str]:
    """Run the AnyScript mode as MMDAgent-EX would: one utterance, its sentences answered."""
    child = subprocess.Popen(
        [sys.executable, "-m", "fsm_agent", *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=work,
        env=env,
    )
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in child.stdout], daemon=True).start()  # type: ignore[union-attr]
    printed: list[str] = []
    try:
        child.stdin.write(b"RECOG_EVENT_STOP|Hello there.\n")
        child.stdin.flush()
        printed.append(lines.get(timeout=60).decode("utf-8").rstrip("\n"))
        child.stdin.write(b"SYNTH_EVENT_START|0\nSYNTH_EVENT_STOP|0\n")
        child.stdin.close()
        assert child.wait(timeout=60) == 0, child.stderr.read().decode(errors="replace")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()
    return printed


def test_readme_has_a_modes_table() -> None:
    if TABLE is None:
        pytest.skip("README.md has no <!-- modes --> ... <!-- /modes --> block yet")
    modes = {mode for mode, _ in EXAMPLES}
    rows = [line for line in TABLE.splitlines() if line.startswith("| ") and " --- " not in line]
    assert len(modes) == len(rows) - 1, "every mode in the table needs a runnable example"
    assert {subcommand(argv) for _, argv in EXAMPLES} == set(COMMANDS), "a mode has no example"


@pytest.mark.skipif(TABLE is None, reason="README.md has no <!-- modes --> block yet")
def test_every_example_command_runs(workdir: Path, server: FakeOpenAI) -> None:
    env = environment(workdir, server)
    for mode, argv in EXAMPLES:
        where = f"{mode}: fsm-agent {shlex.join(argv)}"
        command = subcommand(argv)
        if command == "run":
            printed = as_host(argv, workdir, env)
            assert printed[0].startswith("SYNTH_START|0|"), where
        elif command == "chat":
            spoken_before = _spoken(workdir)
            _, out = fsm_agent(argv, workdir, env, "Hello there. How are you?\n/quit\n")
            assert "» " in out, where
            if "--speak" in argv:
                assert len(_spoken(workdir)) > len(spoken_before), where
        elif command == "demo":
            _, out = fsm_agent([*argv, "--fast"], workdir, env, "")
            assert out.rstrip().endswith("no rule broken"), where
        elif command == "replay":
            _, out = fsm_agent(argv, workdir, env, "")
            assert "# sent " in out, where
        elif command == "diagram":
            given = argv[argv.index("-o") + 1] if "-o" in argv else None
            asked = argv[argv.index("--format") + 1] if "--format" in argv else None
            fmt, path = diagram.choose(asked, Path(given) if given else None)
            if diagram.missing(fmt):
                continue  # an optional tool is not installed here; its test says so
            _, out = fsm_agent(argv, workdir, env, "")
            if path is not None:
                assert (workdir / path).stat().st_size > 0, where
            else:
                assert out.startswith("---" if fmt == "mermaid" else "digraph"), where
        else:  # pragma: no cover - a new mode needs its check here
            raise AssertionError(f"no check for the mode {command!r} ({where})")


def _spoken(work: Path) -> list[str]:
    log = work / "bin" / "spoken.txt"
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def test_the_parser_finds_commands_and_unescapes_bars() -> None:
    table = (
        "| mode | example |\n| --- | --- |\n"
        "| a | `.mdf`: `Plugin_AnyScript_Command=fsm-agent --config agent.toml` |\n"
        "| b | `fsm-agent diagram -o x.svg` (not `--format svg\\|png`) |\n"
        '| c | `fsm-agent chat --tts-command "espeak-ng -s 160"` and `RECOG_EVENT_STOP\\|hi` |\n'
    )
    assert example_commands(table) == [
        ("a", ["--config", "agent.toml"]),
        ("b", ["diagram", "-o", "x.svg"]),
        ("c", ["chat", "--tts-command", "espeak-ng -s 160"]),
    ]
    assert [subcommand(argv) for _, argv in example_commands(table)] == ["run", "diagram", "chat"]
