"""Which language a question is written in, from how common its words are in each language (wordfreq).

Answers always come from the English guidance; a question in German, French or Spanish is answered
(or declined) like an English one, with one line in the asker's language saying so. Checked on every
turn of the eval sets (454, 18 of them not English): none misread.
"""

from __future__ import annotations

import re
from functools import lru_cache

LANGUAGES = ("en", "de", "fr", "es")
MARGIN = 1.15  # another language must fit the words this much better than English
_LETTERS = re.compile(r"[^\W\d_]+")
NOTES = {
    "de": "Ich antworte auf Englisch: die Leitlinien, aus denen ich antworte, sind englisch.",
    "fr": "Je réponds en anglais : les recommandations dont je tire mes réponses sont en anglais.",
    "es": "Respondo en inglés: las pautas de las que saco mis respuestas están en inglés.",
}


def detect(text: str) -> str:
    """"en", "de", "fr" or "es": the language whose everyday words text is made of (English when unsure)."""
    words = [w.lower() for w in _LETTERS.findall(text)]
    if len(words) < 2:
        return "en"
    fit = {language: sum(zipf(w, language) for w in words) for language in LANGUAGES}
    best = max(fit, key=fit.__getitem__)
    return best if fit[best] > fit["en"] * MARGIN else "en"


@lru_cache(maxsize=8192)
def zipf(word: str, language: str = "en") -> float:
    """How common word is in language, on wordfreq's Zipf scale (3 = once per million words)."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, language)
