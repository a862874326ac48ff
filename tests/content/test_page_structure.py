"""Navigation pages recognised from their structure (pure)."""

from __future__ import annotations

import lxml.html
import pytest

from content.page_structure import structure
from content.page_text import extract_html


def links(n: int, text: str = "entry") -> str:
    return "".join(f"<li><a href='/e{i}'>{text} {i}</a></li>" for i in range(n))


PROSE = "<p>" + "The wave module reads and writes WAV files, frame by frame. " * 8 + "</p>"
MODINDEX = (
    "<table>"
    + "".join(
        f"<tr><td><a href='/m{i}'><code>module{i}</code></a></td><td><em>Tools that read, write "
        "and "
        f"convert the format number {i} used by old audio hardware.</em></td></tr>"
        for i in range(30)
    )
    + "</table>"
)


@pytest.mark.parametrize(
    "body, kind",
    [
        (
            f"<h1>Index</h1><ul>{links(40, 'abs() (built-in function)')}</ul>",
            "navigation",
        ),  # genindex
        (f"<h1>Contents</h1><ul>{links(25)}</ul>", "navigation"),  # a TOC
        (f"<h1>Modules</h1>{MODINDEX}", "navigation"),  # name + synopsis rows
        (
            "<p>"
            + " | ".join(f"<a href='/l{c}'>{c}</a>" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
            + "</p>",
            "navigation",
        ),  # an A-Z letter bar
        (f"<h1>wave</h1>{PROSE * 6}<h2>See also</h2><ul>{links(12)}</ul>", "content"),
        (f"<h1>wave</h1>{PROSE}<ul>{links(15)}</ul>", "content"),  # fewer than 20 links: never
        # a reference page: many inline links inside prose
        (
            "<h1>Ref</h1>"
            + "".join(
                f"<p>Call <a href='/f{i}'>f{i}()</a> to read the header, then "
                f"check the frame count before you seek; {PROSE[3:-4]}</p>"
                for i in range(30)
            ),
            "content",
        ),
    ],
)
def test_structure_kind(body, kind):
    assert (
        structure(lxml.html.fromstring(f"<html><body><main>{body}</main></body></html>")).kind
        == kind
    )


def test_the_extract_step_judges_the_main_content_not_the_menus():
    menu = f"<nav><ul>{links(200)}</ul></nav>"
    page = extract_html(f"<html><body>{menu}<main><h1>wave</h1>{PROSE * 3}</main></body></html>")
    assert page.structure == "content"
    index = extract_html(
        f"<html><body><main><h1>Index</h1><ul>{links(60)}</ul></main></body></html>"
    )
    assert index.structure == "navigation"
