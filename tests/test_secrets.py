"""The API key never reaches any text we write, even when a server echoes it back."""

from __future__ import annotations

from pathlib import Path

from agent_cli import clean_env, run_agent

from fsm_agent.core.events import StreamError
from fsm_agent.runtime.logs import REDACTED, add_secret, describe_error
from fsm_agent.testing.fake_openai import FakeOpenAI

SECRET = "sk-test-CHATSECRET-0123456789abcdef"


def test_describe_error_removes_registered_secrets_before_cutting_the_text() -> None:
    secret = "sk-unit-DESCRIBE-0123456789"
    add_secret(secret)
    long_prefix = "x" * 280  # the key straddles the 300-character cut
    text = describe_error(RuntimeError(f"{long_prefix} key {secret} rejected"))
    assert secret[:6] not in text
    assert describe_error(RuntimeError(f"bad key {secret}")) == f"RuntimeError: bad key {REDACTED}"
    assert secret not in StreamError(1, describe_error(ValueError(secret))).reason


def test_chat_mode_output_log_and_record_never_show_the_key(tmp_path: Path) -> None:
    log_file, record = tmp_path / "chat.log", tmp_path / "chat.jsonl"
    env = clean_env(OPENAI_API_KEY=SECRET)
    with FakeOpenAI("Fine again.") as server:
        server.push("echo_key_in_error")
        flags = ["--base-url", server.base_url, "--max-retries", "0", "--log-level", "debug"]
        flags += ["--log-file", str(log_file), "--record", str(record)]
        result = run_agent("chat", *flags, stdin="first\nsecond\n", env=env)
        assert server.chat_requests[0].headers["authorization"] == f"Bearer {SECRET}"
    assert result.returncode == 0, result.stderr
    assert "HTTP 401" in result.stderr  # the failure is shown ...
    assert result.stdout.rstrip().endswith("Fine again.")
    logged = log_file.read_text(encoding="utf-8")
    recorded = record.read_text(encoding="utf-8")
    assert f"Incorrect API key provided: {REDACTED}" in recorded
    for text in (result.stdout, result.stderr, logged, recorded):
        assert SECRET not in text  # ... without the key
        assert "CHATSECRET" not in text
