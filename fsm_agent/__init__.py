"""fsm-agent: an MMDAgent-EX submodule that speaks a streamed LLM reply sentence by sentence.

The package keeps ``import openai`` off its import path: importing ``fsm_agent`` is cheap, so the
AnyScript loop can start reading the host's first lines at once.
"""

from __future__ import annotations

from fsm_agent.cleanup import SpeechCleaner
from fsm_agent.segmenter import Segmenter, available_languages, split_sentences

__all__ = ["Segmenter", "SpeechCleaner", "__version__", "available_languages", "split_sentences"]
__version__ = "0.1.0"
