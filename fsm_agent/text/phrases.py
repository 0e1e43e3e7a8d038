"""The few things fsm-agent says on its own, in the language of the voice.

An apology when a turn fails before any sentence (``error_reply = "auto"``) and a filler while
the reply is slow to come (``filler = "auto"``). The language is the voice's: MMDAgent-EX's
``mei_*`` voices are Japanese (Open JTalk), ``slt_*`` English (Flite); for any other voice it is
``lang`` when that names one language, else Japanese (Open JTalk voices are Japanese).
"""

from __future__ import annotations

AUTO = "auto"
OFF = ("", "none", "off")
"""Values of ``error_reply`` and ``filler`` that say nothing."""

APOLOGIES: dict[str, str] = {
    "ja": "ごめんなさい、うまく答えられませんでした。",
    "en": "Sorry, I could not answer that.",
    "zh": "抱歉，我没能回答。",
    "ko": "죄송해요, 대답하지 못했어요.",
    "de": "Entschuldigung, das konnte ich nicht beantworten.",
    "fr": "Pardon, je n'ai pas pu répondre.",
    "es": "Lo siento, no he podido responder.",
    "ru": "Извините, не получилось ответить.",
    "it": "Scusa, non sono riuscita a rispondere.",
}

FILLERS: dict[str, str] = {
    "ja": "えーと。",
    "en": "Hmm, let me think.",
    "zh": "嗯，让我想想。",
    "ko": "음, 잠깐만요.",
    "de": "Hm, einen Moment.",
    "fr": "Hum, un instant.",
    "es": "Mmm, un momento.",
    "ru": "Хм, минутку.",
    "it": "Mmm, un attimo.",
}

_VOICE_PREFIXES = {"mei_": "ja", "slt_": "en"}


def voice_language(voice: str, lang: str) -> str:
    """Return the language a voice speaks: ``ja``, ``en``, ... (see the module's docstring)."""
    for prefix, language in _VOICE_PREFIXES.items():
        if voice.lower().startswith(prefix):
            return language
    return lang if lang in APOLOGIES else "ja"


def phrase(setting: str, table: dict[str, str], voice: str, lang: str) -> str:
    """Resolve an ``error_reply`` or ``filler`` setting to the text to say ("" for nothing).

    Args:
        setting: ``auto``, an off value (``""``, ``none``, ``off``) or the text itself.
        table: :data:`APOLOGIES` or :data:`FILLERS`.
        voice: The voice alias.
        lang: The ``lang`` setting.

    """
    if setting.strip().lower() in OFF:
        return ""
    if setting.strip().lower() == AUTO:
        return table[voice_language(voice, lang)]
    return setting
