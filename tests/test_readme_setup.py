"""The set-up the READMEs give works: install blocks, hints, the by-hand session, the TOML.

README.md's Linux/macOS install block and test command are what CI runs on a fresh machine
(.ci/run); the checks here cover what CI cannot run: the Windows block says the same, the
extras and hint packages exist, the session typed by hand is what the real process does, and
README.ja.md gives the same commands as README.md (whose commands the modes test runs).
"""

from __future__ import annotations

import queue
import re
import shlex
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest
from agent_cli import clean_env

from fsm_agent import __version__
from fsm_agent.backends.proxy import SOCKS_EXTRA
from fsm_agent.config.load import read_toml
from fsm_agent.modes import diagram

ROOT = Path(__file__).resolve().parents[1]
READMES = [p for p in (ROOT / "README.md", ROOT / "README.ja.md") if p.exists()]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def block(text: str, name: str) -> list[str]:
    """The command lines of the fenced block between ``<!-- name -->`` and ``<!-- /name -->``."""
    pattern = rf"<!-- {name}(?=[ :])[^\n]*-->\n```[^\n]*\n(.*?)```\n<!-- /{name} -->"
    found = re.search(pattern, text, flags=re.S)
    assert found, f"no <!-- {name} --> block"
    return [line for line in found.group(1).splitlines() if line.strip()]


def extras_installed(line: str) -> set[str]:
    found = re.search(r'-e "\.\[([^\]]*)\]"', line)
    assert found, line
    return set(found.group(1).split(","))


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.name)
def test_the_install_blocks_create_a_venv_and_install_every_extra(readme: Path) -> None:
    text = readme.read_text(encoding="utf-8")
    posix, windows = block(text, "install"), block(text, "install-windows")
    assert len(posix) == 2 and len(windows) == 2, "two commands each"
    assert posix[0] == "python3 -m venv .venv" and posix[1].startswith(". .venv/bin/activate && ")
    assert windows[0] == "py -3 -m venv .venv"
    assert windows[1].startswith(".venv\\Scripts\\Activate.ps1; ")
    extras = extras_installed(posix[1])
    assert extras == extras_installed(windows[1])
    assert extras == set(PYPROJECT["project"]["optional-dependencies"])  # socks included
    assert block(text, "test") == ["python -m pytest"]


def test_the_socks_test_needs_only_what_the_install_gives() -> None:
    test_extra = " ".join(PYPROJECT["project"]["optional-dependencies"]["test"])
    assert "socksio" in test_extra  # so the end-to-end SOCKS test never skips


@pytest.mark.parametrize(
    ("hint", "extra"), [(SOCKS_EXTRA, "socks"), (diagram._GET_PACKAGE, "diagrams")]
)
def test_install_hints_name_the_package_of_the_extra(hint: str, extra: str) -> None:
    # fsm-agent is on no index: 'fsm-agent[socks]' fails outside a checkout; the package works.
    package = hint.split()[-1]
    assert hint == f"python -m pip install {package}"
    assert any(
        dep.startswith(package) for dep in PYPROJECT["project"]["optional-dependencies"][extra]
    )


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.name)
def test_the_wheel_named_is_the_one_this_version_builds(readme: Path) -> None:
    wheels = re.findall(r"fsm_agent-([\w.]+)-py3-none-any\.whl", readme.read_text("utf-8"))
    assert wheels and set(wheels) == {__version__}
    assert PYPROJECT["project"]["dynamic"] == ["version"]  # the version is stated once


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.name)
def test_the_session_typed_by_hand_is_what_the_process_does(readme: Path) -> None:
    lines = block(readme.read_text(encoding="utf-8"), "by-hand")
    assert lines[0].startswith("$ fsm-agent ")
    child = subprocess.Popen(
        [sys.executable, "-m", "fsm_agent", *shlex.split(lines[0])[2:]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=clean_env(without_proxies=True),
    )
    assert child.stdin is not None and child.stdout is not None
    printed: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=lambda: [printed.put(x) for x in child.stdout], daemon=True).start()  # type: ignore[union-attr]
    try:
        for line in lines[1:]:
            if line.startswith("> "):
                child.stdin.write(line[2:].encode("utf-8") + b"\n")
                child.stdin.flush()
            else:
                assert printed.get(timeout=30).decode("utf-8").rstrip("\n") == line
        child.stdin.close()
        assert child.wait(timeout=30) == 0
        assert printed.empty()  # nothing more than the README shows
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.name)
def test_the_agent_toml_example_loads(readme: Path, tmp_path: Path) -> None:
    toml = re.search(r"```toml\n(.*?)```", readme.read_text(encoding="utf-8"), flags=re.S)
    assert toml, "no agent.toml example"
    config = tmp_path / "agent.toml"
    config.write_text(toml.group(1), encoding="utf-8")
    values = read_toml(config)
    assert values["log_file"] == tmp_path / "fsm-agent.log"  # relative to the TOML file


def commands(text: str) -> set[str]:
    """Every ``fsm-agent ...`` command and ``.mdf`` line the text shows, as written."""
    spans = re.findall(r"`((?:Plugin_AnyScript_Command=)?fsm-agent(?: [^`]*)?)`", text)
    lines = [
        line.removeprefix("$ ")
        for code in re.findall(r"```[^\n]*\n(.*?)```", text, flags=re.S)
        for line in code.splitlines()
        if re.match(r"(\$ )?(fsm-agent|Plugin_AnyScript_Command=|python)", line)
    ]
    return set(spans) | set(lines)


@pytest.mark.skipif(len(READMES) < 2, reason="no README.ja.md yet")
def test_the_japanese_readme_gives_only_commands_the_english_one_gives_and_tests() -> None:
    english, japanese = (commands(p.read_text(encoding="utf-8")) for p in READMES)
    assert japanese, "README.ja.md shows no command"
    assert japanese <= english, sorted(japanese - english)
