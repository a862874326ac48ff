"""Where on a page a fact may come from: code samples are never facts, reserved and placeholder
addresses are never contacts, contact text only counts in contact places (a contact section, the
footer, an <address>, a contact page), and FAQ layout only counts in FAQ places (an FAQ or help
page, or a section under an FAQ heading). Pure functions over the parsed page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# Text inside these is a sample (of code, input or output), never the site's own fact.
CODE_TAGS = frozenset({"pre", "code", "kbd", "samp", "var", "tt", "xmp", "listing"})

# RFC 2606 and RFC 6761: names reserved for documentation and testing.
RESERVED_DOMAINS = ("example.com", "example.org", "example.net")
RESERVED_TLDS = ("example", "test", "invalid", "localhost")
# Documentation placeholders: user@host, name@domain, you@yourcompany.com ...
PLACEHOLDER_LOCALS = frozenset(
    {
        "user",
        "username",
        "name",
        "yourname",
        "your.name",
        "your_name",
        "your-name",
        "you",
        "your",
        "youremail",
        "your.email",
        "your-email",
        "email",
        "someone",
        "somebody",
        "nobody",
        "foo",
        "bar",
        "baz",
        "john.doe",
        "jane.doe",
        "johndoe",
        "janedoe",
        "john",
        "jane",
        "firstname.lastname",
        "first.last",
        "firstname",
        "xxx",
        "xyz",
        "me",
        "address",
        "login",
        "joe",
        "alice",
        "bob",
    }
)
PLACEHOLDER_DOMAIN_LABELS = frozenset(
    {
        "host",
        "domain",
        "yourdomain",
        "mydomain",
        "yoursite",
        "mysite",
        "yourcompany",
        "company",
        "server",
        "mailserver",
        "mailhost",
        "somewhere",
        "somehost",
        "foo",
        "bar",
        "baz",
        "email",
        "localhost",
        "site",
        "website",
        "provider",
    }
)

CONTACT_WORDS = re.compile(
    r"\b(contact|get in touch|reach us|find us|visit us|customer (?:service|care)"
    r"|kontakt|impressum|imprint)\b",
    re.IGNORECASE,
)
FAQ_WORDS = re.compile(
    r"\b(faqs?|frequently asked|(?:common |your )?questions(?: and answers)?|q\s*&\s*a"
    r"|help(?: cent(?:er|re)| desk)|^\s*help\s*$)",
    re.IGNORECASE,
)
_FAQ_PATH = re.compile(
    r"(?:^|[/_.-])(faqs?|help|questions|support|hilfe|aide)(?:$|[/_.-])", re.IGNORECASE
)
_CONTACT_PATH = re.compile(
    r"(?:^|[/_.-])(contact(?:-us|us)?|kontakt|impressum|imprint)(?:$|[/_.-])", re.IGNORECASE
)
_HEADING = re.compile(r"^h([1-6])$")


def is_reserved_domain(domain: str) -> bool:
    domain = domain.lower().rstrip(".")
    return (
        any(domain == d or domain.endswith("." + d) for d in RESERVED_DOMAINS)
        or domain.rsplit(".", 1)[-1] in RESERVED_TLDS
    )


def is_placeholder_email(email: str) -> bool:
    local, _, domain = email.lower().partition("@")
    return local in PLACEHOLDER_LOCALS or domain.split(".", 1)[0] in PLACEHOLDER_DOMAIN_LABELS


def own_domain(email_domain: str, page_url: str) -> bool:
    """The page's own site (beanleaf.test's addresses on beanleaf.test are its real ones)."""
    host = (urlsplit(page_url).hostname or "").lower().removeprefix("www.")
    email_domain = email_domain.lower()
    return bool(host) and (
        host == email_domain
        or host.endswith("." + email_domain)
        or email_domain.endswith("." + host)
    )


def contact_email_allowed(email: str, page_url: str) -> bool:
    domain = email.rpartition("@")[2]
    if is_placeholder_email(email):
        return False
    return not is_reserved_domain(domain) or own_domain(domain, page_url)


def in_code(el: Any) -> bool:
    return any(isinstance(a.tag, str) and a.tag in CODE_TAGS for a in (el, *el.iterancestors()))


def heading_level(el: Any) -> int | None:
    match = _HEADING.match(el.tag) if isinstance(el.tag, str) else None
    return int(match.group(1)) if match else None


def page_title(tree: Any) -> str:
    title = tree.find(".//title")
    h1 = tree.find(".//h1")
    return " ".join(el.text_content() for el in (title, h1) if el is not None)


def is_faq_page(tree: Any, url: str) -> bool:
    return bool(_FAQ_PATH.search(urlsplit(url).path) or FAQ_WORDS.search(page_title(tree)))


def is_contact_page(tree: Any, url: str) -> bool:
    return bool(_CONTACT_PATH.search(urlsplit(url).path) or CONTACT_WORDS.search(page_title(tree)))


def _marked(el: Any, words: re.Pattern[str]) -> bool:
    marks = (
        f"{el.get('id', '')} {el.get('class', '')} {el.get('role', '')} {el.get('aria-label', '')}"
    )
    return bool(words.search(marks.replace("-", " ").replace("_", " ")))


@dataclass(frozen=True)
class Place:
    code: bool = False  # inside a code sample
    contact: bool = False  # in a contact section, the footer or an <address>
    faq: bool = False  # in an FAQ or help section


def places(tree: Any) -> dict[Any, Place]:
    """Each element's place, in one walk in document order: an element is in a section when an
    ancestor is marked for it (footer, address, id/class/role/aria-label words) or when the
    nearest heading above it of each higher level names it ("Contact us", "FAQ")."""
    found: dict[Any, Place] = {}
    headings: list[tuple[int, bool, bool]] = []  # the open sections: (level, contact, faq)

    def visit(el: Any, inherited: Place, depth: int) -> None:
        if not isinstance(el.tag, str) or depth > 200:
            return
        level = heading_level(el)
        if level:
            while headings and headings[-1][0] >= level:
                headings.pop()
            text = el.text_content()
            headings.append((level, bool(CONTACT_WORDS.search(text)), bool(FAQ_WORDS.search(text))))
        place = Place(
            code=inherited.code or el.tag in CODE_TAGS,
            contact=(
                inherited.contact
                or el.tag in ("footer", "address")
                or _marked(el, CONTACT_WORDS)
                or any(h[1] for h in headings)
            ),
            faq=inherited.faq
            or _marked(el, FAQ_WORDS)
            or any(h[2] for h in headings[:-1] if level)
            or (not level and any(h[2] for h in headings)),
        )
        found[el] = place
        for child in el:
            visit(
                child,
                Place(
                    place.code,
                    inherited.contact
                    or el.tag in ("footer", "address")
                    or _marked(el, CONTACT_WORDS),
                    inherited.faq or _marked(el, FAQ_WORDS),
                ),
                depth + 1,
            )

    visit(tree, Place(), 0)
    return found
