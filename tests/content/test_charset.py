"""UTF-8 bytes under another charset's label are read as UTF-8; real legacy bytes keep their
label."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse

from content.charset import as_utf8_when_it_is, decode_html, utf8_despite_label

HU = "Árvíztűrő tükörfúrógép, őszi ünnepek"
ZH = "谷歌在2014年收购的人工智能公司"
FR = "Le café de la rue, déjà vu"


@pytest.mark.parametrize(
    "body, declared, expected",
    [
        (HU.encode("utf-8"), "iso-8859-2", True),
        (ZH.encode("utf-8"), "gb2312", True),
        (FR.encode("utf-8"), "cp1252", True),
        (HU.encode("iso-8859-2"), "iso-8859-2", False),  # legacy bytes are not valid UTF-8
        (ZH.encode("gb2312"), "gb2312", False),
        (FR.encode("cp1252"), "cp1252", False),
        (b"plain ascii page", "iso-8859-1", False),  # nothing to tell: the label stays
        (FR.encode("utf-8"), "utf-8", False),
        (FR.encode("utf-8"), "UTF8", False),
        (FR.encode("utf-8"), None, False),
        (FR.encode("utf-8"), "no-such-charset", False),
    ],
)
def test_utf8_despite_label(body, declared, expected):
    assert utf8_despite_label(body, declared) is expected


@pytest.mark.parametrize("text, meta", [(ZH, "gb2312"), (HU, "iso-8859-2"), (FR, "iso-8859-1")])
def test_a_page_written_in_utf8_under_a_legacy_meta_label_decodes_as_utf8(text, meta):
    body = f"<html><head><meta charset='{meta}'></head><body><p>{text}</p></body></html>".encode()
    assert text in decode_html(body)
    response = as_utf8_when_it_is(HtmlResponse(url="http://example.test/", body=body))
    assert response.encoding == "utf-8"
    assert response.selector.css("p::text").get() == text


def test_a_header_label_over_utf8_bytes_gives_way_too():
    body = f"<html><body><p>{HU}</p></body></html>".encode()
    assert HU in decode_html(body, "text/html; charset=iso-8859-2")


@pytest.mark.parametrize("text, charset", [(ZH, "gb2312"), (HU, "iso-8859-2"), (FR, "cp1252")])
def test_legacy_pages_keep_their_label(text, charset):
    body = f"<html><head><meta charset='{charset}'></head><body><p>{text}</p></body></html>"
    assert text in decode_html(body.encode(charset))
