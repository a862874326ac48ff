"""Page text, the fast pass run on every fetched page: title, meta description, language,
canonical URL, headings, Markdown, and the fingerprint text that change detection hashes.

A small lxml walker (drops navigation, footers, cookie banners by tag, role and class), then the
site template learned for the domain (content/template.py) is taken out of its blocks. The
walker is cheap (~1 ms on small pages, ~15 ms on large real ones) and deterministic, which is
what a fingerprint needs. The stored main text of new and changed pages comes from the slower,
better extractor in content/main_content.py (the main-content stage). See docs/extraction.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import lxml.etree
import lxml.html

from content import template as site_template
from content.fingerprint import fingerprint
from content.language import guess_language
from content.page_structure import structure
from content.volatile import mask_volatile
from core.knowledge import CONTENT

# never the page's text, whatever the page
NOT_TEXT_TAGS = (
    "script",
    "style",
    "template",
    "svg",
    "iframe",
    "object",
    "embed",
    "canvas",
    "head",
)
# boilerplate by tag, like the roles and classes below: dropped unless that would leave almost
# nothing of the page (`_strip_boilerplate`)
DROP_TAGS = {"noscript", "nav", "footer", "aside", "form", "button", "select", "dialog"}
DROP_ROLES = {
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "dialog",
    "alertdialog",
    "search",
    "menu",
    "menubar",
}
BOILERPLATE = re.compile(
    r"(^|[\s_-])(cookie|cookies|consent|gdpr|cc-window|cc-banner|onetrust|newsletter-popup|"
    r"skip-link|breadcrumbs?|site-header|site-footer|sidebar|share-buttons|social-share)([\s_-]|$)",
    re.IGNORECASE,
)
BLOCKS = {
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "li",
    "ul",
    "ol",
    "table",
    "tr",
    "blockquote",
    "pre",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "dl",
    "dt",
    "dd",
    "figure",
    "figcaption",
    "address",
    "details",
    "summary",
    "body",
    "td",
    "th",
    "br",
    "hr",
    # dropped as boilerplate, unless that would leave almost nothing of the page
    *DROP_TAGS,
}
_WS = re.compile(r"[ \t\r\f\v\u00a0]+")
_SPACES = (" ", "\n", "\t", "\r", "\u00a0")


@dataclass
class Extracted:
    title: str | None = None
    description: str | None = None
    language: str | None = None
    canonical_url: str | None = None
    headings: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""
    markdown: str = ""
    blocks: list[tuple[str, str]] = field(default_factory=list)  # (markdown, text), in order
    structure: str = CONTENT  # content | navigation (content/page_structure.py)


def extract(root: Any, *, measure: bool = True) -> Extracted:
    """Works on an lxml.html tree (it is modified: the boilerplate is removed). Without
    `measure` (a caller that reads only the blocks and the title), neither the structure nor an
    undeclared language is worked out: `structure` stays CONTENT, `language` the declared one."""
    out = Extracted()
    out.title = _title(root)
    out.description = _meta(root, "description") or _meta(root, "og:description")
    out.language = _language(root)
    for link in root.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            out.canonical_url = link.get("href").strip()
            break
    main = _main_container(root, _strip_boilerplate(root))
    if measure:
        out.structure = structure(main).kind
    blocks: list[tuple[str, str]] = []  # (markdown, text)
    _walk(main, blocks, out.headings)
    out.blocks = [(md, text) for md, text in blocks if text]
    out.text = "\n\n".join(text for _, text in blocks if text)
    out.markdown = "\n\n".join(md for md, _ in blocks if md)
    if measure:
        out.language = out.language or guess_language(out.text)
    return out


def extract_html(html: str) -> Extracted:
    return extract(lxml.html.fromstring(html))


def _title(root: Any) -> str | None:
    for el in root.iter("title"):
        text = _clean(el.text_content())
        if text:
            return text
    og = _meta(root, "og:title")
    if og:
        return og
    for el in root.iter("h1"):
        return _clean(el.text_content()) or None
    return None


def _meta(root: Any, name: str) -> str | None:
    for meta in root.iter("meta"):
        key = (meta.get("name") or meta.get("property") or "").lower()
        if key == name and meta.get("content"):
            return _clean(meta.get("content")) or None
    return None


def _language(root: Any) -> str | None:
    # an HTML parser keeps XHTML's xml:lang as a plain attribute of that name
    lang = (
        root.get("lang")
        or root.get("xml:lang")
        or root.get("{http://www.w3.org/XML/1998/namespace}lang")
    )
    if not lang:
        for meta in root.iter("meta"):
            if (meta.get("http-equiv") or "").lower() == "content-language":
                lang = meta.get("content")
                break
    if not lang:
        lang = _meta(root, "og:locale")
    return lang.strip().replace("_", "-").lower() or None if lang else None


# The boilerplate rules are wrong about a page when they would leave it almost nothing: an ASP.NET
# page is one <form>, a Discourse topic is in <noscript> for a crawler, a React page streams its
# content into hidden <div>s, a theme calls its main column "sidebar-first", a script fills an
# empty <main>. Such a page keeps all of its text (fingerprinted as it is) rather than none of it:
# pages whose fast pass was empty were all one fingerprint, stored as duplicates of each other.
# "Almost nothing" is absolute AND relative, so that a shop's <main> beside a huge footer stays
# the main container (a Shopify footer group can hold 30 times the product's text).
NEARLY_EMPTY_CHARS = 200
KEPT_SHARE_FLOOR = 0.1


def _almost_nothing(kept: int, whole: int) -> bool:
    return kept < NEARLY_EMPTY_CHARS and kept < KEPT_SHARE_FLOOR * whole


def _strip_boilerplate(root: Any) -> int:
    """Drops what is never text, then the boilerplate unless that would leave the page
    `_almost_nothing`. Returns the length of the text left (`_visible_length`)."""
    for el in list(root.iter(lxml.etree.Comment, lxml.etree.ProcessingInstruction, *NOT_TEXT_TAGS)):
        if el is not root and el.getparent() is not None:
            el.drop_tree()
    whole = _visible_length(root)
    doomed = list(_doomed(root))
    if not doomed:
        return whole
    dropped = sum(_visible_length(el) for el in doomed)
    if _almost_nothing(whole - dropped, whole):
        return whole
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()
    return whole - dropped


def _visible_length(el: Any) -> int:
    """Characters of text, the usual whitespace aside (counted, not split: this is measured for
    every page and its boilerplate)."""
    text = el.text_content()
    return len(text) - sum(text.count(space) for space in _SPACES)


def _doomed(root: Any) -> Iterator[Any]:
    """The boilerplate elements under `root`, in document order, not looking inside one that
    goes: what is inside goes with it."""
    stack = [child for child in reversed(root) if isinstance(child.tag, str)]
    while stack:
        el = stack.pop()
        if _is_boilerplate(el):
            yield el
            continue
        stack.extend(child for child in reversed(el) if isinstance(child.tag, str))


def _is_boilerplate(el: Any) -> bool:
    tag = el.tag
    if tag in DROP_TAGS:
        return True
    if tag in ("main", "article", "body", "html"):
        return False
    if (
        (el.get("role") or "").lower() in DROP_ROLES
        or el.get("aria-hidden") == "true"
        or el.get("hidden") is not None
        or (tag == "header" and _is_page_header(el))
    ):
        return True
    marker = f"{el.get('id') or ''} {el.get('class') or ''}"
    return bool(marker.strip() and BOILERPLATE.search(marker))


def _is_page_header(el: Any) -> bool:
    """A site header (logo, menu), not an article's own <header>."""
    for ancestor in el.iterancestors():
        if ancestor.tag in ("article", "main", "section"):
            return False
    return True


