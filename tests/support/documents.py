"""Test documents made in the tests: PDFs (fpdf2, a dev dependency) with headings and one
fact per page, plus the bad cases (encrypted, corrupt, truncated, scanned, HTML posing as a
PDF), and minimal DOCX / ODT files written as zips."""

from __future__ import annotations

import io
import zipfile
from functools import lru_cache

from fpdf import FPDF
from PIL import Image, ImageDraw


def page_fact(page: int) -> str:
    return f"Fact {page}: the guy line number {page} is tightened to {page * 7} newtons."


def manual_pdf(
    pages: int = 3,
    title: str = "Tent care guide",
    outline: bool = False,
    facts: dict[int, str] | None = None,
    user_password: str | None = None,
) -> bytes:
    """A manual: per page an 18 pt chapter heading, 11 pt body text with `page_fact(page)` (or
    the text in `facts`), and a 14 pt sub-heading."""
    pdf = FPDF()
    pdf.set_title(title)
    for page in range(1, pages + 1):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 18)
        if outline:
            pdf.start_section(f"Chapter {page}: Caring for part {page}")
        pdf.cell(0, 10, f"Chapter {page}: Caring for part {page}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        body = (facts or {}).get(page, page_fact(page))
        pdf.multi_cell(
            0,
            6,
            f"{body} Wash the fly by hand in lukewarm water with a mild soap "
            f"and never put it in a machine. " * 3,
        )
        pdf.set_font("Helvetica", "B", 14)
        pdf.cell(0, 10, f"Storage tips {page}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(0, 6, "Dry the tent completely before storing it in a cool, dry place. " * 4)
    if user_password:
        pdf.set_encryption(owner_password="owner-secret", user_password=user_password)
    return bytes(pdf.output())


@lru_cache(maxsize=4)
def long_manual(pages: int) -> bytes:
    """`manual_pdf(pages)`, made once per test process (fpdf2 takes ~30 ms a page)."""
    return manual_pdf(pages)


def scanned_pdf(pages: int = 2) -> bytes:
    """Pages holding only an image of text (no text layer), like a scan."""

    pdf = FPDF()
    for page in range(pages):
        image = Image.new("RGB", (600, 200), "white")
        ImageDraw.Draw(image).text(
            (20, 80), f"Scanned warranty terms page {page + 1}", fill="black"
        )
        pdf.add_page()
        pdf.image(image, x=10, y=10, w=180)
    return bytes(pdf.output())


def corrupt_pdf() -> bytes:
    return b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


def truncated_pdf(pages: int = 4) -> bytes:
    data = manual_pdf(pages)
    return data[: len(data) // 3]


def html_as_pdf() -> bytes:
    return (
        b"<!doctype html><html><head><title>Please log in</title></head>"
        b"<body><h1>Log in to download the price list</h1></body></html>"
    )


def docx(blocks: list[tuple[str | None, str]]) -> bytes:
    """A DOCX with (style, text) paragraphs, e.g. ("Heading1", "Sizes")."""
    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

    def para(style: str | None, text: str) -> str:
        props = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
        return f"<w:p>{props}<w:r><w:t>{text}</w:t></w:r></w:p>"

    paras = "".join(para(style, text) for style, text in blocks)
    document = (
        f'<?xml version="1.0"?><w:document xmlns:w="{ns}"><w:body>{paras}</w:body></w:document>'
    )
    return _zip({"[Content_Types].xml": "<Types/>", "word/document.xml": document})


def odt(blocks: list[tuple[int, str]]) -> bytes:
    """An ODT with (heading level or 0, text) blocks."""
    ns = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
    office = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    body = "".join(
        f'<text:h text:outline-level="{level}">{text}</text:h>'
        if level
        else f"<text:p>{text}</text:p>"
        for level, text in blocks
    )
    content = (
        f'<?xml version="1.0"?><office:document-content xmlns:office="{office}" '
        f'xmlns:text="{ns}"><office:body><office:text>{body}</office:text></office:body>'
        "</office:document-content>"
    )
    return _zip({"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": content})


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()
