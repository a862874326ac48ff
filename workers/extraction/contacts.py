"""Contact details: emails, phone numbers, postal addresses and opening hours."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from workers.extraction.page import (
    MarkupItem,
    Page,
    clean,
    css,
    first,
    text_of,
    type_names,
    walk,
)
from workers.extraction.scope import Place, contact_email_allowed, is_contact_page, places

_EMAIL = re.compile(
    r"(?<![\w.+-])([A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24})\b"
)
_ASSET_SUFFIX = re.compile(r"\.(png|jpe?g|gif|svg|webp|css|js)$", re.IGNORECASE)
# +44 20 7946 0958, (555) 123-4567, 555.123.4567, 020 7946 0958, +1-800-555-0199
_PHONE = re.compile(r"(?<![\w/.-])(\+?\(?\d{1,4}\)?(?:[\s.\-]?\(?\d{1,5}\)?){1,5}\d)(?![\w/-])")
_DATE_LIKE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")
_DAY = (
    r"(?:mon(?:day)?|tue(?:s|sday)?|wed(?:nesday)?|thu(?:rs|rsday)?|fri(?:day)?|sat(?:urday)?"
    r"|sun(?:day)?|mo|tu|we|th|fr|sa|su)"
)
_TIME = r"\d{1,2}(?:[:.]\d{2})?\s*(?:[ap]\.?m\.?)?"
_HOURS = re.compile(
    rf"\b({_DAY}(?:\s*(?:-|–|—|to|through|&|and|,)\s*{_DAY})*)\.?\s*:?\s*"
    rf"({_TIME}\s*(?:-|–|—|to|until)\s*{_TIME}|closed)",
    re.IGNORECASE,
)
SCHEMA_BUSINESS = (
    "LocalBusiness",
    "Organization",
    "Store",
    "Restaurant",
    "Corporation",
    "ProfessionalService",
    "AutoDealer",
    "MedicalBusiness",
    "Place",
)


@dataclass
class Contacts:
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    opening_hours: list[str] = field(default_factory=list)
    name: str | None = None
    sources: list[str] = field(default_factory=list)

    def found(self) -> bool:
        return bool(self.emails or self.phones or self.addresses or self.opening_hours)

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "emails": self.emails,
            "phones": self.phones,
            "addresses": self.addresses,
            "opening_hours": self.opening_hours,
        }
        if self.name:
            data["name"] = self.name
        return data

    @property
    def confidence(self) -> float:
        markup = any(s in ("json-ld", "microdata", "rdfa") for s in self.sources)
        links = any(s in ("mailto", "tel") for s in self.sources)
        return 0.9 if markup else 0.8 if links else 0.6

    def _add(self, bucket: list[Any], value: Any, source: str) -> None:
        if value and not any(_same_contact(value, known) for known in bucket):
            bucket.append(value)
            if source not in self.sources:
                self.sources.append(source)


def _same_contact(a: Any, b: Any) -> bool:
    if a == b:
        return True
    if (
        isinstance(a, str)
        and isinstance(b, str)
        and a.lstrip("+").isdigit()
        and b.lstrip("+").isdigit()
    ):
        # 0161 496 0000 and +44 161 496 0000 are one number: compare the subscriber part
        return min(len(a), len(b)) >= 9 and a[-9:] == b[-9:]
    if isinstance(a, dict) and isinstance(b, dict) and ("street" in a) != ("street" in b):
        # an <address> block repeating the structured PostalAddress
        structured, free_text = (a, b) if "street" in a else (b, a)
        return structured["street"].lower() in free_text.get("formatted", "").lower()
    return False


def valid_email(value: str) -> bool:
    value = value.strip()
    return bool(_EMAIL.fullmatch(value)) and not _ASSET_SUFFIX.search(value) and ".." not in value


def normalize_phone(value: str) -> str | None:
    """'+44 (0)20 7946 0958' -> '+442079460958'; None for things that are not phone numbers."""
    value = unquote(value).strip()
    if _DATE_LIKE.match(value):
        return None
    value = value.replace("(0)", "")
    digits = re.sub(r"\D", "", value)
    if not 7 <= len(digits) <= 15 or len(set(digits)) == 1:
        return None
    if value.startswith("+"):
        return "+" + digits
    if value.startswith("00") and len(digits) > 10:
        return "+" + digits[2:]
    return digits


def extract_contacts(page: Page) -> Contacts:
    """Markup contacts (any schema.org node with contact properties), mailto: and tel: links, and
    addresses, numbers and hours written in contact places (docs/extraction.md). Nothing from
    code samples; no reserved-domain or placeholder addresses."""
    found = Contacts()
    _from_markup(page, found)
    where = places(page.tree)
    contact_page = is_contact_page(page.tree, page.url)
    for a in css(page.tree, "a[href]"):
        if where.get(a, Place()).code:
            continue
        href = a.get("href", "").strip()
        scheme, _, rest = href.partition(":")
        if scheme.lower() == "mailto":
            _add_email(found, unquote(rest.split("?", 1)[0]), "mailto", page.url)
        elif scheme.lower() == "tel":
            found._add(found.phones, normalize_phone(rest), "tel")
    for el in css(page.tree, "address"):
        text = _multiline_text(el)
        if text and not where.get(el, Place()).code:
            found._add(found.addresses, {"formatted": text}, "address")
    prose, contact_text = _texts(page, where, contact_page)
    for line in prose.splitlines():
        in_contact_line = _INVITATION.search(line)
        for match in _EMAIL.finditer(line):
            if in_contact_line:
                _add_email(found, match.group(1), "text", page.url)
    for match in _EMAIL.finditer(contact_text):
        _add_email(found, match.group(1), "text", page.url)
    for line in _phone_context_lines(contact_text):
        for match in _PHONE.finditer(line):
            found._add(found.phones, normalize_phone(match.group(1)), "text")
    for match in _HOURS.finditer(contact_text):
        found._add(found.opening_hours, clean(match.group(0)), "text")
    return found


# "write to hello@...", "email us at ...": an address the text invites you to use.
_INVITATION = re.compile(
    r"\b(write to|e-?mail(?: us)?|contact(?: us)?|reach us|mail us|send (?:us )?an? "
    r"(?:e-?mail|message|note)|get in touch)\b",
    re.IGNORECASE,
)


def _add_email(found: Contacts, email: str, source: str, page_url: str) -> None:
    email = email.removeprefix("mailto:").strip().lower()
    if valid_email(email) and contact_email_allowed(email, page_url):
        found._add(found.emails, email, source)


_CONTACT_KEYS = ("email", "telephone", "openingHours", "openingHoursSpecification", "address")


def _from_markup(page: Page, found: Contacts) -> None:
    # Any schema.org node with contact properties (LocalBusiness has dozens of subtypes).
    for item in page.items:
        for node in walk(item.data) if item.source != "opengraph" else []:
            if any(k in node for k in _CONTACT_KEYS):
                _from_node(MarkupItem(item.source, node), found, page.url)
    for item in page.of_type("PostalAddress"):
        found._add(found.addresses, postal_address(item.data), item.source)


def _from_node(item: MarkupItem, found: Contacts, page_url: str) -> None:
    node = item.data
    if set(type_names(node)) & set(SCHEMA_BUSINESS) or "address" in node:
        found.name = found.name or text_of(node.get("name"))
    for email in _as_list(node.get("email")):
        _add_email(found, str(email), item.source, page_url)
    for phone in _as_list(node.get("telephone")):
        found._add(found.phones, normalize_phone(str(phone)), item.source)
    for hours in _as_list(node.get("openingHours")):
        found._add(found.opening_hours, clean(str(hours)), item.source)
    for spec in _as_list(node.get("openingHoursSpecification")):
        if isinstance(spec, dict):
            found._add(found.opening_hours, _hours_spec(spec), item.source)


def postal_address(node: dict[str, Any]) -> dict[str, Any] | None:
    parts = {
        "street": text_of(node.get("streetAddress")),
        "locality": text_of(node.get("addressLocality")),
        "region": text_of(node.get("addressRegion")),
        "postal_code": text_of(node.get("postalCode")),
        "country": text_of(node.get("addressCountry")),
    }
    parts = {k: v for k, v in parts.items() if v}
    if not parts:
        return None
    parts["formatted"] = ", ".join(
        str(parts[k])
        for k in ("street", "locality", "region", "postal_code", "country")
        if k in parts
    )
    return parts


def _hours_spec(spec: dict[str, Any]) -> str | None:
    days = [str(d).rsplit("/", 1)[-1] for d in _as_list(spec.get("dayOfWeek"))]
    opens, closes = text_of(spec.get("opens")), text_of(spec.get("closes"))
    if not days or not (opens or closes):
        return None
    return f"{', '.join(days)} {opens or ''}-{closes or ''}".strip()


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _multiline_text(el: Any) -> str:
    for br in el.iter("br"):
        br.tail = "\n" + (br.tail or "")
    lines = [clean(line) for line in el.text_content().splitlines()]
    return ", ".join(line for line in lines if line)


_BLOCK = {
    "p",
    "div",
    "li",
    "br",
    "tr",
    "address",
    "dd",
    "dt",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "footer",
    "header",
    "article",
    "ul",
    "ol",
    "table",
    "td",
    "th",
}
_HIDDEN = {"script", "style", "noscript", "template", "head"}


def _texts(page: Page, where: dict[Any, Place], contact_page: bool) -> tuple[str, str]:
    """The body's text without code samples, and the part of it in contact places (all of it on
    a contact page), with a line break after each block element (lines give phone context)."""
    body = page.tree.find(".//body")
    root = body if body is not None else page.tree
    prose: list[str] = []
    contact: list[str] = []

    def emit(text: str, place: Place) -> None:
        if text and not place.code:
            prose.append(text)
            if contact_page or place.contact:
                contact.append(text)

    def visit(el: Any, parent: Place, depth: int) -> None:
        if isinstance(el.tag, str) and el.tag not in _HIDDEN and depth < 200:
            place = where.get(el, parent)
            emit(el.text or "", place)
            for child in el:
                visit(child, place, depth + 1)
            if el.tag in _BLOCK:
                prose.append("\n")
                contact.append("\n")
        if el is not root:
            emit(el.tail or "", parent)

    visit(root, Place(), 0)
    return "".join(prose), "".join(contact)


def _phone_context_lines(text: str) -> list[str]:
    """Lines that talk about phoning (free-text numbers elsewhere are too often prices or ids)."""
    cue = re.compile(r"\b(phone|tel|telephone|call|mobile|fax|whatsapp|ring)\b|☎|📞", re.IGNORECASE)
    return [line for line in text.splitlines() if cue.search(line)]


__all__ = [
    "Contacts",
    "extract_contacts",
    "first",
    "normalize_phone",
    "postal_address",
    "type_names",
    "valid_email",
]
