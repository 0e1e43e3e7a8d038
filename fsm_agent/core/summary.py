"""The running summary: the request that asks the model for it, and the cut of its answer.

Pure text work; the runtime sends the request on a worker thread between turns (see
``fsm_agent.runtime.summarizer``) and the controller keeps the result in the history.
"""

from __future__ import annotations

import regex

from fsm_agent.core.history import Turn, estimate_tokens

SUMMARY_PROMPT = (
    "You keep the memory of a spoken conversation between a user and an assistant, a "
    "talking character. Merge the summary so far and the new turns into one updated summary "
    "of at most {words} words: what the user told about themselves (name, likes, plans), what "
    "was agreed or promised, questions still open. A reply that ends with … was cut off by "
    "the user. Write plain sentences in the language of the conversation, without lists or "
    "markdown. Reply with the summary only."
)
"""The summarizer's system prompt; ``{words}`` is the size asked for."""

_THINK = regex.compile(r"<think>.*?(?:</think>|$)", regex.DOTALL | regex.IGNORECASE)
_SPACES = regex.compile(r"\s+")
_SENTENCE_END = regex.compile(r"[。！？!?.．…]")


def summary_request(
    summary: str, turns: list[Turn], max_words: int, budget: int
) -> tuple[list[dict[str, str]], int]:
    """Build the request that folds the oldest ``turns`` into ``summary``.

    Takes turns oldest first while the request stays within ``budget`` tokens (always at
    least one, cut to fit), so a long backlog is summarized over several rounds.

    Args:
        summary: The running summary so far ("" for none).
        turns: The turns waiting for a summary, oldest first; not empty.
        max_words: The summary's size, as the prompt asks for it.
        budget: The largest request, in estimated tokens.

    Returns:
        The messages, and the number of the newest turn they include.

    """
    system = SUMMARY_PROMPT.format(words=max_words)
    head = f"Summary so far:\n{summary or '(none yet)'}\n\nNew turns:\n"
    room = budget - estimate_tokens(system) - estimate_tokens(head)
    lines: list[str] = []
    through = turns[0].n
    for turn in turns:
        line = f"User: {turn.user}\nAssistant: {turn.assistant}"
        cost = estimate_tokens(line)
        if lines and cost > room:
            break
        lines.append(clip_tokens(line, max(room, 16)) if not lines else line)
        room -= cost
        through = turn.n
    user = head + "\n".join(lines)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}], through


def clean_summary(text: str, max_tokens: int) -> str:
    """Make the model's answer a summary to keep: no reasoning, one paragraph, in size.

    Args:
        text: The model's whole answer.
        max_tokens: The most the summary may cost.

    Returns:
        The summary ("" when nothing usable came back).

    """
    text = _SPACES.sub(" ", _THINK.sub("", text)).strip()
    return clip_tokens(text, max_tokens)


def clip_tokens(text: str, max_tokens: int) -> str:
    """Cut ``text`` to at most ``max_tokens`` (estimated), at a sentence end when one is near.

    Args:
        text: Any text.
        max_tokens: The limit; 0 or less gives "".

    Returns:
        ``text`` itself when it fits, else its longest fitting start, ended at the last
        sentence end in its second half if there is one, else not inside a word.

    """
    if estimate_tokens(text) <= max_tokens:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits
        mid = (low + high + 1) // 2
        if estimate_tokens(text[:mid]) <= max_tokens:
            low = mid
        else:
            high = mid - 1
    cut = text[:low]
    ends = [m.end() for m in _SENTENCE_END.finditer(cut)]
    if ends and ends[-1] > len(cut) // 2:
        return cut[: ends[-1]].strip()
    space = cut.rfind(" ")
    if space > len(cut) // 2 and text[low : low + 1].strip():  # not in the middle of a word
        cut = cut[:space]
    return cut.strip()
