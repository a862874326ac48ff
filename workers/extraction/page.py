"""One parsed page: the lxml tree and the markup items extruct found, shared by every extractor."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import extruct
import lxml.html
from lxml import etree

log = logging.getLogger(__name__)

SYNTAXES = ("json-ld", "microdata", "rdfa", "opengraph")
_SCHEMA_PREFIX = re.compile(r"^https?://schema\.org/", re.IGNORECASE)
_WS = re.compile(r"\s+")
# XHTML pages (Debian's documentation, DocBook output) open with one; lxml refuses a str with an
# encoding declaration, so without this such a page parsed as empty and its markup was lost.
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)


@dataclass(frozen=True)
class MarkupItem:
    source: str  # 'json-ld' | 'microdata' | 'rdfa' | 'opengraph'
    data: dict[
        str, Any
    ]  # schema.org keys without the vocabulary prefix, '@type' a list of short names


@dataclass
class Page:
    url: str
    html: str
    tree: Any
    items: list[MarkupItem] = field(default_factory=list)

    @classmethod
    def parse(cls, html: str, url: str) -> Page:
        html = without_xml_declaration(html)
        tree = parse_html(html)
        return cls(url=url, html=html, tree=tree, items=markup_items(html, url))

    def of_type(self, *types: str) -> Iterator[MarkupItem]:
        """Every item (nested ones included) whose @type is one of `types`."""
        wanted = set(types)
        for item in self.items:
            for node in walk(item.data):
                if wanted & set(type_names(node)):
                    yield MarkupItem(item.source, node)


def without_xml_declaration(html: str) -> str:
    """The page without a leading `<?xml ... ?>` (the text is already decoded)."""
    return _XML_DECLARATION.sub("", html, count=1)


def parse_html(html: str) -> Any:
    try:
        return lxml.html.fromstring(without_xml_declaration(html) or "<html></html>")
    except (etree.ParserError, ValueError):
        return lxml.html.fromstring("<html></html>")


def markup_items(html: str, url: str) -> list[MarkupItem]:
    """JSON-LD, microdata, RDFa and OpenGraph items, normalised to short schema.org names
    (`html` without an XML declaration: Page.parse removes it)."""
    try:
        raw = extruct.extract(
            html, base_url=url, syntaxes=list(SYNTAXES), uniform=True, errors="log"
        )
    except Exception as exc:  # noqa: BLE001 - extruct raises parser-specific errors on broken markup
        log.warning("markup extraction failed for %s: %s", url, exc)
        return []
    items: list[MarkupItem] = []
    for source in ("json-ld", "microdata"):
        for data in raw.get(source) or []:
            for node in _expand_graph(data):
                items.append(MarkupItem(source, _short_keys(node)))
    items.extend(MarkupItem("rdfa", node) for node in _rdfa_nodes(raw.get("rdfa") or []))
    items.extend(MarkupItem("opengraph", data) for data in raw.get("opengraph") or [])
    return items


def _expand_graph(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, list):
        return [n for d in data for n in _expand_graph(d)]
    if not isinstance(data, dict):
        return []
    if "@graph" in data:
        return _expand_graph(data["@graph"])
    return [data]


def _short(name: str) -> str:
    return _SCHEMA_PREFIX.sub("", name)


def _short_keys(value: Any) -> Any:
    if isinstance(value, list):
        return [_short_keys(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, val in value.items():
        if key == "@type":
            out[key] = [
                _short(t) for t in (val if isinstance(val, list) else [val]) if isinstance(t, str)
            ]
        else:
            out[_short(key)] = _short_keys(val)
    return out


def _rdfa_nodes(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """extruct's RDFa is expanded JSON-LD: resolve blank-node references and unwrap @value lists."""
    by_id = {n.get("@id"): n for n in nodes if isinstance(n, dict)}
    referenced: set[str] = set()

    def convert(node: dict[str, Any], depth: int = 0) -> dict[str, Any]:
        out: dict[str, Any] = {"@type": [_short(t) for t in node.get("@type", [])]}
        for key, values in node.items():
            if key.startswith("@") or not _SCHEMA_PREFIX.match(key):
                continue
            converted = []
            for v in values if isinstance(values, list) else [values]:
                if isinstance(v, dict) and "@value" in v:
                    converted.append(v["@value"])
                elif isinstance(v, dict) and "@id" in v:
                    ref = by_id.get(v["@id"])
                    if ref is not None and depth < 5 and ref.get("@type"):
                        referenced.add(v["@id"])
                        converted.append(convert(ref, depth + 1))
                    else:
                        converted.append(v["@id"])
            out[_short(key)] = converted[0] if len(converted) == 1 else converted
        return out

    converted = [
        (n.get("@id"), convert(n)) for n in nodes if isinstance(n, dict) and n.get("@type")
    ]
    return [node for node_id, node in converted if node_id not in referenced]


def walk(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        for v in value:
            yield from walk(v)
    elif isinstance(value, dict):
        yield value
        for key, v in value.items():
            if not key.startswith("@"):
                yield from walk(v)


def type_names(node: dict[str, Any]) -> list[str]:
    value = node.get("@type") or []
    return [value] if isinstance(value, str) else [t for t in value if isinstance(t, str)]


def first(value: Any) -> Any:
    """The first element of a list (or the value itself)."""
    while isinstance(value, list):
        if not value:
            return None
        value = value[0]
    return value


def text_of(value: Any) -> str | None:
    """A clean string from a markup value (strings, {'name': ..}, {'@value': ..}, HTML
    fragments)."""
    value = first(value)
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or value.get("text")
        value = first(value)
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value)
    if "<" in text and ">" in text:
        text = parse_html(f"<div>{text}</div>").text_content()
    text = clean(text)
    return text or None


def clean(text: str | None) -> str:
    return _WS.sub(" ", text or "").strip()


def node_text(el: Any) -> str:
    return clean(el.text_content()) if el is not None else ""


def css(tree: Any, selector: str) -> list[Any]:
    try:
        return tree.cssselect(selector)
    except Exception:  # noqa: BLE001 - a bad learned selector must not break the page
        return []
