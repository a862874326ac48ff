"""FAQ pairs: FAQPage / Question markup wherever it is; <details><summary> questions; and, only
in FAQ places (an FAQ or help page, or a section under an FAQ heading), question headings with
the content that follows and <dl><dt><dd> questions. Nothing from code samples."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from workers.extraction.page import Page, clean, css, node_text, text_of
from workers.extraction.scope import Place, is_faq_page, places

QUESTION_WORDS = (
    "how",
    "what",
    "why",
    "when",
    "where",
    "which",
    "who",
    "whom",
    "whose",
    "can",
    "could",
    "do",
    "does",
    "did",
    "is",
    "are",
    "was",
    "will",
    "would",
    "should",
    "shall",
    "may",
    "have",
    "has",
)
_QUESTION_START = re.compile(rf"^(?:q\s*[:.]\s*)?(?:{'|'.join(QUESTION_WORDS)})\b", re.IGNORECASE)
_HEADING = re.compile(r"^h[1-6]$")
MAX_ANSWER = 2000
# method -> confidence; markup is authoritative, layout heuristics less so.
CONFIDENCE = {
    "json-ld": 0.95,
    "microdata": 0.9,
    "rdfa": 0.85,
    "details": 0.7,
    "dl": 0.65,
    "headings": 0.6,
}
HEADING_TAGS = ("h2", "h3", "h4")


@dataclass(frozen=True)
class FaqPair:
    question: str
    answer: str
    method: str  # 'json-ld', 'microdata', 'rdfa', 'details', 'dl', 'headings'
    selector: str | None = None

    @property
    def confidence(self) -> float:
        # "How it works" is less surely a question than "How do I return an item?"
        return CONFIDENCE[self.method] - (
            0
            if self.question.endswith("?") or self.method in ("json-ld", "microdata", "rdfa")
            else 0.15
        )


def is_question(text: str) -> bool:
    text = clean(text)
    if not 8 <= len(text) <= 300:
        return False
    return text.endswith("?") or bool(_QUESTION_START.match(text))


def extract_faqs(page: Page, learned: dict[str, Any] | None = None) -> list[FaqPair]:
    """All FAQ pairs on the page, one per question (markup wins over heuristics)."""
    order = _method_order(learned)
    pairs: list[FaqPair] = []
    seen: set[str] = set()
    where = places(page.tree)
    faq_page = is_faq_page(page.tree, page.url) or any(page.of_type("FAQPage"))
    context = FaqContext(
        learned or {},
        lambda el: _faq_place(where.get(el, Place()), faq_page),
        lambda el: where.get(el, Place()).code,
    )
    for method in order:
        for pair in METHODS[method](page, context):
            key = _key(pair.question)
            if key and key not in seen and pair.answer:
                seen.add(key)
                pairs.append(pair)
    return pairs


@dataclass(frozen=True)
class FaqContext:
    learned: dict[str, Any]
    in_faq_place: Any  # element -> bool
    in_code: Any  # element -> bool


def _faq_place(place: Place, faq_page: bool) -> bool:
    return not place.code and (faq_page or place.faq)


def _method_order(learned: dict[str, Any] | None) -> list[str]:
    order = ["markup", "details", "dl", "headings"]
    first = (learned or {}).get("method")
    if first in ("details", "dl", "headings"):  # markup always comes first; it is the best source
        order.remove(first)
        order.insert(1, first)
    return order


def from_markup(page: Page, _context: FaqContext) -> Iterator[FaqPair]:
    for item in page.of_type("Question"):
        question = text_of(item.data.get("name") or item.data.get("text"))
        answer_node = item.data.get("acceptedAnswer") or item.data.get("suggestedAnswer")
        if isinstance(answer_node, list):
            answer_node = answer_node[0] if answer_node else None
        answer = (
            text_of(answer_node.get("text"))
            if isinstance(answer_node, dict)
            else text_of(answer_node)
        )
        if question and answer:
            yield FaqPair(question, answer[:MAX_ANSWER], item.source)


def from_details(page: Page, context: FaqContext) -> Iterator[FaqPair]:
    for details in css(page.tree, "details"):
        summary = details.find("summary")
        if summary is None or context.in_code(details):
            continue
        question = node_text(summary)
        if not is_question(question):
            continue
        parts = [node_text(child) for child in details if child is not summary]
        tail = clean(summary.tail)
        answer = clean(" ".join(p for p in [tail, *parts] if p))
        yield FaqPair(question, answer[:MAX_ANSWER], "details", "details > summary")


def from_definition_lists(page: Page, context: FaqContext) -> Iterator[FaqPair]:
    for dt in css(page.tree, "dl > dt"):
        if not context.in_faq_place(dt):
            continue
        question = node_text(dt)
        dd = dt.getnext()
        if is_question(question) and dd is not None and dd.tag == "dd":
            yield FaqPair(question, node_text(dd)[:MAX_ANSWER], "dl", "dl > dt")


def from_headings(page: Page, context: FaqContext) -> Iterator[FaqPair]:
    learned = context.learned
    tags = list(HEADING_TAGS)
    preferred = learned.get("selector") if learned.get("method") == "headings" else None
    if preferred in tags:
        tags.remove(preferred)
        tags.insert(0, preferred)
    for tag in tags:
        for heading in css(page.tree, tag):
            if not context.in_faq_place(heading):
                continue
            question = _without_permalink(node_text(heading))
            if not is_question(question):
                continue
            answer = _following_text(heading)
            if answer:
                yield FaqPair(question, answer[:MAX_ANSWER], "headings", tag)


def _following_text(heading: Any) -> str:
    """The text after a heading, up to the next heading (siblings; else the parent's siblings,
    for headings wrapped in their own element)."""
    parts: list[str] = []
    tail = clean(heading.tail)
    if tail:
        parts.append(tail)
    node = heading
    for _ in range(2):
        sibling = node.getnext()
        while sibling is not None and not _is_heading(sibling) and not _contains_heading(sibling):
            if isinstance(sibling.tag, str) and sibling.tag not in (
                "script",
                "style",
                "nav",
                "form",
            ):
                parts.append(node_text(sibling))
            sibling = sibling.getnext()
        if any(parts) or node.getparent() is None:
            break
        node = node.getparent()
        if node.tag in ("body", "main", "article", "section"):
            break
    return clean(" ".join(p for p in parts if p))


_PERMALINK = re.compile(r"\s*[¶#§🔗]\s*$")


def _without_permalink(text: str) -> str:
    """'What is Python?¶' -> 'What is Python?' (Sphinx and other generators' heading anchors)."""
    return _PERMALINK.sub("", text)


def _is_heading(el: Any) -> bool:
    return isinstance(el.tag, str) and bool(_HEADING.match(el.tag))


def _contains_heading(el: Any) -> bool:
    return any(_is_heading(d) for d in el.iterdescendants())


def _key(question: str) -> str:
    return "".join(ch for ch in question.lower() if ch.isalnum())


METHODS = {
    "markup": from_markup,
    "details": from_details,
    "dl": from_definition_lists,
    "headings": from_headings,
}
