"""Finding and reading knowledge files: which files count, their bytes within the limits, YAML read safely.

Only files inside the knowledge folder are read: a symlink is followed while it stays inside, and
a file reached twice is indexed once. YAML is read with limits (nesting depth, and how much anchors
and aliases may repeat), so one file cannot exhaust memory.

BadFile says why one file cannot be used (the ingest skips it, lint reports it, the bot's tools refuse it);
kb.sources turns a file's bytes into a document.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

import yaml

from common.text import visible

GUIDANCE_SUFFIXES = {".md", ".markdown"}


TEXT_SUFFIXES = {".txt"}


CHECKLIST_SUFFIXES = {".yaml", ".yml"}


PDF_SUFFIXES = {".pdf"}


DOCX_SUFFIXES = {".docx"}


HTML_SUFFIXES = {".html", ".htm"}


DOCUMENT_SUFFIXES = PDF_SUFFIXES | DOCX_SUFFIXES | HTML_SUFFIXES  # no front matter: see kb/metadata.py


SUPPORTED = GUIDANCE_SUFFIXES | TEXT_SUFFIXES | CHECKLIST_SUFFIXES | DOCUMENT_SUFFIXES


NOT_INDEXED_DIRS = {"eval"}


# synonyms: bot/answering/vocabulary.py; manifest: metadata of PDF, Word and HTML files (kb/metadata.py);
# assessment: the use-case assessment's decision table (kb/decisions.py)
NOT_INDEXED_FILES = {"readme.md", "synonyms.yaml", "manifest.yaml", "assessment.yaml"}


SIDECAR_SUFFIX = ".meta.yaml"  # policy.pdf.meta.yaml: the metadata of policy.pdf, never indexed itself


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


def quoted(value: object, limit: int = 60) -> str:
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
        detail = f" ({quoted(e, 120)})" if isinstance(e, ValueError) else ""
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


def _yaml_where(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or getattr(error, "reason", None) or "syntax error"
    where = f"line {mark.line + 1}: {problem}" if mark else str(problem)
    return visible(where[:200])
