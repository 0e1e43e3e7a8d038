"""Proxies: HTTP_PROXY and HTTPS_PROXY are honoured; a SOCKS proxy without socksio fails at start.

The proxy is a loopback one (``fsm_agent.testing.proxy``) that records each request and sends
it to the loopback fake OpenAI server, whatever host was asked for: the base URL names a host
that does not exist (``fake-openai.test``), so an answer at all proves the proxy was used. For
HTTPS it plays the TLS server with a test certificate (``tests/data/tls``) that the client
trusts through ``SSL_CERT_FILE``. Every proxy variable of the test's own environment is removed
first (``NO_PROXY`` may well list 127.0.0.1).
"""

from __future__ import annotations

import importlib.util
import ssl
import subprocess
from pathlib import Path

import pytest
from agent_cli import clean_env, run_agent

from fsm_agent.backends.proxy import SOCKS_EXTRA, proxy_problem
from fsm_agent.testing import FakeOpenAI
from fsm_agent.testing.proxy import LoopbackProxy, LoopbackSocks5

TLS = Path(__file__).resolve().parent / "data" / "tls"
HAS_SOCKSIO = importlib.util.find_spec("socksio") is not None


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without proxies, keys or fsm-agent settings, plus ``extra``."""
    env = {
        name: value
        for name, value in clean_env(without_proxies=True).items()
        if not name.startswith("SSL_CERT_")
    }
    env.update(extra)
    return env


def chat(stdin: str, env: dict[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
    return run_agent("chat", *flags, stdin=stdin, env=env)


REPLIES = {"Hi": "Hello through the proxy.", "Again": "Still through it."}
EXPECTED = ["you> Hi", "» Hello through the proxy.", "you> Again", "» Still through it."]


def test_http_proxy_is_honoured() -> None:
    with (
        FakeOpenAI(REPLIES) as server,
        LoopbackProxy(("127.0.0.1", server.port)) as proxy,
    ):
        env = clean_environment(HTTP_PROXY=proxy.url, OPENAI_API_KEY="sk-test-fake")
        result = chat("Hi\nAgain\n", env, "--base-url", "http://fake-openai.test/v1")
        requests = server.chat_requests
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == EXPECTED
    posts = [seen for seen in proxy.seen if not seen.startswith("GET ")]  # GETs: warm-ups
    assert posts == ["POST http://fake-openai.test/v1/chat/completions"] * 2
    assert [r.path for r in requests] == ["/v1/chat/completions"] * 2
    assert requests[-1].headers["authorization"] == "Bearer sk-test-fake"


def test_https_proxy_is_honoured_through_a_tls_tunnel() -> None:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(TLS / "server.pem", TLS / "server.key")
    with (
        FakeOpenAI(REPLIES) as server,
        LoopbackProxy(("127.0.0.1", server.port), tls=tls) as proxy,
    ):
        env = clean_environment(
            HTTPS_PROXY=proxy.url,
            OPENAI_API_KEY="sk-test-fake",
            SSL_CERT_FILE=str(TLS / "ca.pem"),
        )
        result = chat("Hi\nAgain\n", env, "--base-url", "https://fake-openai.test/v1")
        requests = server.chat_requests
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == EXPECTED
    assert proxy.seen == ["CONNECT fake-openai.test:443"]  # one tunnel, kept for both turns
    assert len(requests) == 2
    assert requests[0].headers["host"] == "fake-openai.test"
    assert requests[-1].body["messages"][-1] == {"role": "user", "content": "Again"}


def test_no_proxy_star_bypasses_the_proxy() -> None:
    with FakeOpenAI(REPLIES) as server, LoopbackProxy(("127.0.0.1", 9)) as proxy:
        env = clean_environment(HTTP_PROXY=proxy.url, NO_PROXY="*", OPENAI_API_KEY="sk-test-fake")
        result = chat("Hi\n", env, "--base-url", server.base_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == EXPECTED[:2]
    assert proxy.seen == []


# ---- SOCKS ----------------------------------------------------------------------------------


HIDE_SOCKSIO = "import sys\nsys.modules['socksio'] = None  # as if it were not installed\n"


@pytest.mark.parametrize("mode", [["chat"], []])
def test_socks_without_socksio_fails_at_start_in_one_line(mode: list[str], tmp_path: Path) -> None:
    # The child starts with socksio hidden (the test extra installs it, so that the end-to-end
    # SOCKS test below always runs): sitecustomize on PYTHONPATH runs before fsm-agent.
    (tmp_path / "sitecustomize.py").write_text(HIDE_SOCKSIO, encoding="utf-8")
    env = clean_environment(
        ALL_PROXY="socks5h://user:secret@127.0.0.1:1080", PYTHONPATH=str(tmp_path)
    )
    stdin = "hi\n" if mode else "RECOG_EVENT_STOP|hi\n"
    result = run_agent(*mode, "--base-url", "http://127.0.0.1:9/v1", stdin=stdin, env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "fsm-agent: error: the proxy socks5h://127.0.0.1:1080 (ALL_PROXY) is a SOCKS proxy, "
        f"which needs the socksio package: {SOCKS_EXTRA}"
    ]


def test_socks5h_proxy_is_honoured_with_socksio() -> None:
    assert HAS_SOCKSIO, "socksio is missing: install the test extra (pip install -e '.[test]')"
    with FakeOpenAI(REPLIES) as server, LoopbackSocks5(("127.0.0.1", server.port)) as proxy:
        env = clean_environment(ALL_PROXY=proxy.url, OPENAI_API_KEY="sk-test-fake")
        result = chat("Hi\nAgain\n", env, "--base-url", "http://fake-openai.test/v1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == EXPECTED
    assert proxy.seen == ["CONNECT fake-openai.test:80"]  # the name, resolved by the proxy


def test_offline_backends_do_not_care_about_the_proxy() -> None:
    env = clean_environment(ALL_PROXY="socks5h://127.0.0.1:1080", HTTPS_PROXY="socks4://x:1")
    result = chat("Hi\n", env, "--backend", "echo", "--token-delay", "0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["you> Hi", "» You said:", "» Hi"]


@pytest.mark.parametrize(
    ("proxies", "has_socksio", "problem"),
    [
        ({}, False, None),
        ({"https": "http://proxy:3128", "http": "proxy:3128"}, False, None),
        ({"all": "socks5h://127.0.0.1:1080"}, True, None),
        ({"all": "socks5h://127.0.0.1:1080"}, False, "(ALL_PROXY) is a SOCKS proxy"),
        ({"https": "SOCKS5://127.0.0.1:1080"}, False, "(HTTPS_PROXY) is a SOCKS proxy"),
        ({"http": "socks4://127.0.0.1:1080"}, True, "(HTTP_PROXY) is a socks4 proxy"),
        ({"all": "socks5h://127.0.0.1:1080", "no": "localhost, *"}, False, None),
        ({"all": "socks5h://127.0.0.1:1080", "no": "127.0.0.1"}, False, "SOCKS"),
        ({"ftp": "socks4://127.0.0.1:1080"}, False, None),  # not read by the HTTP client
    ],
)
def test_proxy_problem(proxies: dict[str, str], has_socksio: bool, problem: str | None) -> None:
    found = proxy_problem(proxies, lambda name: has_socksio and name == "socksio")
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found and "\n" not in found


def test_proxy_problem_never_shows_credentials() -> None:
    found = proxy_problem({"https": "socks5://alice:s3cret@proxy.example:1080"}, lambda n: False)
    assert found is not None
    assert "s3cret" not in found and "alice" not in found
    assert "socks5://proxy.example:1080" in found and SOCKS_EXTRA in found
