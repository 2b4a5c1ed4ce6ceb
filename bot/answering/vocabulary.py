"""Employees' words -> the knowledge base's words: query expansion kept as data editors extend.

`knowledge/synonyms.yaml` lists phrases people use ("go live", "mock up") and the words the
guidance uses for the same thing; a question containing a phrase is searched with those words
added. Phrases match on word stems, so "going live" matches "go live". The file is re-read when
it changes; a broken edit is logged and the last good version stays in use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.answering.lexical import stems
from common.watched import Watched
from kb.files import BadFile, load_yaml

MAX_BYTES = 256_000
FILE_NAME = "synonyms.yaml"


class VocabularyError(ValueError):
    """The synonyms file cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Expansions:
    """Phrase (as stems) -> words to add to the query."""

    rules: tuple[tuple[tuple[str, ...], str], ...] = ()

    def expand(self, query: str) -> str:
        """The query with the words of every phrase it contains appended (each once)."""
        return f"{query} {self.added(query)}".strip()

    def added(self, query: str) -> str:
        """The words the phrases in query add, each entry's once."""
        words = stems(query)
        added: list[str] = []
        for phrase, extra in self.rules:
            if extra not in added and _contains(words, phrase):
                added.append(extra)
        return " ".join(added)


def parse(text: str, *, where: str = FILE_NAME) -> Expansions:
    """Rules from the YAML text: a list of `{when: [phrases], add: words}`."""
    try:
        data = load_yaml(text, where)  # the knowledge files' limits: no alias bombs, no deep nesting
    except BadFile as e:
        raise VocabularyError(str(e) if where in str(e) else f"{where}: {e}") from None
    if data is None:
        return Expansions()
    if not isinstance(data, list):
        raise VocabularyError(f"{where} must be a list of entries with 'when' and 'add'")
    rules: list[tuple[tuple[str, ...], str]] = []
    for n, entry in enumerate(data, start=1):
        if not isinstance(entry, dict) or not entry.get("add") or not entry.get("when"):
            raise VocabularyError(f"{where}, entry {n}: give 'when' (phrases) and 'add' (words to search for)")
        when = entry["when"] if isinstance(entry["when"], list) else [entry["when"]]
        extra = " ".join(str(entry["add"]).split())
        for phrase in when:
            key = tuple(stems(str(phrase)))
            if not key:
                raise VocabularyError(f"{where}, entry {n}: the phrase {phrase!r} has no words")
            rules.append((key, extra))
    return Expansions(tuple(rules))


class VocabularyFile:
    """The editors' synonyms file, re-read when it changes; missing means no expansions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = Watched(
            path, _load, errors=(OSError, UnicodeDecodeError, VocabularyError),
            keeping="keeping the previous synonyms. Fix the file to use the new ones.", initial=Expansions(),
        )  # fmt: skip

    def current(self) -> Expansions:
        """The expansions now in force."""
        return self._file.current() or Expansions()


def _load(path: Path) -> Expansions:
    if path.stat().st_size > MAX_BYTES:
        raise VocabularyError(f"{path} is larger than {MAX_BYTES:,} bytes")
    return parse(path.read_text(encoding="utf-8"), where=str(path))


def _contains(words: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1))
