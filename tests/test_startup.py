"""The path that reads the host's first lines must not wait for ``import openai``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from agent_cli import clean_env, run_agent


def test_anyscript_path_does_not_import_openai() -> None:
    code = (
        "import sys\n"
        "import fsm_agent.cli, fsm_agent.modes.run, fsm_agent.runtime.loop\n"
        "import fsm_agent.core.controller, fsm_agent.backends.factory\n"
        "from fsm_agent.config.load import load_settings\n"
        "from fsm_agent.core.controller import Controller\n"
        "Controller(load_settings(environ={}))\n"
        "print('openai' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_asyncio_and_openai_are_imported_on_the_backend_thread_only() -> None:
    """The main thread goes on to read the host's lines while the backend thread imports."""
    code = (
        "import sys, threading\n"
        "seen = {}\n"
        "class Spy:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name in ('asyncio', 'openai'):\n"
        "            seen.setdefault(name, threading.current_thread().name)\n"
        "sys.meta_path.insert(0, Spy())\n"
        "from fsm_agent.backends.factory import make_backend\n"
        "from fsm_agent.config.load import load_settings\n"
        "local = {'base_url': 'http://127.0.0.1:9/v1', 'no_prewarm': True}  # no request\n"
        "settings = load_settings(overrides=local, environ={'OPENAI_API_KEY': 'sk-test-x'})\n"
        "backend = make_backend(settings)\n"
        "backend.client()\n"
        "backend.close()\n"
        "print(seen['asyncio'], seen['openai'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["openai", "openai"]


def test_anyscript_path_imports_no_other_mode() -> None:
    """The host's command parses its flags without importing chat, demo, replay or diagram."""
    code = (
        "import atexit, runpy, sys\n"
        "atexit.register(lambda: print(sorted(m for m in sys.modules if m.startswith("
        "'fsm_agent.modes.'))))\n"
        "sys.argv = ['fsm-agent', '--backend', 'echo', '--log-level', 'warning']\n"
        "runpy.run_module('fsm_agent', run_name='__main__')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input="",
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "['fsm_agent.modes.run']"


def test_a_mode_is_imported_only_when_it_is_the_one_parsed() -> None:
    code = (
        "import sys\n"
        "from fsm_agent.cli import build_parser\n"
        "parser = build_parser()\n"
        "args = parser.parse_args(['demo', '--fast'])\n"
        "print(args.fast, *sorted(m for m in sys.modules if m.startswith('fsm_agent.modes.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    fast, *modules = out.stdout.split()
    assert fast == "True"
    modes = {f"fsm_agent.modes.{name}" for name in ("run", "replay", "chat", "demo", "diagram")}
    assert modes.intersection(modules) == {"fsm_agent.modes.demo"}


def test_help_explains_every_setting() -> None:
    result = run_agent("--help")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for flag in (
        "--model", "--base-url", "--voice", "--alias", "--lang", "--system-prompt", "--prompt-file",
        "--history-turns", "--synth-timeout", "--log-file", "--log-level", "--barge-in",
        "--error-reply", "--config", "--record", "--no-stream", "--backend",
    ):  # fmt: skip
        assert flag in out
    assert "Plugin_AnyScript_Command=fsm-agent" in out
    flat = " ".join(out.split())
    assert "--synth-seconds-per-char SEC wait at least this long per character" in flat
    assert "--synth-timeout SEC wait this long past a sentence's expected end" in flat
    assert "--voices LANG=VOICE,... a voice per language" in flat
    assert "--voice-engines VOICE=ENGINE,... which synthesizer has each voice" in flat
    assert "--log-level {debug,info,warning,error} how much to log" in flat
    assert "not together with --system-prompt" in flat
    assert "replaces both from earlier sources" in flat


def test_bad_setting_is_one_line_not_a_traceback() -> None:
    out = run_agent("--barge-in", "never", "--synth-timeout", "-1")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "fsm-agent: error: synth_timeout must be more than 0 and at most 3600 seconds"
    )


@pytest.mark.parametrize(
    "flags",
    [
        ["--synth-timeout", "inf"],
        ["--synth-timeout", "1e300"],
        ["--synth-timeout", "nan"],
        ["--stream-timeout", "nan"],
        ["--stream-timeout", "inf"],
        ["--synth-seconds-per-char", "nan"],
        ["--synth-seconds-per-char", "1e300"],
        ["--alias", "a|b"],
        ["--voice", "v" * 99 + "vv"],
    ],
)
def test_unusable_numbers_and_aliases_are_one_line_errors(flags: list[str]) -> None:
    out = run_agent(*flags, env={**os.environ, "OPENAI_API_KEY": "sk-unused"})
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert out.stderr.startswith("fsm-agent: error: ")


def test_no_key_and_no_base_url_is_a_clear_error_not_a_silent_avatar() -> None:
    env = clean_env()
    for mode in ([], ["chat"]):
        out = run_agent(*mode, env=env)
        assert out.returncode == 2
        assert "no API key: set OPENAI_API_KEY" in out.stderr
        assert "Traceback" not in out.stderr


def test_a_log_file_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "x.log"
    flags = ["--backend", "echo", "--log-file", str(missing)]
    for mode in ([], ["chat"]):
        out = run_agent(*mode, *flags)
        assert out.returncode == 2
        assert out.stderr.strip() == (
            f"fsm-agent: error: cannot write the log file {missing}: No such file or directory"
        )


def test_a_system_prompt_over_the_token_budget_is_warned_about_once_at_start() -> None:
    def run(*flags: str) -> str:
        stdin = "RECOG_EVENT_STOP|hi\nRECOG_EVENT_STOP|again\n"
        return run_agent("--backend", "echo", *flags, stdin=stdin).stderr

    warned = run("--history-tokens", "50", "--system-prompt", "word " * 100)
    assert warned.count("the system prompt alone is about") == 1
    assert "more than history_tokens (50)" in warned
    assert "the system prompt alone" not in run("--history-tokens", "50")


def test_modes_other_than_run_give_the_quit_signals_back(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import signal

    from fsm_agent import cli

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    assert cli.main(["diagram"]) == 0
    assert {s: signal.getsignal(s) for s in before} == before  # chat's Ctrl-C stays its own
    assert "stateDiagram" in capsys.readouterr().out


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM by os.kill ends a process on Windows")
@pytest.mark.parametrize(
    "take",
    [
        "from fsm_agent.__main__ import take_quit_signals; take_quit_signals()",
        "from fsm_agent import cli; from fsm_agent.runtime.signals import install_quit_signals\n"
        "install_quit_signals(cli._exit_now)",
    ],
    ids=["entry point", "command line"],
)
def test_a_start_up_quit_signal_that_lands_in_a_del_still_ends_the_process(take: str) -> None:
    """Start-up compiles hundreds of regex patterns whose parser objects have a ``__del__``."""
    code = (
        "import os, signal\n"
        f"{take}\n"
        "class Parsed:\n"
        "    def __del__(self):\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "        sum(range(100000))  # the handler runs in here\n"
        "Parsed()\n"
        "print('still running: the quit signal was lost')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout) == (0, "")
