"""Speech cleanup: reduce each sentence to what a person would read aloud.

This stage sits between the segmenter and speech. It works on whole sentences, so the
segmenter stays exact (it never rewrites text) and this stage alone decides what is spoken.
Markdown is reduced to its words: emphasis marks, heading marks, list bullets, block quotes,
table rules and link targets go; inline code keeps its text; fenced code blocks are not read at
all (the cleaner remembers across sentences that it is inside one). Emoji are dropped unless
asked for, and so are emoticons (:-) ^^); a keycap digit (1️⃣) is read as its digit. Symbols
that voices read or that mark prosody are not emoji here: © ® ™ stay, and ‼ ⁉ become "!!" and
"!?".

Text that is not speech at all: terminal escapes (ESC[31m) are dropped whole; a control
character or an invisible separator (zero-width space, word joiner, BOM) reads as a space, so
the words around it stay apart. A bare URL is said as a person would: its host name without
"www." (https://www.example.com/a?b=1 -> "example.com"), never character by character.
"""

from __future__ import annotations

import regex

from fsm_agent.text.spans import Spans, unbracket

__all__ = ["SpeechCleaner"]

_FENCE = regex.compile(r"```|~~~")
_HEADING = regex.compile(r"^\s{0,3}#{1,6}(?:\s+|$)")
_HEADING_CLOSE = regex.compile(r"(?:^|\s+)#+\s*$")  # "## Heading ##"
_QUOTE = regex.compile(r"^(?:\s*>)+\s?")
_BULLET = regex.compile(r"^\s*(?:[-*+•⁃▪◦‣](?:\s+\[[ xX]\])?)\s+")
_RULE_LINE = regex.compile(r"^\s*(?:[-*_]\s*){3,}$")
_TABLE_RULE = regex.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_AUTOLINK = regex.compile(r"<((?:https?|mailto):[^>\s]+)>")
_HTML_TAG = regex.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_INLINE_CODE = regex.compile(r"(`+)(.+?)\1")
# Each is (OPEN)(?=\S)(.+?)(?<=\S)\1 replaced by its inside, in linear time (text/spans.py).
_STRONG_EMPHASIS = Spans(
    r"(?P<mark>\*\*\*|___)(?=\S)", {"***": r"(?<=\S)\*\*\*", "___": r"(?<=\S)___"}
)
_STRONG = Spans(r"(?P<mark>\*\*|__)(?=\S)", {"**": r"(?<=\S)\*\*", "__": r"(?<=\S)__"})
# A mark between two letters of a script with spaces between words is inside a word
# (snake_case_name, 2*3*4); between CJK letters it is emphasis (これは*重要*です).
_EMPHASIS = Spans(
    r"(?<![\p{LC}\p{N}*_])(?P<mark>[*_])(?=\S)",
    {mark: rf"(?<=\S){regex.escape(mark)}(?![\p{{LC}}\p{{N}}*_])" for mark in "*_"},
)
_STRIKE = Spans(r"(?P<mark>~~)(?=\S)", {"~~": r"(?<=\S)~~"})
# Emphasis marks left over when a sentence boundary fell inside **...**.
_STRAY_MARKS = regex.compile(r"(?<!\S)[*_]{1,3}(?=\S)|(?<=\S)[*_]{1,3}(?!\S)|~~|`")
_TABLE_BAR = regex.compile(r"\s*\|\s*")
_KEEP_SYMBOLS = "\u00a9\u00ae\u2122\u203c\u2049"  # © ® ™ ‼ ⁉
_EMOJI = regex.compile(
    rf"(?![{_KEEP_SYMBOLS}])"
    r"[\p{Extended_Pictographic}\p{Regional_Indicator}\U0001F3FB-\U0001F3FF]"
    r"[\uFE0E\uFE0F\u20E3\u200D\p{Extended_Pictographic}\U0001F3FB-\U0001F3FF]*"
)
# Emoticons standing alone (Great! :-) and ^^): a voice would read their characters.
_EMOTICON = regex.compile(r"(?<!\S)(?:[:;=][-^'o]?[)(\]\[DPpOo3/\\|*]|<3|\^_?\^|[xX]D)(?!\S)")
_KEYCAP = regex.compile(r"([0-9#*])\uFE0F?\u20E3")
_PRESENTATION = regex.compile(r"[\uFE0E\uFE0F]")
_PUNCTUATION = {"\u203c": "!!", "\u2049": "!?"}
_SPACES = regex.compile(r"[^\S\n]+")
# Terminal escape sequences: CSI (ESC [ ... final byte), OSC (ESC ] ... BEL or ESC \), and
# two-character escapes.
_ANSI = regex.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?"
)
# Controls (but tab and newline) and invisible separators. Not the zero-width joiner and
# non-joiner (U+200C, U+200D): they shape emoji and Indic and Persian words.
_SEPARATORS = regex.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u2060\ufeff\u180e\u2028\u2029]+")
_SOFT_HYPHEN = "\u00ad"
# A bare web address (one inside a markdown link was reduced to its text before this).
_URL = regex.compile(
    r"(?:\b(?:https?|ftp)://|\bwww\.)(?:[^\s/?#@]*@)?(?P<host>[\p{L}\p{N}](?:[\p{L}\p{N}.-]*[\p{L}\p{N}])?)(?::\d+)?"
    r"(?:[/?#][^\s]*?)?(?=[.,;:!?)\]}\"'”’»]*(?:\s|$))"
)
# Emphasis marks touching a letter of a script without spaces between words (これは**とても):
# left over when a line break fell inside **...**, they are never speech.
_CJK_MARKS = regex.compile(r"(?<=\p{Lo})[*_]{1,3}|[*_]{1,3}(?=\p{Lo})")
_SPEAKABLE = regex.compile(r"[\p{L}\p{N}]")
# A sentence of nothing but letters, digits, spaces and . , ! ? ' " (most are) holds nothing
# that _markdown changes, unless it has a web address or an "xD": it is spared the patterns.
_PLAIN = regex.compile(
    r"(?:(?![\uFE0E\uFE0F\u20E3\p{Extended_Pictographic}])[\p{L}\p{M}\p{N} .,!?'\"])*"
)
_NOT_PLAIN = regex.compile(r"www\.|[xX]D")


