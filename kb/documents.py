"""Read PDF, Word (.docx) and HTML files into text with maintained parsers; BadFile says why one cannot be read.

Word and HTML come out as Markdown (headings become `#` lines) so they are chunked by heading like
guidance; a PDF comes out as one text per page, so every passage knows its page. Whatever a parser
raises on a malformed file is mapped to BadFile here, at the boundary.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from kb.files import DOCX_SUFFIXES, PDF_SUFFIXES, BadFile
from kb.limits import Limits

_MARKDOWN_SYNTAX = re.compile(r"^(#{1,6}\s|\s*(```|~~~))")
_HEADING_STYLE = re.compile(r"^Heading ([1-6])$")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_NOT_TEXT = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas")
_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # all that Word writes
_ZIP_STEP = 1 << 16  # bytes unpacked at a time
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


def extract(suffix: str, data: bytes, limits: Limits) -> Extracted:
    """The text of a PDF, .docx or HTML file within limits; raises BadFile with a reason and what to do."""
    if not data.strip():
        raise BadFile("the file is empty: add content or delete the file")
    if suffix in PDF_SUFFIXES:
        return _pdf(data, limits)
    if suffix in DOCX_SUFFIXES:
        return _docx(data, limits)
    return _html(data, limits)


def _pdf(data: bytes, limits: Limits) -> Extracted:
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
        if len(reader.pages) > limits.pdf_pages:
            raise BadFile(
                f"the PDF has {len(reader.pages):,} pages, over the limit of {limits.pdf_pages:,}: split it into "
                "smaller PDFs (one per part or chapter), or raise ADOPTBOT_MAX_PDF_PAGES"
            )
        pages = _pdf_pages(reader, limits)
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


def _pdf_pages(reader: object, limits: Limits) -> tuple[str, ...]:
    """Each page's text, refusing a PDF whose text grows past the unpacked limit (its pages compress well)."""
    pages: list[str] = []
    size = 0
    for page in reader.pages:  # type: ignore[attr-defined]
        pages.append(_clean(page.extract_text() or ""))
        size += len(pages[-1].encode())
        if size > limits.unpacked_bytes:
            raise BadFile(
                f"the PDF's text passes {limits.unpacked_bytes:,} bytes by page {len(pages):,}: split it into "
                "smaller PDFs, or raise ADOPTBOT_MAX_UNPACKED_BYTES"
            )
    return tuple(pages)


def _decrypted(reader: object) -> bool:
    """Whether a PDF opens without a password (encrypted only against editing)."""
    try:
        return bool(reader.decrypt(""))  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - an unknown cipher or a missing crypto library: treat as locked
        return False


def _docx(data: bytes, limits: Limits) -> Extracted:
    import docx
    from docx.table import Table

    package = _unzipped(data, limits)
    try:
        document = docx.Document(io.BytesIO(package))
        title = str(document.core_properties.title or "")
        lines: list[str] = []
        styles: dict[str | None, str] = {}  # style id -> name: python-docx looks a style up anew, slowly
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                lines += ["", *(_row(row, block) for row in block.rows), ""]
                continue
            text = " ".join(block.text.split())
            style_id = block._p.style  # the id is all a lookup needs
            if style_id not in styles:
                styles[style_id] = block.style.name if block.style is not None else ""
            style = styles[style_id]
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
        raise BadFile(_unreadable_docx(e)) from None
    body = _clean("\n".join(lines))
    if not body.strip():
        raise BadFile("the Word document has no text: add content or delete the file")
    return Extracted(title=title, body=body)


