"""How much work one knowledge file may cost to read, past its size on disk (ADOPTBOT_MAX_FILE_BYTES).

A small file can unpack to a huge one: a .docx is a zip archive, a PDF compresses its pages, HTML can
nest without end, and any text can make thousands of passages to embed. Each cap here is a setting
(common/settings.py); a file over one is skipped with a reason naming the setting, and the rest of the
knowledge base is indexed as usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from common.settings import Settings


@dataclass(frozen=True)
class Limits:
    """Caps on what one file may unpack to; the defaults are the settings' defaults."""

    unpacked_bytes: int = 20_000_000  # a .docx's parts once unzipped; a PDF's extracted text
    docx_entries: int = 1_000  # files inside one .docx (a zip archive)
    html_depth: int = 256  # elements inside elements
    html_elements: int = 200_000
    pdf_pages: int = 1_000
    file_chunks: int = 2_000  # passages embedded for one file

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits configured by ADOPTBOT_MAX_UNPACKED_BYTES and the other ADOPTBOT_MAX_* settings."""
        return cls(
            unpacked_bytes=settings.max_unpacked_bytes,
            docx_entries=settings.max_docx_entries,
            html_depth=settings.max_html_depth,
            html_elements=settings.max_html_elements,
            pdf_pages=settings.max_pdf_pages,
            file_chunks=settings.max_file_chunks,
        )


DEFAULT_LIMITS = Limits()  # the settings' defaults
