"""Read knowledge files into documents, or say exactly why a file cannot be used.

Only files inside the knowledge folder are read: a symlink is followed while it stays inside, and
a file reached twice is indexed once. YAML is read with limits (nesting depth, and how much anchors
and aliases may repeat), and front-matter fields are capped, so one file cannot exhaust memory or
flood every citation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.text import is_invisible, visible
from ingest.limits import DEFAULT_LIMITS, Limits

GUIDANCE_SUFFIXES = {".md", ".markdown"}
TEXT_SUFFIXES = {".txt"}
CHECKLIST_SUFFIXES = {".yaml", ".yml"}
PDF_SUFFIXES = {".pdf"}
DOCX_SUFFIXES = {".docx"}
HTML_SUFFIXES = {".html", ".htm"}
DOCUMENT_SUFFIXES = PDF_SUFFIXES | DOCX_SUFFIXES | HTML_SUFFIXES  # no front matter: see ingest/metadata.py
SUPPORTED = GUIDANCE_SUFFIXES | TEXT_SUFFIXES | CHECKLIST_SUFFIXES | DOCUMENT_SUFFIXES
NOT_INDEXED_DIRS = {"eval"}
# synonyms: bot/vocabulary.py; manifest: metadata of PDF, Word and HTML files (ingest/metadata.py);
# assessment: the use-case assessment's decision table (ingest/decisions.py)
NOT_INDEXED_FILES = {"readme.md", "synonyms.yaml", "manifest.yaml", "assessment.yaml"}
SIDECAR_SUFFIX = ".meta.yaml"  # policy.pdf.meta.yaml: the metadata of policy.pdf, never indexed itself
REQUIRED_FIELDS = ("title", "owner", "last_reviewed")

# Caps on what one file may put into every citation (characters).
MAX_TITLE = 200
MAX_OWNER = 200
MAX_URL = 2000
MAX_TAG = 50
MAX_TAGS = 20
MAX_ID = 100  # checklist and item ids
MAX_ITEM_TEXT = 1000  # a checklist item's text, and its why
# YAML limits: nesting depth, and how much anchors and aliases (&name, *name) may add to a file
# (values plus characters repeated), which is what stops a "billion laughs" file.
MAX_YAML_DEPTH = 50
ALIAS_BUDGET = 10_000
_SATURATED = 10**12  # sizes beyond this are all "too big"; keeps the arithmetic small


class BadFile(Exception):
    """A knowledge file that cannot be indexed; the message says why and how to fix it.

    `source` names the file at fault when it is not the one being read (a document's metadata file).
    """

    def __init__(self, message: str, *, source: str = "") -> None:
        super().__init__(message)
        self.source = source


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


def _quote(value: object, limit: int = 60) -> str:
    """A value for an error message: escaped, and cut if long."""
    text = visible(str(value))
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def discover(root: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files under root worth reading, and (source, reason) for entries skipped with a reason."""
    walk = _Walk(root)
    walk.folder(root)
    while walk.links:  # after every real file and folder, so links never take their place
        walk.link(walk.links.pop(0))
    documents = set(walk.files.values())
    for sidecar in walk.sidecars:
        document = sidecar[: -len(SIDECAR_SUFFIX)]
        if document not in documents:
            walk.refused.append(
                (
                    sidecar,
                    f"a metadata file for {visible(document)}, which does not exist: rename it to match its "
                    "document (name.pdf -> name.pdf.meta.yaml) or delete it",
                )
            )
        elif Path(document).suffix.lower() not in DOCUMENT_SUFFIXES:
            walk.refused.append(
                (
                    sidecar,
                    "a metadata file for a file that carries its own front matter: move these fields into "
                    f"the front matter of {visible(document)} and delete this file",
                )
            )
    return sorted(walk.found), sorted(walk.refused)


class _Walk:
    """The state of one discover(): symlinks are followed only inside root, and each file is taken once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.inside = root.resolve()
        self.found: list[Path] = []
        self.refused: list[tuple[str, str]] = []
        self.files: dict[Path, str] = {}  # resolved file -> the source it is indexed as
        self.folders: dict[Path, str] = {self.inside: "."}  # resolved folder -> where it is walked
        self.links: list[Path] = []
        self.sidecars: list[str] = []  # metadata files (x.pdf.meta.yaml), read with their document

    def folder(self, folder: Path) -> None:
        try:
            entries = sorted(folder.iterdir())
        except OSError as e:
            if folder == self.root:
                raise  # an unreadable knowledge folder must not look like an empty one
            reason = f"the folder could not be read ({e.strerror or e}): make it readable by the user running adoptbot"
            self.refused.append((folder.relative_to(self.root).as_posix(), reason))
            return
        for path in entries:
            rel = path.relative_to(self.root)
            if path.name.startswith(".") or (len(rel.parts) == 1 and path.name in NOT_INDEXED_DIRS):
                continue
            if visible(path.name) != path.name:
                self.refused.append(
                    (
                        visible(rel.as_posix()),
                        "the name has a line break or an invisible control character in it (written here as an "
                        "escape such as \\u202e): rename it"
                        + (", then its files are indexed" if path.is_dir() else ""),
                    )
                )
            elif path.is_symlink():
                self.links.append(path)
            elif path.is_dir():
                self.folders[path.resolve()] = rel.as_posix()
                self.folder(path)
            else:
                self.file(path, path.resolve())

    def file(self, path: Path, target: Path) -> None:
        rel = path.relative_to(self.root).as_posix()
        if rel.lower() in NOT_INDEXED_FILES:
            return
        if rel.lower().endswith(SIDECAR_SUFFIX):
            self.sidecars.append(rel)
            return
        if not target.is_file():
            self.refused.append((rel, "not a regular file (a pipe, socket or device): remove it"))
        elif path.suffix.lower() not in SUPPORTED:
            self.refused.append(
                (
                    rel,
                    f"unsupported file type '{visible(path.suffix or path.name)}': save guidance as "
                    "Markdown (.md), plain text (.txt), PDF, Word (.docx) or HTML, checklists as YAML (.yaml)",
                )
            )
        else:
            self.files[target] = rel
            self.found.append(path)

    def link(self, path: Path) -> None:
        rel = path.relative_to(self.root).as_posix()
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):  # missing target, or a loop of links
            self.refused.append(
                (rel, "a symlink whose target does not exist (or a loop of links): fix or delete the link")
            )
            return
        if not target.is_relative_to(self.inside):
            self.refused.append(
                (
                    rel,
                    "a symlink to something outside the knowledge folder, which adoptbot never reads: "
                    "copy what it points to into the knowledge folder instead of linking to it",
                )
            )
        elif target in self.folders or target in self.files:
            where = self.folders.get(target) or self.files[target]
            what = "the knowledge folder itself" if where == "." else f"{where}, which is indexed already"
            self.refused.append((rel, f"a symlink to {what}: delete the link (each file is indexed once)"))
        elif target.is_dir():
            self.folders[target] = rel
            self.folder(path)
        else:
            self.file(path, target)


def read_bytes(
    path: Path, max_bytes: int, *, inside: Path | None = None, fix: str = "split it into one file per topic"
) -> bytes:
    """The file's bytes, refusing files over max_bytes (saying fix), and (with inside) files that resolve outside."""
    target = path.resolve()
    if inside is not None and not target.is_relative_to(inside.resolve()):
        raise BadFile("it now points outside the knowledge folder, which adoptbot never reads: copy the file in")
    # O_NOFOLLOW: the resolved path must not have become a link since; O_NONBLOCK: a pipe must not hang us.
    fd = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise BadFile("not a regular file (a pipe, socket or device): remove it")
        if info.st_size > max_bytes:
            raise BadFile(
                f"file is too large ({info.st_size:,} bytes; the limit is {max_bytes:,}): {fix}, or raise "
                "ADOPTBOT_MAX_FILE_BYTES"
            )
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:  # it grew while we read it
        raise BadFile(f"file is too large (the limit is {max_bytes:,} bytes): {fix}, or raise ADOPTBOT_MAX_FILE_BYTES")
    return data


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


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
        warnings=tuple(warnings),
        **meta,
    )


