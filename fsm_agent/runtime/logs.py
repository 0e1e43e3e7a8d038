"""Logging to stderr and, if asked, to a file, with secrets redacted from every record."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

from fsm_agent.core.settings import ConfigError

_secrets: set[str] = set()
REDACTED = "[redacted]"


def add_secret(secret: str | None) -> None:
    """Never let ``secret`` appear in a log record, a traceback or a printed error."""
    if secret and len(secret) >= 4:
        _secrets.add(secret)


def redact(text: str) -> str:
    """Return ``text`` with every registered secret replaced."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactingFormatter(logging.Formatter):
    """A formatter whose whole output (message, arguments, traceback) is redacted."""

    def format(self, record: logging.LogRecord) -> str:
        """Format the record, then remove secrets."""
        return redact(super().format(record))


def setup_logging(
    level: str,
    log_file: Path | None,
    secrets: Iterable[str | None] = (),
    console: logging.Handler | None = None,
) -> None:
    """Send the package's log to stderr (and ``log_file``) at ``level``.

    Also routes uncaught exceptions, on any thread, through the redacting log.

    Args:
        level: debug, info, warning or error.
        log_file: Also append to this file (UTF-8) when given.
        secrets: Strings that must never be written.
        console: What writes to the screen instead of a plain stderr handler (the chat's, which
            keeps log lines from tearing its live line).

    Raises:
        ConfigError: If the log file cannot be opened for appending.

    """
    for secret in secrets:
        add_secret(secret)
    formatter = RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [console or logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        try:
            handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ConfigError(f"cannot write the log file {log_file}: {reason}") from None
    root = logging.getLogger("fsm_agent")
    root.handlers.clear()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False
    # The client libraries log request details at debug; keep them quiet but redacted.
    for name in ("openai", "httpx", "httpx2", "httpcore", "transitions"):
        other = logging.getLogger(name)
        other.handlers = list(handlers) if level.lower() == "debug" else [logging.NullHandler()]
        other.setLevel(logging.WARNING)
        other.propagate = False

    def excepthook(kind: type[BaseException], exc: BaseException, tb: object) -> None:
        root.error("uncaught %s", kind.__name__, exc_info=(kind, exc, tb))  # type: ignore[arg-type]

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        exc_info = (args.exc_type, args.exc_value, args.exc_traceback)
        root.error("uncaught error in thread %s", args.thread, exc_info=exc_info)  # type: ignore[arg-type]

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook


def record_startup_error(message: str, targets: Iterable[Path]) -> Path | None:
    """Append a start-up error to the first of ``targets`` that can be written.

    Used before logging is set up (or when setting it up failed), so that an error that stops
    fsm-agent at start is found in a file also where nobody sees stderr.

    Args:
        message: The error, one line.
        targets: Candidate files, in order.

    Returns:
        The file written, or None when none could be.

    """
    stamp = logging.Formatter().formatTime(logging.makeLogRecord({}))
    line = redact(f"{stamp} ERROR fsm_agent: could not start: {message}\n")
    for target in targets:
        try:
            with Path(target).open("a", encoding="utf-8") as out:
                out.write(line)
        except OSError:
            continue
        return Path(target)
    return None


def describe_error(exc: BaseException) -> str:
    """Describe an LLM failure in one line, without the request's headers or any secret.

    This is where an exception becomes text, so the API key is removed here: a server may
    echo it in its error message, and the text goes on to the log, the record file and the
    screen.

    Args:
        exc: What the backend raised.

    Returns:
        E.g. ``"HTTP 429 RateLimitError: Rate limit reached"``, followed by the exception's
        notes (the backend adds the URL it asked and the likely mistake).

    """
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    message = redact(str(getattr(exc, "message", None) or str(exc) or name))
    message = " ".join(message.split())[:300]
    text = f"HTTP {status} {name}: {message}" if status else f"{name}: {message}"
    # Notes added where the error was understood (the URL asked, the likely mistake).
    for note in getattr(exc, "__notes__", None) or ():
        text += "; " + redact(" ".join(str(note).split()))[:300]
    return text
