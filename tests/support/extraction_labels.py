"""Hand-labelled structured facts for two sites, to measure extraction's precision and recall.

- the shop: the demo roastery (interfaces/demo_site/site, at its own domain emberandoak.example) and
the
  extraction fixture pages (tests/support/pages, at beanleaf.test); every email, phone number and
  FAQ question a customer would call a fact, written from the HTML by hand;
- a docs site: 30 pages of Debian's python3.11-doc (/usr/share/doc/python3.11-doc/html), read
  from the files. Its only facts are the questions of its two FAQ pages; its addresses are
  licence credits, code samples and placeholders, none a contact.

A fact is (page, kind, value): kind 'email' or 'phone' (normalised as extraction stores it) or
'faq' (the question text).
"""

from __future__ import annotations

from pathlib import Path

from tests.support.paths import REPO

SHOP_DIRS = {
    "https://emberandoak.example/": REPO / "interfaces" / "demo_site" / "site",
    "https://beanleaf.test/": REPO / "tests" / "support" / "pages",
}
PYTHON_DOCS = Path("/usr/share/doc/python3.11-doc/html")
PYTHON_DOCS_URL = "https://docs.python.org/3.11/"

SHOP_FACTS: dict[str, set[tuple[str, str]]] = {
    "https://emberandoak.example/contact.html": {
        ("email", "hello@emberandoak.example"),
        ("phone", "+15035550148"),
    },
    "https://emberandoak.example/shipping.html": {("email", "hello@emberandoak.example")},
    "https://emberandoak.example/wholesale.html": {("email", "wholesale@emberandoak.example")},
    "https://emberandoak.example/faq.html": {
        ("faq", q)
        for q in (
            "How long does shipping take?",
            "How much does shipping cost?",
            "Can I return coffee?",
            "Do you sell ground coffee?",
            "How should I store my coffee?",
            "Do you offer subscriptions?",
        )
    },
    "https://beanleaf.test/contact.html": {
        ("email", "orders@beanleaf.test"),
        ("email", "press@beanleaf.test"),
        ("phone", "+441614960000"),
        ("phone", "+447700900123"),
    },
    "https://beanleaf.test/woo_product.html": {("email", "hello@beanleaf.test")},
    "https://beanleaf.test/faq_jsonld.html": {
        ("faq", q)
        for q in (
            "How long does delivery take?",
            "Do you ship internationally?",
            "Can I return an opened bag of coffee?",
        )
    },
    "https://beanleaf.test/faq_headings.html": {
        ("faq", q)
        for q in (
            "How do I track my order?",
            "Can I change my delivery address?",
            "What is your returns policy",
            "Is the jacket machine washable?",
        )
    },
}

DOCS_PAGES = [
    "faq/general.html",
    "faq/installed.html",
    "about.html",
    "bugs.html",
    "copyright.html",
    "license.html",
    "library/email.examples.html",
    "library/smtplib.html",
    "library/email.headerregistry.html",
    "library/email.utils.html",
    "library/email.message.html",
    "library/email.compat32-message.html",
    "library/urllib.parse.html",
    "library/imaplib.html",
    "library/poplib.html",
    "library/mailbox.html",
    "library/logging.handlers.html",
    "library/argparse.html",
    "library/unittest.html",
    "library/doctest.html",
    "library/re.html",
    "library/sqlite3.html",
    "library/string.html",
    "library/functions.html",
    "tutorial/controlflow.html",
    "tutorial/index.html",
    "howto/urllib2.html",
    "howto/logging-cookbook.html",
    "whatsnew/3.11.html",
    "reference/lexical_analysis.html",
]
DOCS_FAQ = {
    "faq/installed.html": [
        "What is Python?",
        "Why is Python installed on my machine?",
        "Can I delete Python?",
    ],
    "faq/general.html": [
        "What is Python?",
        "What is the Python Software Foundation?",
        "Are there copyright restrictions on the use of Python?",
        "Why was Python created in the first place?",
        "What is Python good for?",
        "How does the Python version numbering scheme work?",
        "How do I obtain a copy of the Python source?",
        "How do I get documentation on Python?",
        "I’ve never programmed before. Is there a Python tutorial?",
        "Is there a newsgroup or mailing list devoted to Python?",
        "How do I get a beta test version of Python?",
        "How do I submit bug reports and patches for Python?",
        "Are there any published articles about Python that I can reference?",
        "Are there any books on Python?",
        "Where in the world is www.python.org located?",
        "Why is it called Python?",
        "Do I have to like “Monty Python’s Flying Circus”?",
        "How stable is Python?",
        "How many people are using Python?",
        "Have any significant projects been done in Python?",
        "What new developments are expected for Python in the future?",
        "Is it reasonable to propose incompatible changes to Python?",
        "Is Python a good language for beginning programmers?",
    ],
}


def shop_pages() -> list[tuple[str, str]]:
    """(url, html) of every shop page, each at its own site's address."""
    return [
        (base + str(path.relative_to(root)), path.read_text(encoding="utf-8"))
        for base, root in SHOP_DIRS.items()
        for path in sorted(root.rglob("*.html"))
    ]


def docs_pages() -> list[tuple[str, str]]:
    return [
        (PYTHON_DOCS_URL + name, (PYTHON_DOCS / name).read_text(encoding="utf-8", errors="replace"))
        for name in DOCS_PAGES
    ]


def expected(site: str) -> set[tuple[str, str, str]]:
    if site == "shop":
        return {(url, kind, value) for url, facts in SHOP_FACTS.items() for kind, value in facts}
    return {
        (PYTHON_DOCS_URL + name, "faq", q)
        for name, questions in DOCS_FAQ.items()
        for q in questions
    }


def found_facts(url: str, rows: list) -> set[tuple[str, str, str]]:
    """The (page, kind, value) facts in a page's extraction rows."""
    facts = set()
    for row in rows:
        if row.extract_type == "faq":
            facts.add((url, "faq", row.extracted_data["question"]))
        elif row.extract_type == "contact":
            facts |= {(url, "email", e) for e in row.extracted_data["emails"]}
            facts |= {(url, "phone", p) for p in row.extracted_data["phones"]}
    return facts


def precision_recall(found: set, wanted: set) -> tuple[float, float]:
    hits = len(found & wanted)
    return (hits / len(found) if found else 1.0), (hits / len(wanted) if wanted else 1.0)
