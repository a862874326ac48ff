"""DOCX and ODT text with headings, read straight from their XML (zipfile + lxml, no extra
dependency), and plain text files."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

from lxml import etree

from content.doctext.model import DocumentError, DocumentText

MAX_XML_BYTES = 64 * 1024 * 1024  # uncompressed; a zip bomb stops here
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_PARTS = {"docx": "word/document.xml", "odt": "content.xml"}


def extract_office(body: bytes, fmt: str) -> DocumentText:
    if body.startswith(_OLE_MAGIC):
        raise DocumentError("encrypted: a password-protected (or legacy binary) Office file")
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            info = archive.getinfo(_PARTS[fmt])
            if info.file_size > MAX_XML_BYTES:
                raise DocumentError(f"too large: {info.file_size} bytes of document XML")
            xml = archive.read(info)
    except (zipfile.BadZipFile, KeyError, EOFError, zipfile.LargeZipFile) as exc:
        raise DocumentError(f"corrupt: not a readable {fmt.upper()} file ({exc})") from None
    try:
        root = etree.fromstring(
            xml, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
        )
    except etree.XMLSyntaxError as exc:
        raise DocumentError(f"corrupt: the {fmt.upper()} XML does not parse ({exc})") from None
    blocks = list(_docx_blocks(root) if fmt == "docx" else _odt_blocks(root))
    return from_blocks(fmt, blocks)


def from_blocks(fmt: str, blocks: list[tuple[int, str]]) -> DocumentText:
    """(heading level or 0, text) blocks -> the document's Markdown (pure)."""
    parts: list[str] = []
    headings: list[dict[str, object]] = []
    for level, text in blocks:
        text = " ".join(text.split())
        if not text:
            continue
        if level:
            headings.append({"level": level, "text": text})
            parts.append(f"{'#' * level} {text}")
        else:
            parts.append(text)
    if not parts:
        raise DocumentError(f"empty: the {fmt.upper()} file has no text")
    title = str(headings[0]["text"]) if headings else None
    return DocumentText(
        format=fmt, text="\n\n".join(parts), title=title, headings=headings, page_starts=[0]
    )


def _docx_blocks(root: etree._Element) -> Iterator[tuple[int, str]]:
    for para in root.iter(f"{_W}p"):
        style = para.find(f"{_W}pPr/{_W}pStyle")
        name = (style.get(f"{_W}val") or "") if style is not None else ""
        level = 0
        if name.lower() == "title":
            level = 1
        elif name.lower().startswith("heading") and name[7:].isdigit():
            level = min(int(name[7:]), 6)
        text = "".join(t.text or "" for t in para.iter(f"{_W}t", f"{_W}tab"))
        yield level, text


def _odt_blocks(root: etree._Element) -> Iterator[tuple[int, str]]:
    for el in root.iter(f"{_TEXT}h", f"{_TEXT}p"):
        if (
            el.tag == f"{_TEXT}p"
            and (parent := el.getparent()) is not None
            and parent.tag == f"{_TEXT}h"
        ):
            continue
        level = int(el.get(f"{_TEXT}outline-level") or 1) if el.tag == f"{_TEXT}h" else 0
        yield min(level, 6), "".join(el.itertext())


def extract_plain(body: bytes) -> DocumentText:
    if b"\x00" in body[:4096]:
        raise DocumentError("corrupt: binary data in a plain-text document")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = body.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes nearly everything
        text = body.decode("latin-1")
    paragraphs = [
        "\n".join(line.rstrip() for line in p.strip().splitlines())
        for p in text.replace("\r\n", "\n").split("\n\n")
    ]
    blocks = [p for p in paragraphs if p.strip()]
    if not blocks:
        raise DocumentError("empty: the text file has no text")
    return DocumentText(format="text", text="\n\n".join(blocks), page_starts=[0])
