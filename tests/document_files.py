"""PDF and Word files made in memory, for the tests of reading documents."""

from __future__ import annotations

import io
import zipfile

import docx
from fpdf import FPDF


def make_pdf(*pages: str, user_password: str = "") -> bytes:
    """A PDF with one page per text, optionally locked with a user password."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    if user_password:
        pdf.set_encryption(owner_password="owner-secret", user_password=user_password)
    return bytes(pdf.output())


def make_docx(*blocks: tuple[str, str]) -> bytes:
    """A Word document from (style, text) pairs: 'Title', 'Heading 1', 'Heading 2', 'List Bullet' or ''."""
    document = docx.Document()
    for style, text in blocks:
        if style == "Title":
            document.add_heading(text, 0)
        elif style.startswith("Heading"):
            document.add_heading(text, int(style.split()[-1]))
        else:
            document.add_paragraph(text, style=style or None)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def junk_docx() -> bytes:
    """A zip archive named .docx that holds no Word document."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("notes.bin", b"\x01\x02 not a word document")
    return out.getvalue()
