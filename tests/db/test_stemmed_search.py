"""Migration 0110: the keyword side of hybrid_search stems by the page's language."""

from __future__ import annotations

import pytest
from psycopg.types.json import Jsonb


@pytest.mark.parametrize(
    "language,config",
    [
        ("en", "english"),
        ("en-US", "english"),
        ("EN_gb", "english"),
        ("de", "german"),
        ("pt-BR", "portuguese"),
        ("nb", "norwegian"),
        ("zh-CN", "simple"),
        ("", "simple"),
        (None, "simple"),
        ("klingon", "simple"),
    ],
)
def test_text_search_config(db, language, config) -> None:
    row = db.execute("SELECT public.text_search_config(%s)::text AS c", (language,)).fetchone()
    assert row["c"] == config


def _domain_with_chunks(db, name: str, language: str | None, texts: list[str]) -> dict:
    domain = db.execute(
        "INSERT INTO domains (domain) VALUES (%s) RETURNING id", (name,)
    ).fetchone()["id"]
    page = db.execute(
        "INSERT INTO scraped_pages (domain_id, url) VALUES (%s, %s) RETURNING id",
        (domain, f"https://{name}/"),
    ).fetchone()["id"]
    meta = {"model": "m1", **({"language": language} if language else {})}
    return {
        text: db.execute(
            "INSERT INTO page_embeddings (page_id, chunk_text, metadata) "
            "VALUES (%s, %s, %s) RETURNING id",
            (page, text, Jsonb(meta)),
        ).fetchone()["id"]
        for text in texts
    }


TEXTS = [
    "The interpreter exits with status 2 when the script is missing",
    "Parcels are delivered within three days",
]


def test_an_english_site_matches_other_forms_of_a_word(db) -> None:
    ids = _domain_with_chunks(db, "english.test", "en", TEXTS)
    for question in ("exit", "how do I exit", "exiting the interpreter", "delivering"):
        rows = db.execute(
            "SELECT id FROM hybrid_search(%s, NULL, 'english.test', 5)", (question,)
        ).fetchall()
        expected = TEXTS[1] if question == "delivering" else TEXTS[0]
        assert [r["id"] for r in rows] == [ids[expected]], question
    tsv = db.execute(
        "SELECT chunk_tsv::text AS t FROM page_embeddings WHERE id = %s", (ids[TEXTS[0]],)
    ).fetchone()["t"]
    assert "'exit'" in tsv and "'the'" not in tsv  # stemmed, stop words dropped


def test_a_site_of_unknown_language_keeps_the_simple_configuration(db) -> None:
    ids = _domain_with_chunks(db, "plain.test", None, TEXTS)
    exact = db.execute("SELECT id FROM hybrid_search('exits', NULL, 'plain.test', 5)").fetchall()
    assert [r["id"] for r in exact] == [ids[TEXTS[0]]]
    assert (
        db.execute("SELECT id FROM hybrid_search('exit', NULL, 'plain.test', 5)").fetchall() == []
    )


def test_a_chunk_whose_language_is_recorded_later_is_parsed_again(db) -> None:
    ids = _domain_with_chunks(db, "later.test", None, TEXTS[:1])
    db.execute(
        'UPDATE page_embeddings SET metadata = metadata || \'{"language": "en"}\' WHERE id = %s',
        (ids[TEXTS[0]],),
    )
    rows = db.execute("SELECT id FROM hybrid_search('exit', NULL, 'later.test', 5)").fetchall()
    assert [r["id"] for r in rows] == [ids[TEXTS[0]]]
