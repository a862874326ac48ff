"""db.knowledge_rules.apply_knowledge_rules through `omni domain add --include/--exclude`: the
patterns are stored in the domain's row and applied to the pages already stored."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from db import tenants
from tests.support.knowledge import give_knowledge, knowledge

DOMAIN = "docs.example"
BASE = f"https://{DOMAIN}"


def page(db, domain_id, path: str, structure: str = "content") -> None:
    db.execute(
        "INSERT INTO scraped_pages (domain_id, url, title, content, status, metadata) "
        "VALUES (%s, %s, %s, 'text', 'scraped', %s)",
        (domain_id, BASE + path, path, Jsonb({"structure": structure, "page_kind": structure})),
    )
    give_knowledge(db, domain_id, BASE + path)


def kinds(db) -> dict[str, tuple[str, str | None]]:
    return {
        r["url"].removeprefix(BASE): (r["kind"], r["why"])
        for r in db.execute(
            "SELECT url, metadata->>'page_kind' AS kind, metadata->>'excluded_by' AS why FROM "
            "scraped_pages"
        )
    }


def test_exclude_patterns_are_stored_and_take_pages_out_of_search_at_once(db, omni_cli):
    domain_id = tenants.add_domain(db, DOMAIN)["id"]
    for path in ("/genindex-A.html", "/genindex-all.html", "/library/wave.html"):
        page(db, domain_id, path)
    page(db, domain_id, "/contents.html", "navigation")

    added = omni_cli("domain", "add", DOMAIN, "--exclude", "/genindex*", "--exclude", "*/private/*")
    assert added.returncode == 0, added.stderr
    assert "exclude=/genindex*,*/private/*" in added.stdout
    assert "2 stored pages left the knowledge base (6 chunks removed)" in added.stdout
    assert db.execute("SELECT knowledge_rules FROM domains").fetchone()["knowledge_rules"] == {
        "exclude": ["/genindex*", "*/private/*"]
    }
    assert kinds(db) == {
        "/genindex-A.html": ("excluded", "exclude /genindex*"),
        "/genindex-all.html": ("excluded", "exclude /genindex*"),
        "/library/wave.html": ("content", None),
        "/contents.html": ("navigation", None),
    }
    assert knowledge(db, domain_id, BASE + "/genindex-A.html")["embeddings"] == 0
    assert knowledge(db, domain_id, BASE + "/library/wave.html")["embeddings"] == 3

    # other settings leave the patterns alone; include narrows the knowledge base further
    assert omni_cli("domain", "add", DOMAIN, "--max-pages", "9").returncode == 0
    assert db.execute("SELECT knowledge_rules FROM domains").fetchone()["knowledge_rules"] == {
        "exclude": ["/genindex*", "*/private/*"]
    }
    narrowed = omni_cli("domain", "add", DOMAIN, "--include", "/library/*")
    assert narrowed.returncode == 0, narrowed.stderr
    assert kinds(db)["/contents.html"] == ("excluded", "not in include patterns")

    cleared = omni_cli("domain", "add", DOMAIN, "--clear-patterns")
    assert cleared.returncode == 0, cleared.stderr
    assert (
        "2 stored pages are knowledge again" in cleared.stdout and "--type embed" in cleared.stdout
    )
    assert kinds(db)["/genindex-A.html"] == ("content", None)
    assert kinds(db)["/contents.html"] == ("navigation", None)  # its structure still says so