def _host(m: regex.Match[str]) -> str:
    host = m.group("host").strip(".-")
    return host.removeprefix("www.") if host.count(".") > 1 else host


class SpeechCleaner:
    """Turn sentences of LLM output (often markdown) into text for speech synthesis.

    Args:
        keep_emoji: Keep emoji in the text (default: drop them; most voices spell them out or
            choke on them).

    """

    def __init__(self, keep_emoji: bool = False) -> None:
        self.keep_emoji = keep_emoji
        self._in_fence = False

    def reset(self) -> None:
        """Forget state carried across sentences (call at the start of each reply)."""
        self._in_fence = False

    def clean(self, sentence: str) -> str:
        """Return the speakable form of one sentence.

        Args:
            sentence: A sentence as the segmenter returned it.

        Returns:
            The text to speak, or ``""`` when nothing speakable remains (a code block line,
            a horizontal rule, only symbols or emoji).

        """
        text = _SEPARATORS.sub(" ", _ANSI.sub("", sentence)).replace(_SOFT_HYPHEN, "")
        text = self._outside_fences(text)
        if not text.strip():
            return ""
        if not _PLAIN.fullmatch(text) or _NOT_PLAIN.search(text):
            text = _markdown(text, self.keep_emoji)
        text = _SPACES.sub(" ", text).strip()
        return text if _SPEAKABLE.search(text) else ""

    def _outside_fences(self, sentence: str) -> str:
        """Keep the parts of ``sentence`` outside code fences, tracking fences across calls."""
        parts: list[str] = []
        at = 0
        for m in _FENCE.finditer(sentence):
            if not self._in_fence:
                parts.append(sentence[at : m.start()])
            self._in_fence = not self._in_fence
            # The rest of an opening fence's line is its language tag, not speech.
            at = m.end()
        if not self._in_fence:
            parts.append(sentence[at:])
        return " ".join(p for p in parts if p.strip())


def _markdown(text: str, keep_emoji: bool) -> str:
    """Reduce the markdown, links, emoji and emoticons of a sentence to its words."""
    if not keep_emoji:
        # Before the markdown marks, which would take the * of *️⃣ for emphasis.
        text = _KEYCAP.sub(lambda m: m.group(1) if m.group(1).isdigit() else " ", text)
    if _RULE_LINE.match(text) or _TABLE_RULE.match(text):
        return ""
    if _HEADING.match(text):
        text = _HEADING_CLOSE.sub("", _HEADING.sub("", text))
    text = _QUOTE.sub("", text)
    text = _BULLET.sub("", text)
    text = unbracket(text, "![", 0, "()")  # ![alt](src)
    text = unbracket(text, "[", 1, "()")  # [text](url)
    text = unbracket(text, "[", 1, "[]")  # [text][ref]
    text = _AUTOLINK.sub(r"\1", text)
    text = _URL.sub(_host, text)
    text = _HTML_TAG.sub(" ", text)
    text = _INLINE_CODE.sub(lambda m: m.group(2).strip(), text)
    text = _STRONG_EMPHASIS.sub(text)
    text = _STRONG.sub(text)
    text = _EMPHASIS.sub(text)
    text = _STRIKE.sub(text)
    text = _STRAY_MARKS.sub("", _CJK_MARKS.sub("", text))
    if "|" in text and text.strip().startswith("|"):
        text = ", ".join(cell for cell in _TABLE_BAR.split(text.strip()) if cell)
    if not keep_emoji:
        text = _PRESENTATION.sub("", _EMOJI.sub("", _EMOTICON.sub("", text)))
        for mark, ascii_marks in _PUNCTUATION.items():
            text = text.replace(mark, ascii_marks)
    return text