def _main_container(root: Any, text_length: int) -> Any:
    """`<main>`, `role=main` or the one `<article>`, unless it holds `_almost_nothing` of the
    page's `text_length` (an empty `<main>` the page's script fills, a theme's "main" landmark
    around its breadcrumb): then the body."""
    candidates = root.xpath("//main") or root.xpath("//*[@role='main']")
    if not candidates:
        articles = root.xpath("//article")
        candidates = articles if len(articles) == 1 else []
    if candidates and not _almost_nothing(_visible_length(candidates[0]), text_length):
        return candidates[0]
    bodies = root.xpath("//body")
    return bodies[0] if bodies else root


def _walk(el: Any, blocks: list[tuple[str, str]], headings: list[dict[str, Any]]) -> None:
    tag = el.tag
    if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
        text = _clean(el.text_content())
        if text:
            level = int(tag[1])
            headings.append({"level": level, "text": text})
            blocks.append((f"{'#' * level} {text}", text))
        return
    if tag == "pre":
        text = el.text_content().strip("\n")
        if text.strip():
            blocks.append((f"```\n{text}\n```", text))
        return
    if tag in ("li", "dt", "dd"):
        text = _inline_text(el)
        if text:
            blocks.append((f"- {_inline_md(el)}" if tag == "li" else _inline_md(el), text))
        _walk_children_blocks(el, blocks, headings)
        return
    if tag == "tr":
        cells = [_clean(c.text_content()) for c in el if c.tag in ("td", "th")]
        if any(cells):
            row = " | ".join(cells)
            blocks.append((f"| {row} |", row))
        return
    if tag == "blockquote":
        text = _clean(el.text_content())
        if text:
            blocks.append((f"> {text}", text))
        return
    # a container: its own loose text forms a paragraph, block children are walked
    if _has_block_child(el):
        if el.text and el.text.strip():
            t = _clean(el.text)
            blocks.append((t, t))
        for child in el:
            if isinstance(child.tag, str):
                if child.tag in BLOCKS:
                    _walk(child, blocks, headings)
                else:
                    t = _clean(child.text_content())
                    if t:
                        blocks.append((_inline_md(child, whole=True), t))
            if child.tail and child.tail.strip():
                t = _clean(child.tail)
                blocks.append((t, t))
    else:
        text = _clean(el.text_content())
        if text:
            blocks.append((_inline_md(el), text))


