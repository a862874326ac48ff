"""A test site that links documents: real PDFs (and DOCX, ODT, text) made by
tests/support/documents.py, and every bad case, served with their Content-Types."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import documents as make
from tests.support.testsite import Handler, TestSite, page, para, start

PDF = "application/pdf"
FACTS = {
    1: "The Alpine tent weighs 2.4 kg packed and sleeps two people.",
    2: "To repair a torn mesh door, use the adhesive patch kit stored in the side pocket.",
    3: "The warranty covers seam failures and broken poles for five years.",
}


def documents() -> dict[str, tuple[bytes, str]]:
    return {
        "/docs/care-guide.pdf": (make.manual_pdf(3, facts=FACTS), PDF),
        "/docs/manual-300.pdf": (make.long_manual(300), PDF),
        "/docs/locked.pdf": (make.manual_pdf(2, user_password="secret"), PDF),
        "/docs/broken.pdf": (make.corrupt_pdf(), PDF),
        "/docs/partial.pdf": (make.truncated_pdf(), PDF),
        "/docs/scan.pdf": (make.scanned_pdf(2), PDF),
        "/docs/price-list.pdf": (make.html_as_pdf(), "text/html; charset=utf-8"),
        "/docs/sizes.docx": (
            make.docx(
                [
                    ("Title", "Size chart"),
                    ("Heading1", "Jackets"),
                    (None, "Size M fits a 96 cm chest."),
                ]
            ),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        "/docs/warranty.odt": (
            make.odt([(1, "Warranty terms"), (0, "Two years on stoves.")]),
            "application/vnd.oasis.opendocument.text",
        ),
        "/docs/opening-hours.txt": (b"Opening hours\n\nMonday to Friday, 9 to 17.", "text/plain"),
        "/download": (make.manual_pdf(1, title="Returns form"), PDF),  # no .pdf in the URL
        "/private/staff.pdf": (make.manual_pdf(1), PDF),  # robots.txt: Disallow
    }


def home() -> bytes:
    links = "".join(
        f'<li><a href="{path}">{path}</a></li>' for path in [*documents(), "/docs/prices.xlsx"]
    )
    return page(
        "Outdoor shop",
        "<h1>Outdoor shop</h1>" + para("Tents, stoves and advice.") + f"<ul>{links}</ul>",
    )


class DocumentHandler(Handler):
    def route(self, site, path, query):
        served = getattr(site, "documents", {})
        if path in served:
            body, content_type = served[path]
            return 200, body, {"Content-Type": content_type}
        return super().route(site, path, query)


@pytest.fixture
def doc_site(db, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestSite]:
    monkeypatch.setenv("OMNI_LOG_LEVEL", "INFO")
    site = TestSite(pages={"/": home()})
    site.documents = documents()
    start(site, DocumentHandler)
    yield site
    site.server.shutdown()
    site.server.server_close()