def _parse_document(source: str, suffix: str, data: bytes, meta: Mapping[str, Any], limits: Limits) -> SourceDoc:
    """A PDF, Word or HTML file, with the fields its sidecar or the manifest gives (see ingest/metadata.py)."""
    from ingest.documents import extract

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
    return SourceDoc(source=source, kind="guidance", body=got.body, pages=got.pages, warnings=tuple(warnings), **values)


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


class _LimitedLoader(yaml.SafeLoader):
    """The safe loader, refusing YAML nested deeper than MAX_YAML_DEPTH."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        if self._depth >= MAX_YAML_DEPTH:
            raise BadFile(f"YAML nested more than {MAX_YAML_DEPTH} levels deep: flatten it")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str, what: str) -> Any:
    """YAML text as Python data, within the depth and alias limits; BadFile names `what` was wrong."""
    loader = None
    try:
        loader = _LimitedLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _check_aliases(node)
        return loader.construct_document(node)
    except yaml.YAMLError as e:
        raise BadFile(f"{what} is not valid YAML ({_yaml_where(e)})") from None
    except (ValueError, TypeError, AttributeError, OverflowError) as e:
        # PyYAML builds dates, numbers and tagged values (!!int, !!timestamp) with Python's own
        # constructors, which raise these for values like 2026-02-30.
        detail = f" ({_quote(e, 120)})" if isinstance(e, ValueError) else ""
        raise BadFile(
            f"{what} has a value YAML cannot build{detail}: write dates as real dates (YYYY-MM-DD) and put "
            "other text in quotes"
        ) from None
    except RecursionError:
        raise BadFile(f"{what} is nested too deeply: flatten it") from None
    finally:
        if loader is not None:
            loader.dispose()


def _check_aliases(root: yaml.Node) -> None:
    """Refuse YAML whose anchors and aliases would repeat more than ALIAS_BUDGET values and characters."""
    expanded: dict[int, int] = {}  # id(node) -> its size with every alias written out
    written = 0  # the size of each distinct node, once
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:  # depth-first without recursion: a chain of aliases can be long
        node, children_done = stack.pop()
        key = id(node)
        children = _children(node)
        if children_done:
            on_path.discard(key)
            own = 1 + (len(node.value) if isinstance(node, yaml.ScalarNode) else 0)
            written += own
            expanded[key] = min(_SATURATED, own + sum(expanded[id(c)] for c in children))
            continue
        if key in expanded:
            continue
        if key in on_path:
            raise BadFile("a YAML alias (*name) refers to the value it is part of: write the value out instead")
        on_path.add(key)
        stack.append((node, True))
        stack += [(c, False) for c in children if id(c) not in expanded]
    extra = expanded[id(root)] - written
    if extra > ALIAS_BUDGET:
        raise BadFile(
            f"YAML anchors and aliases (&name, *name) would repeat {extra:,} values and characters, over the "
            f"limit of {ALIAS_BUDGET:,}: write the repeated text out in full instead (see knowledge/README.md)"
        )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


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
            raise BadFile(f"last_reviewed {_quote(reviewed)} is not a date: write it as YYYY-MM-DD") from None
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
        raise BadFile(f"url {_quote(url)} must start with http:// or https://")
    if any(ch.isspace() or is_invisible(ch) for ch in url):
        raise BadFile(f"url {_quote(url)} has spaces or invisible characters in it: write a space as %20")
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
            raise BadFile(f"item id {_quote(item_id)} is used twice: item ids must be unique")
        seen.add(item_id)
        items.append(
            ChecklistItem(
                id=item_id,
                text=_text(raw["text"], f"item {n} text", MAX_ITEM_TEXT, warnings),
                why=_text(raw.get("why") or "", f"item {n} why", MAX_ITEM_TEXT, warnings),
            )
        )
    return SourceDoc(
        source=source,
        kind="checklist",
        body=" ".join(str(data.get("summary") or "").split()),
        checklist_id=checklist_id,
        items=tuple(items),
        warnings=tuple(warnings),
        **meta,
    )


def _yaml_where(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or getattr(error, "reason", None) or "syntax error"
    where = f"line {mark.line + 1}: {problem}" if mark else str(problem)
    return visible(where[:200])


def _title_from_name(source: str) -> str:
    return Path(source).stem.replace("-", " ").replace("_", " ").strip().capitalize()
