"""Read PDF, Word (.docx) and HTML files into text with maintained parsers; BadFile says why one cannot be read.

Word and HTML come out as Markdown (headings become `#` lines) so they are chunked by heading like
guidance; a PDF comes out as one text per page, so every passage knows its page. Whatever a parser
raises on a malformed file is mapped to BadFile here, at the boundary.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass

from ingest.sources import DOCX_SUFFIXES, PDF_SUFFIXES, BadFile

_MARK = "\ue000"  # a private-use character: where an HTML heading was, before Markdown is written
_MARKDOWN_SYNTAX = re.compile(r"^(#{1,6}\s|\s*(```|~~~))")
_HEADING_STYLE = re.compile(r"^Heading ([1-6])$")
_NOT_TEXT = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas")
_BLOCKS = (
    "p", "div", "section", "article", "main", "aside", "header", "footer", "nav", "blockquote", "pre",
    "ul", "ol", "li", "table", "tr", "dl", "dt", "dd", "figure", "figcaption", "address", "hr",
)  # fmt: skip


@dataclass(frozen=True)
class Extracted:
    """What a document yields: a title guess, Markdown body or per-page texts, and what was left out."""

    title: str = ""
    body: str = ""
    pages: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def extract(suffix: str, data: bytes) -> Extracted:
    """The text of a PDF, .docx or HTML file; raises BadFile with a reason and what to do."""
    if not data.strip():
        raise BadFile("the file is empty: add content or delete the file")
    if suffix in PDF_SUFFIXES:
        return _pdf(data)
    if suffix in DOCX_SUFFIXES:
        return _docx(data)
    return _html(data)


def _pdf(data: bytes) -> Extracted:
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its repair notes would drown the ingest summary

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _decrypted(reader):
            raise BadFile(
                "the PDF is password-protected, so its text cannot be read: save a copy without a password "
                "(in a PDF reader: print or export to PDF without protection) and put that here"
            )
        pages = tuple(_clean(page.extract_text() or "") for page in reader.pages)
        title = str((reader.metadata or {}).get("/Title") or "")
    except BadFile:
        raise
    except Exception as e:  # noqa: BLE001 - a malformed PDF can fail anywhere inside the parser
        raise BadFile(
            f"not a readable PDF ({_detail(e)}): open it and export or save it again as PDF, then reindex"
        ) from None
    if not any(p.strip() for p in pages):
        raise BadFile(
            "the PDF has no text to index (a scanned image?): export it from the original document, or run "
            "text recognition (OCR) on it first"
        )
    return Extracted(title=" ".join(title.split()), pages=pages)


def _decrypted(reader: object) -> bool:
    """Whether a PDF opens without a password (encrypted only against editing)."""
    try:
        return bool(reader.decrypt(""))  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - an unknown cipher or a missing crypto library: treat as locked
        return False


def _docx(data: bytes) -> Extracted:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        title = str(document.core_properties.title or "")
        lines: list[str] = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                lines += ["", *(_row(row) for row in block.rows), ""]
                continue
            text = " ".join(block.text.split())
            style = block.style.name if block.style is not None else ""
            heading = _HEADING_STYLE.match(style or "")
            if not text:
                continue
            if style == "Title":
                title = title or text
                lines += ["", "# " + text, ""]
            elif heading:
                # One level below the Title style, so every "Heading 1" is a section (see ingest/chunking.py).
                title = title or (text if heading.group(1) == "1" else "")
                lines += ["", "#" * min(6, int(heading.group(1)) + 1) + " " + text, ""]
            elif (style or "").startswith("List"):
                lines.append("- " + _literal(text))
            else:
                lines += ["", _literal(text)]
    except Exception as e:  # noqa: BLE001 - a malformed package can fail anywhere inside the parser
        raise BadFile(
            f"not a readable Word document ({_detail(e)}): open it in Word and save it again as .docx "
            "(Word 2007 or later), then reindex"
        ) from None
    body = _clean("\n".join(lines))
    if not body.strip():
        raise BadFile("the Word document has no text: add content or delete the file")
    return Extracted(title=title, body=body)


def _row(row: object) -> str:
    cells: list[str] = []
    for cell in row.cells:  # type: ignore[attr-defined]
        text = " ".join(cell.text.split())
        if text and (not cells or cells[-1] != text):  # merged cells repeat their text
            cells.append(text)
    return _literal(" | ".join(cells))


def _html(data: bytes) -> Extracted:
    from bs4 import BeautifulSoup, Comment

    if b"\x00" in data[:8192]:
        raise BadFile("the file looks binary, not HTML: save the page as HTML text")
    try:
        soup = BeautifulSoup(data, "lxml")
    except Exception as e:  # noqa: BLE001 - the parser's own errors, mapped at the boundary
        raise BadFile(f"not readable HTML ({_detail(e)}): save the page again as HTML") from None
    scripts = len(soup.find_all("script"))
    for tag in soup.find_all(_NOT_TEXT):
        tag.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    root = soup.body or soup
    for heading in root.find_all(["h1", "h2", "h3", "h4", "h5", "h6"]):
        text = heading.get_text(" ", strip=True)
        title = title or (text if heading.name == "h1" else "")
        heading.replace_with(f"\n\n{_MARK}{heading.name[1]}{text}\n\n" if text else "")
    for br in root.find_all("br"):
        br.replace_with("\n")
    for item in root.find_all("li"):
        item.insert(0, "- ")
    for tag in root.find_all(_BLOCKS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    lines = []
    for raw in root.get_text().split("\n"):
        line = " ".join(raw.split())
        if line.startswith(_MARK):
            lines += ["", "#" * int(line[1]) + " " + line[2:].strip(), ""]
        else:
            lines.append(line if line.startswith("- ") else _literal(line))
    body = _clean(re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip())
    if not body:
        raise BadFile("the HTML page has no visible text to index: add content or delete the file")
    warnings = (f"{scripts} <script> element(s) left out: only the page's visible text is indexed",) if scripts else ()
    return Extracted(title=" ".join(title.split()), body=body, warnings=warnings)


def _literal(text: str) -> str:
    """Text that must not be read as Markdown structure: a leading '#' or fence is not a heading."""
    return " " + text if _MARKDOWN_SYNTAX.match(text) else text


def _clean(text: str) -> str:
    """Text without control characters other than line breaks and tabs (PDFs carry stray ones)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")


def _detail(error: Exception) -> str:
    message = " ".join(str(error).split())[:120]
    return f"{type(error).__name__}: {message}" if message else type(error).__name__