def _unzipped(data: bytes, limits: Limits) -> bytes:
    """The .docx unpacked within the limits and packed again uncompressed, so python-docx unpacks nothing.

    The sizes in the archive's index are checked first, then the bytes as they come out, a step at a
    time: the index can lie, and python-docx would inflate a whole part at once before checking it.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > limits.docx_entries:
                raise BadFile(
                    f"the Word document holds {len(entries):,} files inside it, over the limit of "
                    f"{limits.docx_entries:,}: open it in Word and save it again as .docx, or raise "
                    "ADOPTBOT_MAX_DOCX_ENTRIES"
                )
            declared = sum(entry.file_size for entry in entries)
            if declared > limits.unpacked_bytes:
                raise BadFile(_too_big(limits, declared))
            parts: dict[str, bytes] = {}
            unpacked = 0
            for entry in entries:
                if entry.compress_type not in _ZIP_METHODS:
                    raise BadFile(
                        f"{entry.filename[:80]!r} inside the Word document is compressed in a way Word never "
                        "writes: open it in Word and save it again as .docx"
                    )
                steps: list[bytes] = []
                with archive.open(entry) as part:
                    while step := part.read(_ZIP_STEP):
                        unpacked += len(step)
                        if unpacked > limits.unpacked_bytes:
                            raise BadFile(_too_big(limits))
                        steps.append(step)
                parts[entry.filename] = b"".join(steps)  # a name given twice: the last, as zipfile reads it
    except BadFile:
        raise
    except Exception as e:  # noqa: BLE001 - zipfile and zlib raise many kinds on a damaged archive
        raise BadFile(_unreadable_docx(e)) from None
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as copy:
        for name, part_data in parts.items():
            copy.writestr(name, part_data)
    return out.getvalue()


def _too_big(limits: Limits, declared: int = 0) -> str:
    limit = limits.unpacked_bytes
    size = f"{declared:,} bytes, over the limit of {limit:,}" if declared else f"more than the limit of {limit:,} bytes"
    return (
        f"the Word document unpacks to {size} (a small file that inflates this much is a zip bomb): if it is a "
        "real document, split it or make its pictures smaller, or raise ADOPTBOT_MAX_UNPACKED_BYTES"
    )


def _unreadable_docx(error: Exception) -> str:
    return (
        f"not a readable Word document ({_detail(error)}): open it in Word and save it again as .docx "
        "(Word 2007 or later), then reindex"
    )


def _row(row: object, table: object) -> str:
    """A table row as 'a | b': each cell once, a vertically merged cell in its first row only."""
    from docx.table import _Cell

    cells: list[str] = []
    # The row's own cells, not row.cells: that finds each merged cell's first row by walking up from
    # every row below it, which is quadratic in the rows (and recursion-deep).
    for tc in row._tr.tc_lst:  # type: ignore[attr-defined]
        if tc.vMerge != "continue":
            text = " ".join(_Cell(tc, table).text.split())  # type: ignore[arg-type]
            if text:
                cells.append(text)
    return _literal(" | ".join(cells))


def _html(data: bytes, limits: Limits) -> Extracted:
    from lxml import etree

    if b"\x00" in data[:8192]:
        raise BadFile("the file looks binary, not HTML: save the page as HTML text")
    page = _Page(limits)
    try:
        parser = etree.HTMLParser(target=page)
        parser.feed(_decoded(data))
        parser.close()
    except BadFile:
        raise
    except Exception as e:  # noqa: BLE001 - the parser's own errors, mapped at the boundary
        raise BadFile(f"not readable HTML ({_detail(e)}): save the page again as HTML") from None
    body = _clean(re.sub(r"\n{3,}", "\n\n", "\n".join(page.lines)).strip())
    if not body:
        raise BadFile("the HTML page has no visible text to index: add content or delete the file")
    scripts = page.scripts
    warnings = (f"{scripts} <script> element(s) left out: only the page's visible text is indexed",) if scripts else ()
    return Extracted(title=" ".join((page.title or page.first_h1).split()), body=body, warnings=warnings)


def _decoded(data: bytes) -> str:
    """The page as text: by its byte-order mark or declared charset, else UTF-8, else Windows-1252.

    Decoded here because lxml reads bytes without a <meta charset> as Latin-1, even when they are UTF-8.
    """
    from bs4.dammit import EncodingDetector

    data, marked = EncodingDetector.strip_byte_order_mark(data)
    declared = EncodingDetector.find_declared_encoding(data, is_html=True)
    for encoding in filter(None, (marked, declared, "utf-8")):
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("windows-1252", errors="replace")


class _Page:
    """An lxml parser target that writes a page's visible text as Markdown in one pass, without a tree.

    One pass keeps the work linear in the page's size however deeply it nests, and the depth and
    element limits refuse a page as soon as it passes them.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.lines: list[str] = []  # the Markdown written so far
        self.title = ""
        self.first_h1 = ""
        self.scripts = 0
        self._depth = 0
        self._elements = 0
        # The depth of the element being read, 0 when outside one: text in <script>, <style>, ... is left
        # out, and in <head> only the <title> is read.
        self._hidden_at = 0
        self._head_at = 0
        self._title_at = 0
        self._heading: tuple[int, int] | None = None  # (depth, level) of the heading being read
        self._heading_text: list[str] = []
        self._run: list[str] = []  # text since the last heading
        self._text: list[str] = []  # the current text node, which lxml may hand over in pieces

    def start(self, tag: str, attrib: object) -> None:
        self._flush()
        self._depth += 1
        self._elements += 1
        if self._depth > self.limits.html_depth:
            raise BadFile(
                f"the HTML page nests elements more than {self.limits.html_depth:,} deep: save it again from the "
                "program that made it (real pages nest a few dozen deep), or raise ADOPTBOT_MAX_HTML_DEPTH"
            )
        if self._elements > self.limits.html_elements:
            raise BadFile(
                f"the HTML page has more than {self.limits.html_elements:,} elements: split it into smaller "
                "pages, or raise ADOPTBOT_MAX_HTML_ELEMENTS"
            )
        self.scripts += tag == "script"
        if self._hidden_at or self._title_at:
            return
        if tag in _NOT_TEXT:
            self._hidden_at = self._depth
        elif tag == "title":
            self._title_at, self._hidden_at = (0, self._depth) if self.title else (self._depth, 0)
        elif self._heading:
            if tag == "br" or tag in _BLOCKS:
                self._heading_text.append(" ")
        elif tag == "head":
            self._head_at = self._depth
        elif self._head_at:
            return
        elif tag in _HEADINGS:
            self._heading = (self._depth, int(tag[1]))
        elif tag == "br":
            self._run.append("\n")
        elif tag in _BLOCKS:
            self._run.append("\n\n- " if tag == "li" else "\n\n")

    def end(self, tag: str) -> None:
        self._flush()
        if self._depth == self._hidden_at:
            self._hidden_at = 0
        elif self._depth == self._title_at:
            self._title_at = 0
        elif self._heading and self._depth == self._heading[0]:
            self._end_heading(self._heading[1])
        elif self._depth == self._head_at:
            self._head_at = 0
        elif not (self._hidden_at or self._title_at or self._heading or self._head_at) and tag in _BLOCKS:
            self._run.append("\n\n")
        self._depth -= 1

    def data(self, text: str) -> None:
        self._text.append(text)

    def close(self) -> None:
        self._flush()
        self._end_run()

    def _flush(self) -> None:
        """Route the text node just read: to the title, the heading being read, or the page's text."""
        text = "".join(self._text)
        self._text = []
        if not text or self._hidden_at:
            return
        if self._title_at:
            self.title += " " + text
        elif self._heading:
            self._heading_text.append(text)
        elif not self._head_at:
            self._run.append(text)

    def _end_heading(self, level: int) -> None:
        text = " ".join("".join(self._heading_text).split())
        self._heading, self._heading_text = None, []
        if not text:
            return
        if level == 1 and not self.first_h1:
            self.first_h1 = text
        self._end_run()
        self.lines += ["", "#" * level + " " + text, ""]

    def _end_run(self) -> None:
        for raw in "".join(self._run).split("\n"):
            line = " ".join(raw.split())
            self.lines.append(line if line.startswith("- ") else _literal(line))
        self._run = []


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
