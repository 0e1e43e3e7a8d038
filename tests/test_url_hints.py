"""A failed LLM request names the URL it asked and the likely mistake; a URL that cannot work
is refused at start. Through the real ``openai`` client against loopback servers."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from agent_cli import clean_env, run_agent

from fsm_agent.backends.openai_compat import OpenAIBackend
from fsm_agent.config.load import load_settings, require_llm_access
from fsm_agent.core.settings import ConfigError, Settings
from fsm_agent.runtime.logs import describe_error
from fsm_agent.testing.fake_openai import FakeOpenAI

HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI("Hello there.") as fake:
        yield fake


def failure(base_url: str, **changes: object) -> str:
    """The one line a turn's failure is logged with, asking ``base_url``."""
    settings = replace(Settings(), base_url=base_url, max_retries=0, **changes)  # type: ignore[arg-type]
    backend = OpenAIBackend(settings)
    try:
        with pytest.raises(Exception) as caught:
            list(backend.open(HELLO))
        return describe_error(caught.value)
    finally:
        backend.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_base_url_without_v1_says_so_with_the_url_it_should_be(server: FakeOpenAI) -> None:
    root = server.base_url.removesuffix("/v1")
    text = failure(root)
    assert text.startswith("HTTP 404 NotFoundError")
    assert f"POST {root}/chat/completions: no such path on that server" in text
    assert f"base_url usually ends in /v1 ({root}/v1)" in text
    text = failure(root + "/api/")
    assert f"({root}/api/v1)" in text


def test_a_404_under_v1_points_at_the_path_or_the_model(server: FakeOpenAI) -> None:
    server.push(404)
    text = failure(server.base_url, model="llama9")
    assert f"POST {server.base_url}/chat/completions: no such path or no model 'llama9'" in text


def test_a_refused_key_names_the_variable(server: FakeOpenAI) -> None:
    server.push(401)
    text = failure(server.base_url, api_key_env="MY_LLM_KEY")
    assert text.startswith("HTTP 401")
    assert "the server refused the key in MY_LLM_KEY" in text


def test_a_server_that_is_not_running_is_named(server: FakeOpenAI) -> None:
    port = free_port()
    text = failure(f"http://127.0.0.1:{port}/v1")
    assert text.startswith("APIConnectionError: Connection error.")
    assert f"POST http://127.0.0.1:{port}/v1/chat/completions" in text
    assert f"nothing answers at http://127.0.0.1:{port}; is the server running" in text


def test_a_host_name_that_does_not_resolve_is_named() -> None:
    text = failure("http://no-such-host.invalid:11434/v1")  # .invalid never resolves (RFC 2606)
    assert "POST http://no-such-host.invalid:11434/v1/chat/completions" in text
    assert "the host name 'no-such-host.invalid' is not found" in text


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("localhost:11434/v1", "did you mean http://localhost:11434/v1?"),
        ("127.0.0.1:8080", "did you mean http://127.0.0.1:8080?"),
        ("ftp://localhost/v1", "must start with http:// or https://"),
        ("http:///v1", "has no valid host and port"),
        ("http://localhost:port/v1", "has no valid host and port"),
        ("http://localhost:11434/v1 ", "has spaces in it"),
        ("", "base_url is empty"),
    ],
)
def test_a_base_url_that_cannot_work_is_refused_at_start(url: str, message: str) -> None:
    settings = load_settings(overrides={"base_url": url}, environ={})
    with pytest.raises(ConfigError, match=message.replace("?", r"\?")):
        require_llm_access(settings, environ={})


def test_a_stale_base_url_does_not_stop_what_does_not_use_it() -> None:
    env = clean_env(without_proxies=True, OPENAI_BASE_URL="localhost:11434/v1")
    assert run_agent("demo", "--fast", env=env).returncode == 0
    echo = run_agent("--backend", "echo", stdin="RECOG_EVENT_STOP|hi\n", env=env)
    assert echo.returncode == 0, echo.stderr
    assert "did you mean http://localhost:11434/v1?" in run_agent(env=env).stderr


def test_the_hint_reaches_the_chat_screen_and_the_log(server: FakeOpenAI, tmp_path: Path) -> None:
    root = server.base_url.removesuffix("/v1")
    env = clean_env(without_proxies=True)
    out = run_agent(
        "chat", "--base-url", root, "--max-retries", "0", "--log-file", str(tmp_path / "a.log"),
        stdin="Hello\n", env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert f"base_url usually ends in /v1 ({root}/v1)" in out.stderr
    logged = (tmp_path / "a.log").read_text(encoding="utf-8")
    assert "the LLM request failed: HTTP 404 NotFoundError" in logged
    assert f"POST {root}/chat/completions" in logged
