"""Test and demo doubles: a fake OpenAI-compatible server on loopback.

Names are imported lazily, so ``python -m fsm_agent.testing.fake_openai`` runs without importing
the module twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fsm_agent.testing.fake_openai import FakeOpenAI, RecordedRequest, connection_refused_url
    from fsm_agent.testing.faults import Fault

__all__ = ["FakeOpenAI", "Fault", "RecordedRequest", "connection_refused_url"]


def __getattr__(name: str) -> Any:
    if name == "Fault":
        from fsm_agent.testing import faults

        return faults.Fault
    if name in __all__:
        from fsm_agent.testing import fake_openai

        return getattr(fake_openai, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
