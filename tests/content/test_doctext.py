"""Document text extraction and the rules around it, without a crawl: format sniffing, the
spider's outcome for a response, PDFs (headings, pages, every bad case), DOCX/ODT/text, and
the page each chunk starts on."""

from __future__ import annotations

import pytest

from content.chunking import chunk_document
from content.doctext import DocumentError, extract_document, sniff_format
from content.doctext.office import from_blocks
from content.doctext.pdf import Line, build_text, open_failure
from crawlers.documents import document_outcome, fetchable_document
from pipelines.documents import document_metadata, read_document
from tests.support import documents as make
from workers.chunk_pages import chunk_start_pages, collapse

PDF = make.manual_pdf(3)


@pytest.mark.parametrize(
    "body, content_type, path, expected",
    [
        (PDF, "application/pdf", "/a.pdf", "pdf"),
        (PDF, "application/octet-stream", "/download", "pdf"),  # the bytes decide
        (b"\n\n" + PDF, "", "/a.pdf", "pdf"),  # junk before %PDF-
        (make.html_as_pdf(), "application/pdf", "/a.pdf", "html"),  # says PDF, is HTML
        (make.html_as_pdf(), "text/html", "/a.pdf", "html"),
        (b"\xef\xbb\xbf<!DOCTYPE html><p>x", "", "/a.pdf", "html"),
        (b"garbage that is no PDF", "application/pdf", "/a.pdf", "pdf"),  # the extractor says why
        (make.docx([(None, "x")]), "", "/a.docx", "docx"),
        (make.odt([(0, "x")]), "", "/a.odt", "odt"),
        (b"PK\x03\x04 some other zip", "application/zip", "/a.zip", None),
        (b"Plain words.", "text/plain; charset=utf-8", "/notes.txt", "text"),
        (b"Plain words.", "", "/notes.txt", "text"),
        (b"\x89PNG\r\n\x1a\n0000", "image/png", "/image-page", None),
        (b"{}", "application/json", "/api", None),
    ],
)
def test_sniff_format(body, content_type, path, expected):
    assert sniff_format(body, content_type, path) == expected


@pytest.mark.parametrize(
    "url, fetched",
    [
        ("http://s/docs/care-guide.pdf", True),
        ("http://s/a.DOCX", True),
        ("http://s/a.odt", True),
        ("http://s/readme.txt", True),
        ("http://s/prices.xlsx", False),
        ("http://s/a.pptx", False),
        ("http://s/docs/", False),
    ],
)
def test_fetchable_document(url, fetched):
    assert fetchable_document(url) is fetched


@pytest.mark.parametrize(
    "url, content_type, body, expected, outcome",
    [
        ("http://s/a.pdf", "application/pdf", PDF, True, ("document", "pdf")),
        ("http://s/dl?id=1", "application/pdf", PDF, False, ("document", "pdf")),
        (
            "http://s/price-list.pdf",
            "text/html",
            b"<html><body>log in</body></html>",
            True,
            ("failed", "not a document: price-list.pdf answered with HTML (text/html)"),
        ),
        (
            "http://s/a.pdf",
            "application/pdf",
            b"",
            True,
            ("failed", "empty: a.pdf answered with no content"),
        ),
        ("http://s/img", "image/png", b"\x89PNG....", False, ("failed", "not HTML: image/png")),
        # named .pdf but not one: the extractor records "not a PDF: ..."
        ("http://s/a.pdf", "image/png", b"\x89PNG....", True, ("document", "pdf")),
        (
            "http://s/a.xyz",
            "image/png",
            b"\x89PNG....",
            True,
            ("failed", "not a supported document: image/png"),
        ),
    ],
)
def test_document_outcome(url, content_type, body, expected, outcome):
    assert document_outcome(url, content_type, body, expected) == outcome


def test_pdf_text_headings_and_page_starts():
    doc = extract_document(PDF, "pdf", 500)
    assert doc.title == "Tent care guide" and doc.pages == doc.pages_total == 3
    assert [(h["level"], h["text"], h["page"]) for h in doc.headings[:2]] == [
        (1, "Chapter 1: Caring for part 1", 1),
        (2, "Storage tips 1", 1),
    ]
    for page in (1, 2, 3):  # each page's text starts at its offset, with its heading
        start = doc.page_starts[page - 1]
        end = doc.page_starts[page] if page < 3 else len(doc.text)
        assert doc.text[start:].startswith(f"# Chapter {page}:")
        assert make.page_fact(page) in doc.text[start:end]
    # lines wrapped by the PDF are joined into one paragraph
    assert "mild soap and never put it in a machine." in doc.text
    assert "\n## Storage tips 2\n" in doc.text


def test_pdf_outline_gives_the_headings():
    doc = extract_document(make.manual_pdf(2, outline=True), "pdf", 500)
    assert [h["text"] for h in doc.headings] == [
        "Chapter 1: Caring for part 1",
        "Chapter 2: Caring for part 2",
    ]


def test_pdf_with_only_an_owner_password_is_read():
    doc = extract_document(make.manual_pdf(2, user_password=""), "pdf", 500)
    assert make.page_fact(2) in doc.text


@pytest.mark.parametrize(
    "body, reason",
    [
        (make.manual_pdf(2, user_password="secret"), "encrypted: the PDF needs a password to open"),
        (make.corrupt_pdf(), "corrupt: PDFium cannot read the PDF"),
        (make.truncated_pdf(), "truncated: the PDF ends before its end-of-file marker"),
        (make.scanned_pdf(2), "scanned: no text layer on any of its 2 pages"),
        (b"not a pdf at all", "not a PDF: the file does not start with %PDF-"),
    ],
)
def test_bad_pdfs_have_a_reason(body, reason):
    with pytest.raises(DocumentError) as caught:
        extract_document(body, "pdf", 500)
    assert str(caught.value).startswith(reason)
    assert read_document(body, "pdf", 500).startswith(reason)  # the pipeline's form