def _walk_children_blocks(
    el: Any, blocks: list[tuple[str, str]], headings: list[dict[str, Any]]
) -> None:
    for child in el:
        if child.tag in ("ul", "ol", "dl", "table"):
            _walk(child, blocks, headings)


def _has_block_child(el: Any) -> bool:
    return any(isinstance(c.tag, str) and c.tag in BLOCKS and c.tag != "br" for c in el)


def _inline_text(el: Any) -> str:
    parts = [el.text or ""]
    for child in el:
        if child.tag not in ("ul", "ol", "dl", "table"):
            parts.append(child.text_content())
        parts.append(child.tail or "")
    return _clean("".join(parts))


def _inline_md(el: Any, whole: bool = False) -> str:
    """Inline Markdown: links as [text](href), strong/em kept."""
    if whole:
        return _inline_piece(el)
    parts = [el.text or ""]
    for child in el:
        if child.tag in ("ul", "ol", "dl", "table"):
            parts.append(child.tail or "")
            continue
        parts.append(_inline_piece(child))
        parts.append(child.tail or "")
    return _clean("".join(parts))


def _inline_piece(el: Any) -> str:
    text = _clean(el.text_content())
    if not text:
        return ""
    if el.tag == "a" and el.get("href"):
        return f"[{text}]({el.get('href').strip()})"
    if el.tag in ("strong", "b"):
        return f"**{text}**"
    if el.tag in ("em", "i"):
        return f"*{text}*"
    if el.tag == "code":
        return f"`{text}`"
    return text


def _clean(text: str | None) -> str:
    if not text:
        return ""
    return " ".join(
        line for line in (_WS.sub(" ", part).strip() for part in text.split("\n")) if line
    )


def without_template(
    extracted: Extracted, template: site_template.SiteTemplate
) -> tuple[list[str], str]:
    """Counts the page's blocks into the domain's template, then drops the template blocks from
    its text and Markdown (in place). Returns the keys of all its blocks, in order, and the
    fingerprint of all of them: taken before the template is removed, so it does not depend on
    how much template the crawl has learned when the page comes (two copies of a page are
    duplicates whatever their order). Each block's volatile parts are masked once for both."""
    masked = [mask_volatile(text) for _, text in extracted.blocks]
    keyed = site_template.keyed_blocks(masked, masked=True)
    template.observe_keyed(keyed)
    keys = [key for key, _ in keyed]
    kept = [
        block
        for block, key in zip(extracted.blocks, keys, strict=True)
        if not template.is_template(key)
    ]
    if len(kept) != len(extracted.blocks):
        extracted.blocks = kept
        extracted.text = "\n\n".join(text for _, text in kept)
        extracted.markdown = "\n\n".join(md for md, _ in kept if md)
    return keys, fingerprint(masked)
