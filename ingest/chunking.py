"""Split documents into passages by heading, each small enough for the embedding model."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from common.text import is_invisible
from kb.files import BadFile
from kb.limits import Limits
from kb.sources import WHOLE, SourceDoc
from kb.store import QUESTION

TokenCounter = Callable[[str], int]
Warn = Callable[[str], None]

OVERVIEW = "Overview"
MAX_HEADING = 200  # characters of one heading in a citation
MAX_SECTION = 300  # characters of a heading path ("A > B > C")
# No backtracking: a heading line of many spaces must not take minutes (the closing #s are trimmed in code).
HEADING = re.compile(r"^(#{1,6})\s+(\S.*)$")
FENCE = re.compile(r"^\s*(```|~~~)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")


@dataclass(frozen=True)
class Chunk:
    """One passage of a document with everything needed to cite it."""

    id: str
    source: str
    title: str
    section: str
    text: str
    ordinal: int  # position within the document, for merging neighbours
    kind: str = "guidance"
    owner: str = ""
    last_reviewed: str = ""
    url: str = ""
    tags: str = ""
    checklist_id: str = ""
    item_ids: str = ""
    pages: str = ""  # the PDF page(s) the passage is on ("4", "3-4"); its section says "Page 4" too
    audience: str = ""  # comma-separated audiences of the document

    @property
    def embed_text(self) -> str:
        """What the embedding model sees: the passage with its title and section; a question as asked."""
        if self.kind == QUESTION:  # compared question to question with what people ask
            return self.text
        return f"{self.title}\n{self.section}\n\n{self.text}"

    def metadata(self) -> dict[str, str | int]:
        """Scalar metadata for the vector store."""
        return {
            "source": self.source,
            "title": self.title,
            "section": self.section,
            "ordinal": self.ordinal,
            "kind": self.kind,
            "owner": self.owner,
            "last_reviewed": self.last_reviewed,
            "url": self.url,
            "tags": self.tags,
            "checklist_id": self.checklist_id,
            "item_ids": self.item_ids,
            "pages": self.pages,
            "audience": self.audience,
        }


def chunk_document(
    doc: SourceDoc,
    count_tokens: TokenCounter,
    max_tokens: int,
    *,
    warn: Warn | None = None,
    max_chunks: int = Limits.file_chunks,
) -> list[Chunk]:
    """Chunks of doc, each embed_text at most max_tokens word pieces; warn(message) for headings that were cut.

    Raises BadFile as soon as doc makes more than max_chunks chunks, before the rest is split.
    """
    pieces: Iterator[tuple[str, str, str, str]]
    if doc.kind == "checklist":
        pieces = (
            (section, text, item_ids, "")
            for section, text, item_ids in _checklist_pieces(doc, count_tokens, max_tokens)
        )
    elif doc.pages:
        pieces = (
            (page_section(n), text, "", str(n))
            for n, page in enumerate(doc.pages, start=1)
            for text in _pack(_blocks(page), count_tokens, _budget(doc, page_section(n), count_tokens, max_tokens))
        )
    else:
        pieces = (
            (section, text, "", "")
            for section, body in _sections(doc.body, warn or (lambda message: None))
            for text in _pack(_blocks(body), count_tokens, _budget(doc, section, count_tokens, max_tokens))
        )
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for ordinal, (section, text, item_ids, pages, kind) in enumerate(_with_questions(doc, pieces, warn)):
        if ordinal == max_chunks:
            raise BadFile(
                f"it makes more than {max_chunks:,} passages, the limit for one file: split it into several files "
                "(one per topic), or raise ADOPTBOT_MAX_FILE_CHUNKS"
            )
        key = f"{section}\x00{QUESTION}" if kind == QUESTION else section  # a new passage leaves question ids be
        n = seen.get(key, 0)
        seen[key] = n + 1
        chunks.append(
            Chunk(
                id=_chunk_id(doc.source, key, n),
                source=doc.source,
                title=doc.title,
                section=section,
                text=text,
                ordinal=ordinal,
                kind=kind,
                owner=doc.owner,
                last_reviewed=doc.last_reviewed,
                url=doc.url,
                tags=",".join(doc.tags),
                checklist_id=doc.checklist_id,
                item_ids=item_ids,
                pages=pages,
                audience=",".join(doc.audience),
            )
        )
    return chunks


def _with_questions(
    doc: SourceDoc, pieces: Iterator[tuple[str, str, str, str]], warn: Warn | None
) -> Iterator[tuple[str, str, str, str, str]]:
    """The passages, then one piece per question a section answers (kind QUESTION, cited as that section)."""
    sections: list[str] = []
    for section, text, item_ids, pages in pieces:
        if section not in sections:
            sections.append(section)
        yield section, text, item_ids, pages, doc.kind
    targets, problems = resolve_questions(doc, sections)
    for _, problem in problems:
        (warn or (lambda message: None))(problem)
    for section, questions in targets:
        for question in questions:
            yield section, question, "", "", QUESTION


def resolve_questions(
    doc: SourceDoc, sections: list[str]
) -> tuple[list[tuple[str, tuple[str, ...]]], list[tuple[bool, str]]]:
    """doc's questions by the section (as cited) they belong to, and (lost, what to fix) for the rest.

    A key is a section as cited ("A > B"), or its last heading ("B") when no other section ends so; a
    checklist's questions belong to its first passage.
    """
    by_heading: dict[str, list[str]] = {}
    for section in sections:
        by_heading.setdefault(section.rsplit(" > ", 1)[-1].casefold(), []).append(section)
    exact = {s.casefold(): s for s in sections}
    found: dict[str, list[str]] = {}
    problems: list[tuple[bool, str]] = []
    for key, questions in doc.questions:
        if key == WHOLE:
            target = sections[0] if sections else None
        else:
            target = exact.get(key.casefold())
            if target is None and len(by_heading.get(key.casefold(), [])) == 1:
                target = by_heading[key.casefold()][0]
        if target is None:
            many = by_heading.get(key.casefold(), [])
            hint = (
                f"several sections end with it ({', '.join(many[:3])}): write the whole path"
                if len(many) > 1
                else f"the sections are: {', '.join(sections[:12])}" + (", ..." if len(sections) > 12 else "")
            )
            problems.append(
                (
                    True,
                    f"questions: no section {key[:80]!r} (an empty section has none either); {hint}. "
                    "Its questions were left out",
                )
            )
            continue
        kept = found.setdefault(target, [])
        for question in questions:
            if question.casefold() in (q.casefold() for q in kept):
                problems.append((False, f"questions: {question[:80]!r} is listed twice for {target!r}; remove one"))
            else:
                kept.append(question)
    return [(s, tuple(qs)) for s, qs in found.items()], problems


def section_names(doc: SourceDoc) -> list[str]:
    """The sections of doc as they are cited, in order, without splitting them into passages."""
    if doc.kind == "checklist":
        return ["Checklist"]
    if doc.pages:
        return [page_section(n) for n, page in enumerate(doc.pages, start=1) if page.strip()]
    return list(dict.fromkeys(section for section, _ in _sections(doc.body, lambda message: None)))


def page_section(n: int) -> str:
    """How a PDF passage's section reads in every citation: the page it is on."""
    return f"Page {n}"