def test_a_300_page_manual_is_read_whole_and_a_longer_one_is_capped():
    manual = make.long_manual(300)
    doc = extract_document(manual, "pdf", 500)
    assert doc.pages == 300 and len(doc.page_starts) == 300 and not doc.truncated
    assert make.page_fact(300) in doc.text[doc.page_starts[299] :]
    capped = extract_document(manual, "pdf", 40)
    assert capped.pages == 40 and capped.pages_total == 300
    assert make.page_fact(40) in capped.text and make.page_fact(41) not in capped.text
    meta = document_metadata(capped)
    assert meta["truncated"] == "text of the first 40 of 300 pages" and meta["pages_total"] == 300


def test_lines_become_headings_and_paragraphs():
    lines = [
        Line("Warranty", 20, 0),
        Line("Our tents are covered for five years", 10, 0),
        Line("against seam failures.", 10, 0),
        Line("", 0, 0),
        Line("• Keep the receipt.", 10, 0),
        Line("Claims", 14, 1),
        Line("Write to us.", 10, 1),
    ]
    doc = build_text(lines, 3)
    assert doc.text == (
        "# Warranty\n\nOur tents are covered for five years against seam "
        "failures.\n\n• Keep the receipt.\n\n## Claims\n\nWrite to us."
    )
    assert doc.page_starts == [0, doc.text.index("## Claims"), len(doc.text)]
    assert doc.headings == [
        {"level": 1, "text": "Warranty", "page": 1},
        {"level": 2, "text": "Claims", "page": 2},
    ]


@pytest.mark.parametrize(
    "message, body, reason",
    [
        (
            "Failed to load document (PDFium: Incorrect password error).",
            b"%PDF-1.4 ... %%EOF",
            "encrypted",
        ),
        ("Failed to load document (PDFium: Data format error).", b"%PDF-1.4 ...", "truncated"),
        (
            "Failed to load document (PDFium: Data format error).",
            b"%PDF-1.4 ... %%EOF\n",
            "corrupt",
        ),
    ],
)
def test_open_failure(message, body, reason):
    assert open_failure(message, body).startswith(reason)


@pytest.mark.parametrize(
    "fmt, body, title, text",
    [
        (
            "docx",
            make.docx(
                [
                    ("Title", "Size chart"),
                    ("Heading1", "Men"),
                    (None, "M fits a 96 cm chest"),
                    ("Heading2", "Women"),
                    (None, "S fits an 84 cm bust"),
                ]
            ),
            "Size chart",
            "# Size chart\n\n# Men\n\nM fits a 96 cm chest\n\n## Women\n\nS fits an 84 cm bust",
        ),
        (
            "odt",
            make.odt(
                [(1, "Warranty"), (0, "Two years on all tents."), (2, "Claims"), (0, "Email us.")]
            ),
            "Warranty",
            "# Warranty\n\nTwo years on all tents.\n\n## Claims\n\nEmail us.",
        ),
        (
            "text",
            b"Opening hours\r\n\r\nMonday to Friday 9-17.\n\n\n",
            None,
            "Opening hours\n\nMonday to Friday 9-17.",
        ),
        ("text", "Caf\u00e9 cr\u00e8me".encode("cp1252"), None, "Caf\u00e9 cr\u00e8me"),
    ],
)
def test_office_and_text_documents(fmt, body, title, text):
    doc = extract_document(body, fmt, 500)
    assert (doc.title, doc.text, doc.format) == (title, text, fmt)


@pytest.mark.parametrize(
    "fmt, body, reason",
    [
        ("docx", b"PK\x03\x04 broken zip", "corrupt: not a readable DOCX file"),
        (
            "docx",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100,
            "encrypted: a password-protected",
        ),
        ("odt", make.docx([(None, "x")]), "corrupt: not a readable ODT file"),
        ("text", b"\x00\x01\x02binary", "corrupt: binary data"),
        ("text", b"\n \n", "empty: the text file has no text"),
    ],
)
def test_bad_office_documents_have_a_reason(fmt, body, reason):
    assert read_document(body, fmt, 500).startswith(reason)


def test_empty_office_document_has_a_reason():
    with pytest.raises(DocumentError, match="empty: the DOCX file has no text"):
        from_blocks("docx", [(0, "  "), (1, "")])


@pytest.mark.parametrize(
    "text, flat, offsets",
    [
        ("a  b\n\nc", "a b c", [0, 1, 3, 4, 6]),
        ("  lead\tand trail  ", "lead and trail", [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]),
        ("", "", []),
    ],
)
def test_collapse(text, flat, offsets):
    assert collapse(text) == (flat, offsets)


def test_chunks_know_the_page_they_start_on():
    doc = extract_document(make.manual_pdf(6), "pdf", 500)
    chunks = chunk_document(f"# {doc.title}\n\n{doc.text}", 60, 10, 256)
    pages = chunk_start_pages([c.text for c in chunks], doc.text, doc.page_starts)
    assert pages[0] == 1 and pages == sorted(pages) and set(pages) == {1, 2, 3, 4, 5, 6}
    for chunk, page in zip(chunks, pages, strict=False):
        if chunk.text.startswith("# Chapter"):  # a chunk opening a page's chapter
            assert chunk.text.startswith(f"# Chapter {page}:")
        for other in range(1, 7):  # a page's fact is on that page or a later chunk's start
            if make.page_fact(other)[:30] in chunk.text.split("\n\n", 1)[0]:
                assert page == other
