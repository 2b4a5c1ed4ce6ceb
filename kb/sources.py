"""A knowledge file's bytes -> a document (guidance with front matter, a checklist, a PDF/Word/HTML file).

Front-matter fields are capped, so one file cannot flood every citation; kb.files finds and reads the
files, kb.documents extracts text from PDF, Word and HTML.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.text import is_invisible
from kb.documents import extract
from kb.files import (
    CHECKLIST_SUFFIXES,
    DOCUMENT_SUFFIXES,
    GUIDANCE_SUFFIXES,
    SIDECAR_SUFFIX,
    TEXT_SUFFIXES,
    BadFile,
    load_yaml,
    quoted,
)
from kb.limits import DEFAULT_LIMITS, Limits

REQUIRED_FIELDS = ("title", "owner", "last_reviewed")

# Caps on what one file may put into every citation (characters).
MAX_TITLE = 200
MAX_OWNER = 200
MAX_URL = 2000
MAX_TAG = 50
MAX_TAGS = 20
MAX_ID = 100  # checklist and item ids
MAX_ITEM_TEXT = 1000  # a checklist item's text, and its why
MAX_QUESTION = 300  # one of the questions a section answers
MAX_SECTION_QUESTIONS = 10  # questions kept per section
WHOLE = ""  # the section key of a checklist's questions: they are about the checklist as a whole


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    text: str
    why: str = ""


@dataclass(frozen=True)
class SourceDoc:
    """One knowledge file, parsed. `body` is Markdown or plain text; checklists have items."""

    source: str  # path relative to the knowledge folder, with forward slashes
    kind: str  # "guidance" | "text" | "checklist" (PDF, Word and HTML files are guidance)
    title: str
    owner: str
    last_reviewed: str
    url: str = ""
    tags: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()  # who the document is for; stored with every chunk
    body: str = ""
    pages: tuple[str, ...] = ()  # a PDF's text, page by page (then body is empty)
    checklist_id: str = ""
    items: tuple[ChecklistItem, ...] = field(default_factory=tuple)
    warnings: tuple[str, ...] = ()  # fields that were cut or cleaned; the file is indexed all the same
    # The questions each section answers, as editors wrote them: (section heading, questions); see ingest.chunking.
    questions: tuple[tuple[str, tuple[str, ...]], ...] = ()


def parse(
    source: str, data: bytes, meta: Mapping[str, Any] | None = None, *, limits: Limits = DEFAULT_LIMITS
) -> SourceDoc:
    """Parse one file's bytes by its extension; meta: a PDF, Word or HTML file's fields. Raises BadFile."""
    suffix = Path(source).suffix.lower()
    if suffix in DOCUMENT_SUFFIXES:
        return _parse_document(source, suffix, data, meta or {}, limits)
    text = _decode(data)
    if suffix in CHECKLIST_SUFFIXES:
        return _parse_checklist(source, text)
    front, body = _split_front_matter(text)
    if front is None:
        if suffix in TEXT_SUFFIXES:
            if not body.strip():
                raise BadFile("the file is empty: add some guidance text or delete the file")
            return SourceDoc(
                source=source,
                kind="text",
                title=_title_from_name(source),
                owner="",
                last_reviewed="",
                body=body,
            )
        raise BadFile(
            "missing front matter: start the file with a '---' block giving title, owner "
            "and last_reviewed (see knowledge/README.md)"
        )
    warnings: list[str] = []
    meta = _check_fields(front, warnings)
    if not body.strip():
        raise BadFile("the document has front matter but no text below it")
    return SourceDoc(
        source=source,
        kind="guidance" if suffix in GUIDANCE_SUFFIXES else "text",
        body=body,
        questions=_section_questions(front.get("questions"), warnings),
        warnings=tuple(warnings),
        **meta,
    )


def _parse_document(source: str, suffix: str, data: bytes, meta: Mapping[str, Any], limits: Limits) -> SourceDoc:
    """A PDF, Word or HTML file, with the fields its sidecar or the manifest gives (see kb/metadata.py)."""
    missing = [k for k in ("owner", "last_reviewed") if not str(meta.get(k) or "").strip()]
    if missing:
        name = Path(source).name
        raise BadFile(
            f"no {' or '.join(missing)}: {suffix[1:].upper()} files cannot carry front matter, so write them in "
            f"{name}{SIDECAR_SUFFIX} next to it (owner: ..., last_reviewed: YYYY-MM-DD) or under "
            f"'{source}:' in knowledge/manifest.yaml (see knowledge/README.md)"
        )
    got = extract(suffix, data, limits)
    warnings = list(got.warnings)
    title = meta.get("title") or got.title or _title_from_name(source)
    values = _check_fields({**meta, "title": title}, warnings)
    questions = _section_questions(meta.get("questions"), warnings)
    return SourceDoc(
        source=source,
        kind="guidance",
        body=got.body,
        pages=got.pages,
        questions=questions,
        warnings=tuple(warnings),
        **values,
    )


def _decode(data: bytes) -> str:
    if not data.strip():
        raise BadFile("the file is empty: add content or delete the file")
    if b"\x00" in data[:8192]:
        raise BadFile("the file looks binary, not text: knowledge files must be plain text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise BadFile(f"not valid UTF-8 (byte {e.start}): save the file with UTF-8 encoding") from None
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\t\n\r\f")
    if controls > 8:
        raise BadFile("the file looks binary, not text: knowledge files must be plain text")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _split_front_matter(text: str) -> tuple[dict | None, str]:
    if not text.startswith("---\n"):
        return None, text
    end = text.find("\n---", 3)
    while end != -1 and text[end + 4 : end + 5] not in ("", "\n"):
        end = text.find("\n---", end + 4)
    if end == -1:
        raise BadFile("front matter is not closed: add a line with just '---' after it")
    front = load_yaml(text[4:end], "front matter")
    if not isinstance(front, dict):
        raise BadFile("front matter must be 'key: value' lines (title, owner, last_reviewed)")
    return front, text[end + 4 :].lstrip("\n")


def _text(value: object, name: str, cap: int, warnings: list[str]) -> str:
    """A field as one line of visible text, at most cap characters; what was changed goes into warnings."""
    text = " ".join(str(value).split())  # line breaks and tabs become spaces first
    cleaned = " ".join("".join(ch for ch in text if not is_invisible(ch)).split())
    if cleaned != text:
        warnings.append(f"{name} had invisible control characters (such as \\u202e); they were removed")
    if len(cleaned) > cap:
        warnings.append(
            f"{name} is {len(cleaned):,} characters long, over the limit of {cap:,}: it was cut to {cap:,}; shorten it"
        )
        cleaned = cleaned[: cap - 1].rstrip() + "…"
    return cleaned


def _check_fields(meta: dict, warnings: list[str]) -> dict:
    values = {k: _text(meta.get(k) or "", k, cap, warnings) for k, cap in (("title", MAX_TITLE), ("owner", MAX_OWNER))}
    missing = [k for k in REQUIRED_FIELDS if not (values[k] if k in values else str(meta.get(k) or "").strip())]
    if missing:
        raise BadFile(f"front matter is missing {', '.join(missing)}")
    reviewed = meta["last_reviewed"]
    if isinstance(reviewed, dt.datetime):
        reviewed = reviewed.date()
    if not isinstance(reviewed, dt.date):
        try:
            reviewed = dt.date.fromisoformat(str(reviewed).strip())
        except ValueError:
            raise BadFile(f"last_reviewed {quoted(reviewed)} is not a date: write it as YYYY-MM-DD") from None
    tags = meta.get("tags") or []
    if isinstance(tags, str):
        tags = tags.split(",")
    if not isinstance(tags, list):
        raise BadFile("tags must be a list, for example: tags: [risks, privacy]")
    return {
        **values,
        "last_reviewed": reviewed.isoformat(),
        "url": _check_url(meta.get("url"), warnings),
        "tags": _labels(meta.get("tags"), "tags", "a tag", warnings),
        "audience": _labels(meta.get("audience"), "audience", "an audience", warnings),
    }


def _labels(value: object, name: str, one: str, warnings: list[str]) -> tuple[str, ...]:
    """A list field such as tags or audience: a YAML list, or one comma-separated string."""
    labels = value or []
    if isinstance(labels, str):
        labels = labels.split(",")
    if not isinstance(labels, list):
        raise BadFile(f"{name} must be a list, for example: {name}: [first, second]")
    labels = [t for t in (_text(t, one, MAX_TAG, warnings) for t in labels) if t]
    if len(labels) > MAX_TAGS:
        warnings.append(f"{len(labels)} {name}, over the limit of {MAX_TAGS}: only the first {MAX_TAGS} are kept")
    return tuple(labels[:MAX_TAGS])


def _check_url(value: object, warnings: list[str]) -> str:
    url = str(value or "").strip()
    if url and not url.startswith(("http://", "https://")):
        raise BadFile(f"url {quoted(url)} must start with http:// or https://")
    if any(ch.isspace() or is_invisible(ch) for ch in url):
        raise BadFile(f"url {quoted(url)} has spaces or invisible characters in it: write a space as %20")
    if len(url) > MAX_URL:
        warnings.append(f"url is {len(url):,} characters long, over the limit of {MAX_URL:,}: it was left out")
        return ""
    return url


def _parse_checklist(source: str, text: str) -> SourceDoc:
    data = load_yaml(text, "the checklist")
    if not isinstance(data, dict):
        raise BadFile("a checklist must be a YAML mapping with id, title, owner, items")
    warnings: list[str] = []
    checklist_id = _text(data.get("id") or "", "id", MAX_ID, warnings)
    if not checklist_id:
        raise BadFile("the checklist has no id: add e.g. 'id: pre-deployment'")
    meta = _check_fields(data, warnings)
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise BadFile("the checklist has no items: add an 'items:' list")
    items: list[ChecklistItem] = []
    seen: set[str] = set()
    for n, raw in enumerate(raw_items, start=1):
        if isinstance(raw, str):
            raw = {"text": raw}
        if not isinstance(raw, dict) or not str(raw.get("text") or "").strip():
            raise BadFile(f"item {n} has no text: give every item a 'text:'")
        item_id = _text(raw.get("id") or f"item-{n}", f"item {n} id", MAX_ID, warnings)
        if item_id in seen:
            raise BadFile(f"item id {quoted(item_id)} is used twice: item ids must be unique")
        seen.add(item_id)
        items.append(
            ChecklistItem(
                id=item_id,
                text=_text(raw["text"], f"item {n} text", MAX_ITEM_TEXT, warnings),
                why=_text(raw.get("why") or "", f"item {n} why", MAX_ITEM_TEXT, warnings),
            )
        )
    raw_questions = data.get("questions")
    if raw_questions is not None and not isinstance(raw_questions, list | str):
        raise BadFile(
            "a checklist's questions must be a list of the questions it answers, for example: "
            "questions: [What must be in place before we go live?]"
        )
    questions = _question_list(raw_questions, "questions", warnings)
    return SourceDoc(
        source=source,
        kind="checklist",
        body=" ".join(str(data.get("summary") or "").split()),
        checklist_id=checklist_id,
        items=tuple(items),
        questions=((WHOLE, questions),) if questions else (),
        warnings=tuple(warnings),
        **meta,
    )


def _section_questions(value: object, warnings: list[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`questions:` of front matter: section heading -> the questions it answers, each cleaned and capped."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise BadFile(
            "questions must map a section heading to the questions it answers, for example:\n"
            "questions:\n  Bias audits:\n    - How often should we check our AI for bias?"
        )
    out: list[tuple[str, tuple[str, ...]]] = []
    for heading, questions in value.items():
        section = _text(heading if heading is not None else "", "a questions heading", MAX_QUESTION, warnings)
        if not section:
            raise BadFile("questions has an empty heading: write the section heading (as after ##) before the colon")
        if questions is not None and not isinstance(questions, list | str):
            raise BadFile(
                f"questions for {quoted(section)} must be a list, for example: - How do we ...? (one per line)"
            )
        kept = _question_list(questions, f"questions for {quoted(section)}", warnings)
        if kept:
            out.append((section, kept))
    return tuple(out)


def _question_list(value: object, name: str, warnings: list[str]) -> tuple[str, ...]:
    """A list of questions (or one question): empty and repeated ones dropped with a warning, at most a few kept."""
    raw = [value] if isinstance(value, str) else list(value or [])
    kept: list[str] = []
    seen: set[str] = set()
    for n, question in enumerate(raw, start=1):
        if isinstance(question, dict | list):
            raise BadFile(f"{name}: question {n} is not text: write each question on its own '- ' line")
        text = _text("" if question is None else question, f"{name}: question {n}", MAX_QUESTION, warnings)
        key = " ".join(text.casefold().rstrip("?!. ").split())
        if not key:
            warnings.append(f"{name}: question {n} is empty; write the question or remove the line")
        elif key in seen:
            warnings.append(f"{name}: question {n} ({quoted(text)}) is there twice; remove one")
        else:
            seen.add(key)
            kept.append(text)
    if len(kept) > MAX_SECTION_QUESTIONS:
        warnings.append(
            f"{name}: {len(kept)} questions, over the limit of {MAX_SECTION_QUESTIONS}: only the first "
            f"{MAX_SECTION_QUESTIONS} are kept; keep the ones people really ask"
        )
    return tuple(kept[:MAX_SECTION_QUESTIONS])


def _title_from_name(source: str) -> str:
    return Path(source).stem.replace("-", " ").replace("_", " ").strip().capitalize()
