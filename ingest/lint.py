"""`adoptbot kb lint`: what an editor should fix in the knowledge base, one finding per line.

Errors (exit status 1) are what loses or breaks content: a file ingest would skip (unreadable,
missing owner or last_reviewed, no metadata for a PDF, Word or HTML file), a plain-text file with
no owner or review date, two documents with the same title, a link to a file that does not exist,
a manifest entry or sidecar for a missing file, a decision table (assessment.yaml) that is broken or names
checklist items or documents that do not exist, `questions:` for a section that does not exist. Warnings are
what needs attention but still works: an overdue review, an empty section, a checklist item without "why", a
field that was cut, an empty or repeated question.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from common.text import visible
from ingest.chunking import FENCE, HEADING, resolve_questions, section_names
from kb.decision_lint import lint_table
from kb.decisions import FILE_NAME as DECISION_TABLE
from kb.files import BadFile, discover, read_bytes
from kb.limits import DEFAULT_LIMITS, Limits
from kb.metadata import MANIFEST, Catalog, takes_metadata
from kb.sources import SourceDoc, parse

ERROR, WARNING = "error", "warning"
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^)]*[\"'])?\s*\)")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_CODE_SPAN = re.compile(r"`[^`]*`")


@dataclass(frozen=True)
class Finding:
    """One thing to fix: where, how bad, and what to do."""

    source: str
    severity: str  # "error" | "warning"
    message: str
    line: int = 0

    def render(self) -> str:
        """'ERROR guidance/x.md:12: what is wrong: what to do'."""
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{self.severity.upper()} {visible(where)}: {visible(self.message)}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def lint(
    root: Path,
    *,
    today: dt.date,
    review_after_days: int = 365,
    max_file_bytes: int = 2_000_000,
    limits: Limits = DEFAULT_LIMITS,
) -> list[Finding]:
    """Every finding for the knowledge folder root, errors first, then by file and line."""
    findings: list[Finding] = []
    paths, refused = discover(root)
    findings += [Finding(source, ERROR, f"ingest skips it: {reason}") for source, reason in refused]
    catalog = Catalog.load(root, max_file_bytes)
    if catalog.problem:
        findings.append(Finding(MANIFEST, ERROR, catalog.problem))
    sources = {p.relative_to(root).as_posix() for p in paths}
    findings += [
        Finding(MANIFEST, ERROR, f"an entry for {path}, which does not exist: fix the path or remove the entry")
        for path in catalog.unknown_paths(sources)
    ]
    findings += [
        Finding(
            MANIFEST,
            ERROR,
            f"an entry for {path}, which carries its own front matter and ignores the manifest: move the fields "
            "into its front matter and remove the entry",
        )
        for path in sorted(catalog.entries)
        if path in sources and not takes_metadata(path)
    ]
    titles: dict[str, list[str]] = defaultdict(list)
    checklists: dict[str, set[str]] = {}
    for path in paths:
        source = path.relative_to(root).as_posix()
        try:
            data = read_bytes(path, max_file_bytes, inside=root)
            external = catalog.external(source) if takes_metadata(source) else None
            doc = parse(source, data, external.fields if external else None, limits=limits)
        except (BadFile, OSError) as e:
            reason = str(e) if isinstance(e, BadFile) else f"it could not be read ({e.strerror or e})"
            at_fault = getattr(e, "source", "") or source  # a metadata file, when it is the one at fault
            findings.append(Finding(at_fault, ERROR, f"ingest skips it: {reason}"))
            continue
        titles[doc.title.casefold()].append(source)
        if doc.kind == "checklist":
            checklists[doc.checklist_id] = {item.id for item in doc.items}
        findings += [Finding(source, WARNING, w) for w in doc.warnings]
        findings += _document(doc, today=today, review_after_days=review_after_days)
        _, problems = resolve_questions(doc, section_names(doc))
        findings += [Finding(source, ERROR if lost else WARNING, message) for lost, message in problems]
        if doc.kind != "checklist" and not takes_metadata(source):
            findings += _markdown(root, source, data.decode("utf-8-sig", errors="replace"))
        elif doc.body:
            findings += [Finding(source, WARNING, m) for _, m in _empty_sections(doc.body.split("\n"))]
    findings += _decision_table(root, checklists, sources, max_file_bytes)
    for same in titles.values():
        for source in same if len(same) > 1 else ():
            others = ", ".join(s for s in same if s != source)
            findings.append(
                Finding(source, ERROR, f"its title is also the title of {others}: give each document its own title")
            )
    return sorted(findings, key=lambda f: (f.severity != ERROR, f.source, f.line, f.message))


def _decision_table(root: Path, checklists: dict[str, set[str]], sources: set[str], max_bytes: int) -> list[Finding]:
    """The assessment's decision table, when there is one: its schema and what it names elsewhere."""
    path = root / DECISION_TABLE
    if not path.is_file():
        return []
    try:
        data = read_bytes(path, max_bytes, inside=root)
    except (BadFile, OSError) as e:
        reason = str(e) if isinstance(e, BadFile) else f"it could not be read ({e.strerror or e})"
        return [Finding(DECISION_TABLE, ERROR, f"the assessment cannot use it: {reason}")]
    problems = lint_table(data, checklists=checklists, sources=sources)
    return [Finding(DECISION_TABLE, ERROR, problem) for problem in problems]


