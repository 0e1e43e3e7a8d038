"""fsm-agent: an MMDAgent-EX submodule that speaks a streamed LLM reply sentence by sentence.

The package keeps ``import openai`` off its import path, and importing ``fsm_agent`` itself costs
nothing: the names below are loaded when first used. So the command can take its quit signals
and start reading the host's first lines at once.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing costs start-up time
if TYPE_CHECKING:
    from fsm_agent.text.cleanup import SpeechCleaner
    from fsm_agent.text.segmenter import Segmenter, available_languages, split_sentences

__all__ = ["Segmenter", "SpeechCleaner", "__version__", "available_languages", "split_sentences"]
__version__ = "0.1.0"

_LAZY = {
    "SpeechCleaner": "fsm_agent.text.cleanup",
    "Segmenter": "fsm_agent.text.segmenter",
    "available_languages": "fsm_agent.text.segmenter",
    "split_sentences": "fsm_agent.text.segmenter",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