def _chunk_id(source: str, section: str, n: int) -> str:
    # Stable across edits elsewhere in the file: depends only on where the chunk sits.
    return hashlib.sha1(f"{source}\x00{section}\x00{n}".encode()).hexdigest()[:20]


def _budget(doc: SourceDoc, section: str, count_tokens: TokenCounter, max_tokens: int) -> int:
    # [CLS] and [SEP] plus the title and section lines prepended in embed_text.
    header = count_tokens(f"{doc.title}\n{section}")
    return max(32, max_tokens - 2 - header)


def _sections(body: str, warn: Warn) -> Iterator[tuple[str, str]]:
    """(heading path, text) per section; a lone top-level heading is the title, not a section."""
    lines = body.split("\n")
    headings = [HEADING.match(line) for line in _outside_fences(lines)]
    h1_count = sum(1 for m in headings if m and len(m.group(1)) == 1)
    path: list[tuple[int, str]] = []
    current: list[str] = []

    def flush() -> Iterator[tuple[str, str]]:
        text = "\n".join(current).strip()
        if text:
            section = " > ".join(t for _, t in path) or OVERVIEW
            if len(section) > MAX_SECTION:
                section = section[: MAX_SECTION - 1].rstrip() + "…"
            yield section, text

    for line, match in zip(lines, headings, strict=True):
        if match is None:
            current.append(line)
            continue
        yield from flush()
        current = []
        level, title = len(match.group(1)), _heading_text(match.group(2), warn)
        if level == 1 and h1_count == 1:
            path = []
            continue
        path = [(lvl, t) for lvl, t in path if lvl < level] + [(level, title)]
    yield from flush()


def _heading_text(raw: str, warn: Warn) -> str:
    """A heading as it is cited: closing #s trimmed, invisible characters removed, at most MAX_HEADING long."""
    title = raw.strip()
    unclosed = title.rstrip("#")
    if unclosed != title and (not unclosed or unclosed[-1].isspace()):
        title = unclosed.strip()
    title = " ".join(title.split())  # tabs become spaces before invisible characters are dropped
    cleaned = " ".join("".join(ch for ch in title if not is_invisible(ch)).split())
    if cleaned != title:
        warn(f"heading {cleaned[:60]!r} had invisible control characters (such as \\u202e); they were removed")
    if len(cleaned) > MAX_HEADING:
        warn(
            f"heading {cleaned[:40]!r}... is {len(cleaned):,} characters long, over the limit of {MAX_HEADING}: "
            "it was cut; shorten it"
        )
        cleaned = cleaned[: MAX_HEADING - 1].rstrip() + "…"
    return cleaned


