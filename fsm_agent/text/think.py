"""Keeping a reasoning model's thinking out of what is said.

Qwen3, DeepSeek-R1, QwQ and other reasoning models, served by llama.cpp, Ollama or vLLM without a
reasoning parser, put their thinking into the reply's content between ``<think>`` and
``</think>``. Some chat templates open the block in the prompt, so the reply holds only the
closing ``</think>``: everything before it was thought. :class:`ThinkFilter` splits a streamed
reply into the text to speak and the thinking, piece by piece, so that the first real sentence
still goes out the moment it exists.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

from fsm_agent.text.builder import TextBuilder

# <think> and <thinking> (any case); nothing else, so a reply may still say "<b>" or "a < b".
_TAG = regex.compile(r"<(/?)(?:think|thinking)>", regex.IGNORECASE)
_LONGEST_TAG = len("</thinking>")


@dataclass(frozen=True, slots=True)
class ThinkSplit:
    """What one piece of a reply held.

    Attributes:
        visible: The text to speak.
        thought: Some of the piece was thinking (or a tag): the model is working.
        retract: A ``</think>`` came with no ``<think>`` before it: the reply began inside a
            thought, so all the visible text before the tag (in earlier pieces too) was
            thinking; ``visible`` holds only what follows it.

    """

    visible: str
    thought: bool = False
    retract: bool = False


class ThinkFilter:
    """Split one streamed reply into spoken text and thinking.

    Args:
        starts_inside: The reply begins inside a thought (the chat template opened ``<think>``
            in the prompt). The text is held until a ``</think>`` proves it; a reply that ends
            with none was no thinking after all and comes out whole at :meth:`flush`.

    """

    def __init__(self, *, starts_inside: bool = False) -> None:
        self._inside = starts_inside
        self._assumed = starts_inside  # inside by assumption, not by a tag seen
        self._seen_tag = False
        self._held = ""  # a possible tag's start, cut by the end of a piece
        self._unproven = TextBuilder()  # text held while the thought is only assumed

    @property
    def inside(self) -> bool:
        """Whether the reply is inside a thought now."""
        return self._inside

    def feed(self, text: str) -> ThinkSplit:
        """Take the next piece of the reply.

        Returns:
            The spoken part of the piece and what else it held.

        """
        buf, self._held = self._held + text, ""
        visible: list[str] = []
        thought = retract = False
        i = 0
        while i < len(buf):
            j = buf.find("<", i)
            if j < 0:
                j = len(buf)
            if j > i:
                thought |= self._take(buf[i:j], visible)
            if j == len(buf):
                break
            match = _TAG.match(buf, j)
            if match is not None:
                thought = True
                if self._tag(closing=bool(match.group(1))):
                    retract = True
                    visible.clear()  # this piece's text before the tag was thinking too
                i = match.end()
            elif _TAG.match(buf, j, partial=True) is not None and len(buf) - j < _LONGEST_TAG:
                self._held = buf[j:]  # "<thi" at the end of a piece: wait for the rest
                break
            else:
                thought |= self._take("<", visible)
                i = j + 1
        return ThinkSplit("".join(visible), thought, retract)

    def flush(self) -> str:
        """The reply has ended: return what is still held and is to be spoken."""
        held, self._held = self._held, ""
        if self._assumed:  # no tag ever came: the text was the reply, not thinking
            held = str(self._unproven) + held
            self._unproven.clear()
            self._assumed = self._inside = False
            return held
        return "" if self._inside else held

    def _take(self, text: str, visible: list[str]) -> bool:
        """Route plain text; return whether it was thinking."""
        if not self._inside:
            visible.append(text)
            return False
        if self._assumed:
            self._unproven.append(text)
        return True

    def _tag(self, *, closing: bool) -> bool:
        """Apply a tag; return whether it retracts the visible text before it."""
        first, self._seen_tag = not self._seen_tag, True
        if not closing:
            self._inside = True
            self._assumed = False
            self._unproven.clear()
            return False
        retract = first and not self._inside  # a closing tag, never opened: we were inside
        self._inside = self._assumed = False
        self._unproven.clear()
        return retract
