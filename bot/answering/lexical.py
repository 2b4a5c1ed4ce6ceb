"""Word-level helpers shared by the relevance gate and the answerers: terms and sentences."""

from __future__ import annotations

import re
from functools import lru_cache

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "get",
        "give",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "might",
        "more",
        "most",
        "must",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "please",
        "same",
        "she",
        "should",
        "show",
        "so",
        "some",
        "such",
        "tell",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "us",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "explain",
        "know",
        "need",
        "needs",
        "want",
        "wants",
        "use",
        "used",
        "using",
        "me",
        "one",
        "ones",
        "like",
        "thing",
        "things",
        "exactly",
        "really",
    ]
)
_WORD = re.compile(r"[a-z0-9][a-z0-9\-]*[a-z0-9]|[a-z0-9]", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(*\[])")
_MARKDOWN = re.compile(r"\*\*|__|`")
_VOWEL = re.compile(r"[aeiouy]")


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """The words of text as written (letters, digits and inner hyphens): what terms() stems."""
    return _WORD.findall(text)


def terms(text: str) -> list[str]:
    """Content words of text, lower-cased and stemmed, stopwords removed."""
    # A lone letter is a contraction's ("what's") or a possessive's, not a word.
    words = [w.lower() for w in _WORD.findall(text) if len(w) > 1 or w.isdigit()]
    return _stemmer().stemWords([_singular(w) for w in words if w not in STOPWORDS])


def stems(text: str) -> list[str]:
    """Every word of text, lower-cased and stemmed, stopwords kept: for matching phrases."""
    return _stemmer().stemWords([_singular(w.lower()) for w in _WORD.findall(text)])


def _singular(word: str) -> str:
    # The stemmer keeps the s of acronyms without vowels ("LLMs"); people write both forms.
    if len(word) >= 4 and word.endswith("s") and not _VOWEL.search(word[:-1]):
        return word[:-1]
    return word


def coverage(query: str, text: str) -> float:
    """Share of the query's distinct terms that occur in text (1.0 when the query has none)."""
    wanted = set(terms(query))
    if not wanted:
        return 0.0
    return len(wanted & set(terms(text))) / len(wanted)


def plain(text: str) -> str:
    """Markdown emphasis and code marks removed."""
    return _MARKDOWN.sub("", text)


def units(text: str) -> list[tuple[str, bool]]:
    """Sentences and list items of a passage, in order: (text, is_list_item)."""
    out: list[tuple[str, bool]] = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.strip().split("\n")
        first_item = next((i for i, ln in enumerate(lines) if re.match(r"^\s*([-*+]|\d+[.)])\s+", ln)), None)
        if first_item is not None:
            lead = " ".join(ln.strip() for ln in lines[:first_item])
            out += [(s.strip(), False) for s in _SENTENCE.split(lead) if s.strip()]
            item = ""
            for ln in lines[first_item:]:
                if re.match(r"^\s*([-*+]|\d+[.)])\s+", ln):
                    if item:
                        out.append((item, True))
                    item = re.sub(r"^\s*([-*+]|\d+[.)])\s+", "", ln).strip()
                else:
                    item = f"{item} {ln.strip()}".strip()
            if item:
                out.append((item, True))
        else:
            joined = " ".join(ln.strip() for ln in lines)
            out += [(s.strip(), False) for s in _SENTENCE.split(joined) if s.strip()]
    return out