def _document(doc: SourceDoc, *, today: dt.date, review_after_days: int) -> list[Finding]:
    findings: list[Finding] = []
    missing = [name for name in ("owner", "last_reviewed") if not getattr(doc, name)]
    if missing:
        findings.append(
            Finding(
                doc.source,
                ERROR,
                f"no {' or '.join(missing)}: start the file with front matter ('---', title, owner, "
                "last_reviewed: YYYY-MM-DD, '---'; see knowledge/README.md)",
            )
        )
    else:
        age = (today - dt.date.fromisoformat(doc.last_reviewed)).days
        if age > review_after_days:
            findings.append(
                Finding(
                    doc.source,
                    WARNING,
                    f"review overdue: last reviewed {doc.last_reviewed}, {age} days ago (the limit is "
                    f"{review_after_days}, ADOPTBOT_REVIEW_AFTER_DAYS): review it, then update last_reviewed",
                )
            )
    for n, item in enumerate(doc.items, start=1):
        if not item.why:
            findings.append(
                Finding(
                    doc.source,
                    WARNING,
                    f"item {n} ({item.id}) has no why: add 'why:' saying what the item prevents, so people follow it",
                )
            )
    return findings


def _markdown(root: Path, source: str, text: str) -> list[Finding]:
    """Broken relative links and empty sections, with line numbers in the file."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = _body_start(lines)
    findings = [Finding(source, WARNING, m, line=start + i + 1) for i, m in _empty_sections(lines[start:])]
    fenced = False
    for number, line in enumerate(lines[start:], start=start + 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        for target in _LINK.findall(_CODE_SPAN.sub("", line)):
            problem = _broken(root, source, target)
            if problem:
                findings.append(Finding(source, ERROR, problem, line=number))
        for word in _LEANING.findall(line) if not HEADING.match(line) else ():
            findings.append(
                Finding(
                    source,
                    WARNING,
                    f"a sentence starts with {word!r}: an answer can show it without the sentence before it, "
                    "so name what it is about",
                    line=number,
                )
            )
    return findings


# A sentence that leans on the one before it: at the start of a line (or a list item), or after a full stop.
_LEANING = re.compile(r"(?:^\s*(?:[-*+]\s+|\d+[.)]\s+)?|(?<=[.!?])\s+)(It|Its|This|That|These|Those|They|Their|Such)\s")


def _body_start(lines: list[str]) -> int:
    """The index of the first line after the front matter (0 without front matter)."""
    if not lines or lines[0] != "---":
        return 0
    for i in range(1, len(lines)):
        if lines[i].rstrip() == "---":
            return i + 1
    return 0


def _empty_sections(lines: list[str]) -> list[tuple[int, str]]:
    """(line index, message) for headings with neither text nor subsections under them."""
    headings: list[tuple[int, int, str]] = []  # (index, level, text)
    has_text: dict[int, bool] = {}
    fenced = False
    for i, line in enumerate(lines):
        if FENCE.match(line):
            fenced = not fenced
        match = None if fenced else HEADING.match(line)
        if match:
            headings.append((i, len(match.group(1)), match.group(2).strip().rstrip("#").strip()))
            has_text[i] = False
        elif headings and line.strip():
            has_text[headings[-1][0]] = True
    found = []
    for k, (i, level, title) in enumerate(headings):
        deeper_next = k + 1 < len(headings) and headings[k + 1][1] > level
        if not has_text[i] and not deeper_next:
            found.append((i, f"section {title[:60]!r} is empty: write its text or remove the heading"))
    return found


def _broken(root: Path, source: str, target: str) -> str:
    """Why a link in source to target is broken, or '' when it is fine or not a file link."""
    if _SCHEME.match(target) or target.startswith(("#", "//")):
        return ""
    path = unquote(target.split("#", 1)[0].split("?", 1)[0])
    if not path:
        return ""
    base = root if path.startswith("/") else (root / source).parent
    resolved = Path(os.path.normpath(base / path.lstrip("/")))
    if not resolved.is_relative_to(Path(os.path.normpath(root))):
        return f"link to {target} points outside the knowledge folder: link to a document inside it, or use a URL"
    if not resolved.exists():
        return f"link to {target}: there is no such file in the knowledge base; fix the link or add the file"
    return ""