def _outside_fences(lines: list[str]) -> Iterator[str]:
    """Lines, with those inside code fences blanked so '#' there is not a heading."""
    fenced = False
    for line in lines:
        if FENCE.match(line):
            fenced = not fenced
            yield ""
        else:
            yield "" if fenced else line


def _blocks(text: str) -> list[str]:
    """Paragraphs and list items: the units a chunk boundary may fall between."""
    blocks: list[str] = []
    current: list[str] = []
    for line in text.split("\n"):
        starts_item = bool(re.match(r"^\s{0,3}([-*+]|\d+[.)])\s+", line))
        if not line.strip() or (starts_item and current):
            if current:
                blocks.append("\n".join(current).strip())
            current = [line] if line.strip() else []
        else:
            current.append(line)
    if current:
        blocks.append("\n".join(current).strip())
    return [b for b in blocks if b]


def _pack(blocks: list[str], count_tokens: TokenCounter, budget: int) -> Iterator[str]:
    """Greedily join blocks into passages of at most budget word pieces, each as soon as it is full."""
    current: list[str] = []
    used = 0
    for block in blocks:
        for piece in _fit(block, count_tokens, budget):
            size = count_tokens(piece)
            if current and used + size > budget:
                yield _join(current)
                current, used = [], 0
            current.append(piece)
            used += size
    if current:
        yield _join(current)


def _join(pieces: list[str]) -> str:
    text = ""
    for piece in pieces:
        is_item = bool(re.match(r"^\s{0,3}([-*+]|\d+[.)])\s+", piece))
        text += ("\n" if is_item and text else "\n\n" if text else "") + piece
    return text


def _fit(block: str, count_tokens: TokenCounter, budget: int) -> Iterator[str]:
    """A block split into sentences, then word windows, until each piece fits the budget."""
    if count_tokens(block) <= budget:
        yield block
        return
    # Re-merge short sentences so passages are not needlessly tiny.
    yield from _pack_sentences(_split(block, count_tokens, budget), count_tokens, budget)


def _split(block: str, count_tokens: TokenCounter, budget: int) -> Iterator[str]:
    """A block's sentences, and word windows of those too long to fit."""
    for sentence in _SENTENCE_END.split(block):
        if count_tokens(sentence) <= budget:
            yield sentence
            continue
        window: list[str] = []
        for word in sentence.split():
            if window and count_tokens(" ".join([*window, word])) > budget:
                yield " ".join(window)
                window = []
            window.append(word)
        if window:
            yield " ".join(window)


def _pack_sentences(pieces: Iterator[str], count_tokens: TokenCounter, budget: int) -> Iterator[str]:
    merged = ""
    for piece in pieces:
        if merged and count_tokens(merged + " " + piece) <= budget:
            merged = merged + " " + piece
        else:
            if merged:
                yield merged
            merged = piece
    if merged:
        yield merged


def _checklist_pieces(doc: SourceDoc, count_tokens: TokenCounter, max_tokens: int) -> Iterator[tuple[str, str, str]]:
    """Checklist items grouped into passages; each passage lists its item ids."""
    budget = max(32, max_tokens - 2 - count_tokens(f"{doc.title}\nItems 1-99") - 4)
    lines = [
        f"{n}. {item.text}" + (f" Why: {item.why}" if item.why else "") for n, item in enumerate(doc.items, start=1)
    ]
    intro = doc.body
    group: list[int] = []
    used = count_tokens(intro) if intro else 0
    groups: list[list[int]] = []
    for i, line in enumerate(lines):
        size = count_tokens(line)
        if group and used + size > budget:
            groups.append(group)
            group, used = [], 0
        group.append(i)
        used += size
    groups.append(group)
    for g, members in enumerate(groups):
        section = "Checklist" if len(groups) == 1 else f"Items {members[0] + 1}-{members[-1] + 1}"
        body = "\n".join(_fit_line(lines[i], count_tokens, budget) for i in members)
        if g == 0 and intro:
            body = f"{intro}\n\n{body}"
        yield section, body, ",".join(doc.items[i].id for i in members)


def _fit_line(line: str, count_tokens: TokenCounter, budget: int) -> str:
    """An over-long checklist line is cut rather than dropped."""
    if count_tokens(line) <= budget:
        return line
    words = line.split()
    while words and count_tokens(" ".join(words) + " ...") > budget:
        words = words[: max(1, len(words) * 3 // 4)]
    return " ".join(words) + " ..."
