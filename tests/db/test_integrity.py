"""Cascades, updated_at triggers, indexes and RLS being on, checked over the whole catalog."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from tests.support.tenants import (
    ROW_SPECS,
    SERVICE_ONLY_TABLES,
    build_world,
    insert_row,
    public_tables,
)


def _count(db, table: str) -> int:
    return db.execute(
        sql.SQL("SELECT count(*) AS n FROM public.{}").format(sql.Identifier(table))
    ).fetchone()["n"]


def test_deleting_a_domain_removes_everything_under_it(db) -> None:
    alice, bob = build_world(db, "alice"), build_world(db, "bob")
    db.execute("DELETE FROM domains WHERE id = %s", (alice["domain"],))
    # Rows hanging off alice's domain (directly or through pages, content, conversations, sessions)
    # are gone; bob's are all still there.
    gone = {
        "domains",
        "scraped_pages",
        "website_content",
        "structured_extractions",
        "content_refresh_jobs",
        "content_hashes",
        "page_content_references",
        "domain_patterns",
        "page_embeddings",
        "ai_optimized_content",
        "training_data",
        "conversations",
        "messages",
        "chat_sessions",
        "chat_messages",
        "customer_verifications",
        "customer_access_logs",
        "customer_data_cache",
        "privacy_requests",
        "business_usage",
        "catalog_sources",
        "customer_configs",
        "domain_keyword_stats",
    }
    for table in ROW_SPECS:
        ids = {
            r["id"]
            for r in db.execute(
                sql.SQL("SELECT id FROM public.{}").format(sql.Identifier(table))
            ).fetchall()
        }
        assert bob.rows[table] in ids, table
        assert (alice.rows[table] in ids) == (table not in gone), table


def test_deleting_the_auth_user_removes_the_whole_tenant(db) -> None:
    alice, _bob = build_world(db, "alice"), build_world(db, "bob")
    db.execute("DELETE FROM auth.users WHERE id = %s", (alice["user"],))
    for table in ROW_SPECS:
        assert _count(db, table) == 1, table


def _tables_with_updated_at(db) -> list[str]:
    return [
        r["table_name"]
        for r in db.execute(
            "SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables "
            "t "
            "USING (table_schema, table_name) WHERE c.table_schema = 'public' "
            "AND c.column_name = 'updated_at' AND t.table_type = 'BASE TABLE' ORDER BY 1"
        ).fetchall()
    ]


def test_every_updated_at_table_has_the_trigger(db) -> None:
    tables = _tables_with_updated_at(db)
    assert len(tables) >= 17
    for table in tables:
        row = db.execute(
            "SELECT count(*) AS n FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE t.tgrelid = %s::regclass AND p.proname = 'set_updated_at' AND NOT "
            "t.tgisinternal",
            (f"public.{table}",),
        ).fetchone()
        assert row["n"] == 1, f"{table} has no updated_at trigger"


def test_updated_at_trigger_fires_on_every_table(db) -> None:
    tables = _tables_with_updated_at(db)
    assert set(tables) <= set(ROW_SPECS), "add a row spec for the new table"
    world = build_world(db, "alice")
    for table in tables:
        ident = sql.Identifier(table)
        db.execute(sql.SQL("ALTER TABLE public.{} DISABLE TRIGGER USER").format(ident))
        try:
            db.execute(
                sql.SQL("UPDATE public.{} SET updated_at = '2000-01-01' WHERE id = %s").format(
                    ident
                ),
                (world.rows[table],),
            )
        finally:
            db.execute(sql.SQL("ALTER TABLE public.{} ENABLE TRIGGER USER").format(ident))
        db.execute(
            sql.SQL("UPDATE public.{} SET id = id WHERE id = %s").format(ident),
            (world.rows[table],),
        )
        fresh = db.execute(
            sql.SQL(
                "SELECT updated_at > now() - interval '1 minute' AS fresh "
                "FROM public.{} WHERE id = %s"
            ).format(ident),
            (world.rows[table],),
        ).fetchone()["fresh"]
        assert fresh, table


def test_a_new_table_is_left_alone_until_omni_own_table_sets_it_up(db) -> None:
    """Another application's new table in public is not touched (no event trigger since 0070); a
    project table is set up by name: RLS, its updated_at trigger, the tenant privileges given."""

    def state() -> dict:
        return db.execute(
            "SELECT c.relrowsecurity AS rls, (SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = "
            "c.oid "
            "AND t.tgname = 'trg_schema_test_new_updated_at') AS triggers, "
            "has_table_privilege('authenticated', c.oid, 'SELECT') AS tenant_select, "
            "has_table_privilege('authenticated', c.oid, 'TRUNCATE') AS tenant_truncate, "
            "has_table_privilege('service_role', c.oid, 'DELETE') AS service_delete "
            "FROM pg_class c WHERE c.oid = 'public.schema_test_new'::regclass"
        ).fetchone()

    try:
        db.execute(
            "CREATE TABLE public.schema_test_new (id uuid PRIMARY KEY, "
            "updated_at timestamptz DEFAULT now())"
        )
        assert state() == {
            "rls": False,
            "triggers": 0,
            "tenant_select": False,
            "tenant_truncate": False,
            "service_delete": False,
        }
        db.execute("SELECT public.omni_own_table('public.schema_test_new', 'SELECT')")
        db.execute("SELECT public.omni_own_table('public.schema_test_new', 'SELECT')")  # idempotent
        assert state() == {
            "rls": True,
            "triggers": 1,
            "tenant_select": True,
            "tenant_truncate": False,
            "service_delete": True,
        }
        with pytest.raises(
            psycopg.errors.RaiseException, match="TRUNCATE is not a tenant privilege"
        ):
            db.execute("SELECT public.omni_own_table('public.schema_test_new', 'SELECT, TRUNCATE')")
    finally:
        db.execute("DROP TABLE IF EXISTS public.schema_test_new")


def test_rls_enabled_on_every_public_table(db) -> None:
    rows = db.execute(
        "SELECT relname, relrowsecurity FROM pg_class WHERE relnamespace = 'public'::regnamespace "
        "AND relkind IN ('r', 'p')"
    ).fetchall()
    assert len(rows) >= 25  # 24 tables + schema_migrations
    assert "schema_migrations" in {r["relname"] for r in rows}
    assert [r["relname"] for r in rows if not r["relrowsecurity"]] == []


def _indexes(db) -> dict[str, dict]:
    rows = db.execute(
        "SELECT i.indexrelid::regclass::text AS name, am.amname, pg_get_indexdef(i.indexrelid) AS "
        "def, "
        "       i.indrelid::regclass::text AS tbl, i.indkey[0] AS first_col, "
        "       i.indpred IS NOT NULL AS partial "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam "
        "WHERE c.relnamespace = 'public'::regnamespace"
    ).fetchall()
    return {r["name"]: r for r in rows}


SEED_INDEXES = [
    "idx_scraped_pages_url",
    "idx_scraped_pages_domain",
    "idx_website_content_url",
    "idx_customer_configs_domain",
    "idx_page_embeddings_vector",
    "idx_scraped_pages_last_scraped",
    "idx_conversations_created_at",
    "idx_messages_created_at",
    "idx_scraped_pages_metadata_gin",
    "idx_page_embeddings_metadata_gin",
    "idx_scraped_pages_domain_scraped",
    "idx_messages_conversation_created",
    "idx_training_data_customer_type",
    "idx_scraped_pages_active",
    "idx_customer_configs_active_woo",
]


def test_indexes_named_by_the_seed_exist(db) -> None:
    indexes = _indexes(db)
    assert len([n for n in indexes if n.startswith("idx_")]) >= 33
    assert [n for n in SEED_INDEXES if n not in indexes] == []
    assert indexes["idx_scraped_pages_active"]["partial"]
    assert indexes["idx_customer_configs_active_woo"]["partial"]
    assert "woocommerce_url IS NOT NULL" in indexes["idx_customer_configs_active_woo"]["def"]
    for name in ("idx_scraped_pages_metadata_gin", "idx_page_embeddings_metadata_gin"):
        assert indexes[name]["amname"] == "gin"
    assert "(user_id, type)" in indexes["idx_training_data_customer_type"]["def"]


def test_vector_index_is_hnsw_cosine(db) -> None:
    index = _indexes(db)["idx_page_embeddings_vector"]
    assert index["amname"] == "hnsw"
    assert "vector_cosine_ops" in index["def"]


@pytest.mark.parametrize(
    "name,column",
    [("idx_website_content_title_trgm", "title"), ("idx_website_content_content_trgm", "content")],
)
def test_trigram_indexes(db, name: str, column: str) -> None:
    index = _indexes(db)[name]
    assert index["amname"] == "gin" and f"({column} gin_trgm_ops)" in index["def"]


def test_scraped_pages_carries_no_trigram_index(db) -> None:
    """A re-crawl updates scraped_at on every page; a trigram index there made that costly."""
    assert not [
        name
        for name, i in _indexes(db).items()
        if "gin_trgm_ops" in i["def"] and i["tbl"] == "scraped_pages"
    ]


@pytest.mark.parametrize(
    "name,fragment",
    [
        ("idx_content_refresh_jobs_status_created", "(status, created_at)"),
        ("idx_content_refresh_jobs_domain_type_status", "(domain_id, job_type, status)"),
        ("idx_page_embeddings_page_chunk_hash", "(page_id, ((metadata ->> 'chunk_hash'::text)))"),
        ("idx_page_embeddings_model", "((metadata ->> 'model'::text))"),
    ],
)
def test_named_composite_and_expression_indexes(db, name: str, fragment: str) -> None:
    assert fragment in _indexes(db)[name]["def"]


def test_every_foreign_key_column_leads_an_index(db) -> None:
    fks = db.execute(
        "SELECT conrelid::regclass::text AS tbl, conkey[1] AS col, conname FROM pg_constraint "
        "WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
    ).fetchall()
    leading = {(i["tbl"], i["first_col"]) for i in _indexes(db).values() if not i["partial"]}
    assert [fk["conname"] for fk in fks if (fk["tbl"], fk["col"]) not in leading] == []


def test_recent_pages_query_can_use_the_partial_index(db) -> None:
    # Take the other scraped_at indexes away (rolled back) so the plan shows this one is usable
    # for "scraped in the last 7 days" without the query restating its predicate.
    with db.transaction(force_rollback=True):
        db.execute("DROP INDEX idx_scraped_pages_last_scraped, idx_scraped_pages_domain_scraped")
        db.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            r["QUERY PLAN"]
            for r in db.execute(
                "EXPLAIN SELECT domain_id, status FROM scraped_pages "
                "WHERE scraped_at > now() - interval '7 days' ORDER BY scraped_at DESC"
            ).fetchall()
        )
    assert "idx_scraped_pages_active" in plan


def test_row_specs_cover_every_table(db) -> None:
    assert public_tables(db) - SERVICE_ONLY_TABLES == set(ROW_SPECS)
    # and the spec helper really inserts (used by every other test here)
    world = build_world(db, "carol")
    assert insert_row(db, "content_refresh_jobs", {"domain_id": world["domain"], "job_type": "x"})
