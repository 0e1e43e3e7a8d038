"""What the avatar says on its own, not from the LLM: the apology and the filler.

Both are resolved once from the settings (``auto`` picks the voice's language, see
``fsm_agent.text.phrases``). Neither ever enters the history.
"""

from __future__ import annotations

from fsm_agent.core import protocol
from fsm_agent.core.settings import Settings
from fsm_agent.text.phrases import APOLOGIES, FILLERS, phrase


class Asides:
    """The apology and the filler, with the host messages that go with the filler.

    Args:
        settings: ``error_reply``, ``filler``, ``filler_message``, ``voice``, ``lang``.

    """

    def __init__(self, settings: Settings) -> None:
        s = settings
        self.apology = phrase(s.error_reply, APOLOGIES, s.voice, s.lang)
        """Said when a turn fails before any sentence ("" for nothing)."""
        self.filler = phrase(s.filler, FILLERS, s.voice, s.lang)
        """Said once when the reply is slow to come ("" for nothing)."""
        self._lines = (
            [protocol.host_message(s.filler_message, s.alias, s.voice)]
            if (s.filler_message)
            else []
        )

    @property
    def types(self) -> frozenset[str]:
        """The message types of the filler's host messages (for the allow-list)."""
        return frozenset(line.split("|", 1)[0] for line in self._lines)

    @property
    def fills(self) -> bool:
        """Whether a slow reply is filled at all (a filler, a host message, or both)."""
        return bool(self.filler or self._lines)

    def filler_lines(self) -> list[str]:
        """The host messages sent with the filler (a thinking motion), before it.

        The hook for gestures (issue 16): a ``thinking`` tag of the gestures file is to supply
        these lines; today they come from ``filler_message``.
        """
        return list(self._lines)
