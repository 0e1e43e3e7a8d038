"""Build the backend that the settings name."""

from __future__ import annotations

from pathlib import Path

from fsm_agent.backends.offline import OfflineBackend, ScriptedReplies, echo_reply
from fsm_agent.core.backend import Backend
from fsm_agent.core.settings import Settings


def make_backend(settings: Settings, token_delay: float = 0.0) -> Backend:
    """Build the backend that ``settings.backend`` names.

    Args:
        settings: The configuration.
        token_delay: Delay between pieces for the offline backends.

    Returns:
        The backend. The OpenAI one imports ``openai`` on a background thread.

    """
    if settings.backend == "echo":
        return OfflineBackend(echo_reply, token_delay, settings.no_stream)
    if settings.backend.startswith("script:"):
        replies = ScriptedReplies(Path(settings.backend[7:]))
        return OfflineBackend(replies, token_delay, settings.no_stream)
    from fsm_agent.backends.openai_compat import OpenAIBackend  # only for this backend

    return OpenAIBackend(settings)
