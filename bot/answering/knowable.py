"""What the guidance cannot know: questions about the company's own facts, or about things it never names.

The knowledge base is general guidance. Two kinds of question look close to it but are not answered
by it, and a cited answer to them is the worst reply adoptbot can give:

    named thing   "what's the context window of GPT-4o?", "A100 or H100?": a name or code (a digit
                  in the word, an acronym, a capitalised word mid-sentence) that the knowledge base
                  never mentions and that is rare in everyday English (wordfreq's Zipf scale)
    company fact  "who approved our pilot?", "when was our policy updated?", "is our chatbot compliant?":
                  the company's own people, dates, counts, decisions, records and legal standing,
                  which no guidance holds
    history       "who invented GANs?", "when was the first GAN paper published?"

Anything else goes on to retrieval and the relevance gate as before.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from functools import lru_cache

from bot.answering.language import zipf
from bot.answering.lexical import STOPWORDS, words

RARE = 3.0  # Zipf frequency below which a word is rare in everyday English (3 = once per million words)
_NAMED = re.compile(r"\d|^[A-Z]{4,}s?$")  # GPT-4o, H100, DPIA, HIPAA (not CTO, EOW: roles and times)

# The company's own things: "our", "we", "my boss", "project Atlas", "internally".
_SELF = re.compile(
    r"\b(?:our|ours|we|we've|we're|us|my (?:boss|manager|team|company|department|org)|the company|"
    r"internal(?:ly)?|project [A-Z]\w*)\b",
    re.IGNORECASE,
)
# A fact about the company's people, dates, counts or decisions, as opposed to advice on what to do.
_FACT = re.compile(
    r"\b(?:who(?:'s| is| are| was| were)?|whom|whose|when (?:was|were|did|is|are|will)|what date|which date|"
    r"how many|deadlines?|budgets?|appl(?:y|ies) to|classif(?:y|ies)|licen[cs]ed?|licen[cs]es|sign(?:ed)? off|"
    r"sign-off|approved|status|so far|did we|have we|were we|did our|has our|"
    r"(?:policy|contract|agreement) (?:say|says|allow|allows|permit|permits)|"
    r"last (?:week|month|quarter|year)|this (?:week|month|quarter|year)|next (?:week|month|quarter|year)|"
    r"results of|contract|invoice|headcount|compliant|comply|complies|is it legal|legally)\b",
    re.IGNORECASE,
)
# Who made what, and when: history the guidance does not record.
_HISTORY = re.compile(
    r"\b(?:who (?:invented|wrote|created|coined|founded|came up with|published|approved|decided|picked|chose)|"
    r"when (?:was|were|did) .{0,60}\b(?:invented|published|released|founded|created|launched|come out|came out))\b",
    re.IGNORECASE,
)
_ADVICE = re.compile(
    r"\b(?:should|shall|would|could|ought|must|recommend|best|can we|have to|has to|got to|"
    r"needs?(?! a name| to know))\b",
    re.IGNORECASE,
)


def beyond_guidance(text: str, vocabulary: Iterable[str], *, language: str = "en") -> str:
    """Why the guidance cannot answer text ("" when it may): a named thing it never mentions, or a company fact.

    A word is rare when it is rare both in English and in the question's own language (a German
    noun is capitalised, not a name).
    """
    known = _known(frozenset(vocabulary))
    named = [w for i, w in enumerate(words(text)) if _unknown_name(w, i, known, language)]
    if named:
        return f"named: {', '.join(dict.fromkeys(named))}"
    if _SELF.search(text) and _FACT.search(text) and not _ADVICE.search(text):
        return "company"
    if _HISTORY.search(text):
        return "history"
    return ""


@lru_cache(maxsize=4)
def _known(vocabulary: frozenset[str]) -> frozenset[str]:
    """The knowledge base's words, their hyphenated parts, and the words every question is made of."""
    parts = {part for word in vocabulary for part in word.split("-")}
    return frozenset(vocabulary | parts | STOPWORDS)


def _unknown_name(word: str, position: int, known: frozenset[str], language: str) -> bool:
    lowered = word.lower()
    if len(lowered) < 3 or any(form in known for form in (lowered, lowered.rstrip("s"), lowered + "s")):
        return False
    if all(part in known for part in lowered.split("-")):  # "GPT-style"
        return False
    looks_named = bool(_NAMED.search(word)) or (position > 0 and word[0].isupper() and not word.rstrip("s").isupper())
    if not looks_named or max(zipf(lowered), zipf(lowered, language)) >= RARE:
        return False
    return not difflib.get_close_matches(lowered, known, n=1, cutoff=0.85)  # a typo of a word it knows
