"""What a failed LLM request most likely means, in words a user can act on.

The ``openai`` package says "Connection error." or "Error code: 404" and names no URL; the
usual causes are a base URL without ``/v1``, a server that is not running, or a wrong host name.
The hint names the URL that was asked and the likely mistake. The exceptions are looked at by
their attributes (``status_code``, ``request``, ``__cause__``), so nothing here imports the
client library.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fsm_agent.core.settings import Settings

_NAME_NOT_FOUND = (
    "name or service not known",
    "getaddrinfo failed",
    "nodename nor servname",
    "temporary failure in name resolution",
    "no address associated",
)


def request_hint(exc: BaseException, settings: Settings) -> str | None:
    """Name the URL of a failed request and the likely mistake, or None when there is none.

    Args:
        exc: What the client raised.
        settings: The settings the request was made with (base URL, key variable, model).

    Returns:
        E.g. ``"POST http://localhost:11434/chat/completions: no such path on that server;
        base_url usually ends in /v1 (http://localhost:11434/v1)"``.

    """
    request = getattr(exc, "request", None)
    url = str(getattr(request, "url", "") or "")
    if not url:
        return None
    where = f"{getattr(request, 'method', 'POST')} {url}"
    status = getattr(exc, "status_code", None)
    base = settings.base_url or "https://api.openai.com/v1"
    parts = urlsplit(base)
    origin = f"{parts.scheme}://{parts.netloc}"
    if status == 404:
        if "/v1" not in parts.path:
            return (
                f"{where}: no such path on that server; base_url usually ends in /v1 "
                f"({origin}{parts.path.rstrip('/')}/v1)"
            )
        return f"{where}: no such path or no model {settings.model!r} on that server"
    if status in (401, 403):
        return f"{where}: the server refused the key in {settings.api_key_env} (or needs one)"
    if status is not None:
        return f"{where}: the server answered {status}"
    return f"{where}: {_connection_hint(exc, origin, parts.hostname or '')}"


def _connection_hint(exc: BaseException, origin: str, host: str) -> str:
    """Why no answer came, from the cause the client wrapped."""
    cause = exc.__cause__ or exc.__context__
    kind = type(cause).__name__ if cause is not None else ""
    text = str(cause).lower() if cause is not None else ""
    if "timeout" in type(exc).__name__.lower() or "timeout" in kind.lower():
        return f"no answer from {origin} in time; is the server busy or the address wrong?"
    if any(words in text for words in _NAME_NOT_FOUND):
        return f"the host name {host!r} is not found; is it spelt right?"
    if kind == "UnsupportedProtocol":
        return "base_url must start with http:// or https://"
    if "proxy" in kind.lower() or "socks" in text:
        return "the proxy did not connect; check HTTPS_PROXY / ALL_PROXY"
    return f"nothing answers at {origin}; is the server running, and is the port right?"
