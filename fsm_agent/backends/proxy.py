"""Check at start that the proxy the environment names can be used by the HTTP client.

The OpenAI client's HTTP library (httpx, or httpx2 in newer ``openai`` releases) reads
``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` (any case; on Windows and macOS
also the system settings, through ``urllib.request.getproxies``) when the client is created, and
a SOCKS proxy there needs the ``socksio`` package. Without it every turn would fail with an
ImportError; saying so once, at start, with the command that fixes it, is kinder.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from fsm_agent.core.settings import ConfigError, Settings

__all__ = ["SOCKS_EXTRA", "proxy_problem", "require_proxy_support"]

# Works outside a checkout too: fsm-agent is not on an index, so 'fsm-agent[socks]' would not.
SOCKS_EXTRA = "python -m pip install socksio"

_SUPPORTED = ("http", "https", "socks5", "socks5h")
_VARIABLES = {"http": "HTTP_PROXY", "https": "HTTPS_PROXY", "all": "ALL_PROXY"}


def _shown(url: str) -> str:
    """The proxy URL without any user name or password in it."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def proxy_problem(
    proxies: Mapping[str, str] | None = None,
    has_module: Callable[[str], bool] | None = None,
) -> str | None:
    """Say in one line why the configured proxy cannot be used, or None when it can.

    Args:
        proxies: Scheme to proxy URL, as ``urllib.request.getproxies()`` gives them (default:
            that, from the environment and the system settings).
        has_module: Whether a module can be imported (default: ``importlib.util.find_spec``).

    Returns:
        The problem, or None.

    """
    if proxies is None:
        import urllib.request  # 20 ms of imports: not on every start's path, only here

        proxies = urllib.request.getproxies()
    found = proxies
    if "*" in [host.strip() for host in found.get("no", "").split(",")]:
        return None  # NO_PROXY=*: no proxy is used at all
    present = has_module or (lambda name: importlib.util.find_spec(name) is not None)
    for scheme, variable in _VARIABLES.items():
        url = found.get(scheme)
        if not url:
            continue
        kind = urlsplit(url).scheme.lower() if "://" in url else "http"
        if kind not in _SUPPORTED:
            return (
                f"the proxy {_shown(url)} ({variable}) is a {kind} proxy, which the HTTP client "
                f"cannot use: use an http, https, socks5 or socks5h proxy"
            )
        if kind.startswith("socks") and not present("socksio"):
            return (
                f"the proxy {_shown(url)} ({variable}) is a SOCKS proxy, which needs the "
                f"socksio package: {SOCKS_EXTRA}"
            )
    return None


def require_proxy_support(settings: Settings) -> None:
    """Fail at start when the OpenAI backend is used through a proxy it cannot use.

    Raises:
        ConfigError: With :func:`proxy_problem`'s line (only for ``backend = "openai"``; the
            offline backends make no requests).

    """
    if settings.backend != "openai":
        return
    problem = proxy_problem()
    if problem:
        raise ConfigError(problem)
