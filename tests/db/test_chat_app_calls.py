"""The chat app's (Omniops) database calls on its chat and widget read path, replayed as
PostgREST runs them (tests/support/postgrest.py): functions resolved by the names of the JSON
keys, the app's role (service_role: every call below goes through `createServiceRoleClient()`),
the app's exact column lists and filters. Sources are the app's files at the mirrored HEAD.

Not replayed, because the tables or functions are the app's own (its migrations create them, and
this project writes nothing into them): `widget_configs` (lib/chat/conversation-widget-config.ts,
lib/widget-config/config-loader.ts), `customer_sessions` (conversation-domain-operations.ts),
`woocommerce_usage_metrics` (woocommerce-metrics.ts), `product_embeddings` and
`increment_product_embedding_access` (lib/embeddings/product-embeddings.ts),
`search_embeddings_enhanced` (enhanced-search.ts: its error sends the app to `search_embeddings`,
replayed below). Nor the app's write and maintenance paths (enhanced-generation.ts,
migration-utils.ts) or the legacy lib/embeddings.ts (`embeddings`, `match_embeddings`).

Before migration 0075, 11 of these 35 calls failed (the 3 rpc calls of search_embeddings, the 2
of search_pages_by_keyword, and the 6 selects naming shopify_shop, app_id, customer_config_id or
domain_name).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain, combinations
from typing import Any

import numpy as np
import pytest
from psycopg.types.json import Jsonb

from tests.support.postgrest import (
    Filter,
    PostgrestError,
    as_client,
    find_routine,
    insert,
    routines,
    rpc,
    select,
    update,
)
from workers.embed_job import copy_rows

DIM = 1536
DOMAIN = "shop.test"


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


@dataclass
class World:
    domain_id: Any
    config_id: Any
    app_id: str
    page_id: Any
    conversation_id: Any
    vectors: np.ndarray
    query: list[float]


@pytest.fixture
def world(db) -> World:
    """One tenant's shop as the pipeline leaves it: a domain, its customer and widget config, a
    Shopify catalogue source, pages with cleaned content, 40 chunks, a product, a chat."""
    user = db.execute(
        "INSERT INTO auth.users (email) VALUES ('owner@auth.test') RETURNING id"
    ).fetchone()["id"]
    customer = db.execute(
        "INSERT INTO customers (auth_user_id, email) VALUES (%s, 'o@shop.test') RETURNING id",
        (user,),
    ).fetchone()["id"]
    domain_id = db.execute(
        "INSERT INTO domains (domain, user_id, name, description) VALUES "
        "(%s, %s, 'Shop', 'Pumps and parts') RETURNING id",
        (DOMAIN, user),
    ).fetchone()["id"]
    config = db.execute(
        "INSERT INTO customer_configs (customer_id, domain, business_name, business_description, "
        "woocommerce_url) VALUES (%s, %s, 'Shop Ltd', 'We sell pumps', 'https://shop.test') "
        "RETURNING id, app_id",
        (customer, DOMAIN),
    ).fetchone()
    db.execute(
        "INSERT INTO catalog_sources (domain_id, platform, base_url) VALUES "
        "(%s, 'shopify', 'https://Shop.test/')",
        (domain_id,),
    )
    pages = []
    for i, (title, text) in enumerate(
        [
            ("Hydraulic pump H-200", "The H-200 pump moves 40 litres."),
            ("Delivery", "We deliver in 3 days. SKU-4471 ships free."),
            ("About us", "A family business since 1990."),
        ]
    ):
        url = f"https://{DOMAIN}/product/{i}" if i == 0 else f"https://{DOMAIN}/p/{i}"
        pages.append(
            db.execute(
                "INSERT INTO scraped_pages (domain_id, url, title, content, status) VALUES "
                "(%s, %s, %s, %s, 'ok') RETURNING id",
                (domain_id, url, title, text),
            ).fetchone()["id"]
        )
        db.execute(
            "INSERT INTO website_content (domain_id, url, title, content) VALUES (%s, %s, %s, %s)",
            (domain_id, url, title, text),
        )
    vectors = _unit(np.random.default_rng(21).standard_normal((40, DIM)))
    with db.transaction():
        copy_rows(
            db,
            (
                (pages[i % 3], f"chunk {i}", v, {"model": "m1", "n": i})
                for i, v in enumerate(vectors)
            ),
        )
    db.execute(
        "INSERT INTO structured_extractions (domain_id, url, extract_type, extracted_data) "
        "VALUES (%s, %s, 'product', %s)",
        (domain_id, f"https://{DOMAIN}/product/0", Jsonb({"name": "H-200", "sku": "SKU-4471"})),
    )
    conversation = db.execute(
        "INSERT INTO conversations (domain_id, session_id) VALUES (%s, 's1') RETURNING id",
        (domain_id,),
    ).fetchone()["id"]
    db.execute(
        "INSERT INTO messages (conversation_id, role, content) VALUES (%s, 'user', 'hi')",
        (conversation,),
    )
    query = _unit(vectors[7] + 0.05 * np.random.default_rng(5).standard_normal(DIM))
    return World(
        domain_id,
        config["id"],
        config["app_id"],
        pages[0],
        conversation,
        vectors,
        [float(x) for x in query],
    )


WIDGET_COLUMNS = (
    "id, app_id, domain, business_name, primary_color, welcome_message, "
    "suggested_questions, woocommerce_url, shopify_shop, active"
)


def _exact_ids(w: World, k: int) -> list[int]:
    return [int(i) for i in np.argsort(-(w.vectors @ np.array(w.query, dtype=np.float32)))[:k]]


def _search(w: World, id_key: str, threshold: float, count: int) -> Callable[[Any], Any]:
    def call(conn: Any) -> Any:
        rows = rpc(
            conn,
            "search_embeddings",
            {
                "query_embedding": w.query,
                "p_domain_id": getattr(w, id_key),
                "match_threshold": threshold,
                "match_count": count,
            },
        )
        assert rows, "vector search returned nothing"
        assert {"chunk_text", "url", "title", "similarity", "metadata", "page_id"} <= set(rows[0])
        assert [r["metadata"]["n"] for r in rows] == _exact_ids(w, count)[: len(rows)]
        assert rows[0]["metadata"]["n"] == 7 and rows[0]["url"].startswith(f"https://{DOMAIN}/")
        assert all(r["similarity"] >= threshold for r in rows)
        return rows

    return call


def _keyword(w: World, id_key: str, keyword: str, limit: int) -> Callable[[Any], Any]:
    def call(conn: Any) -> Any:
        rows = rpc(
            conn,
            "search_pages_by_keyword",
            {"p_domain_id": getattr(w, id_key), "p_keyword": keyword, "p_limit": limit},
        )
        assert set(rows[0]) == {"url", "title", "content", "domain_id"}
        assert [r["title"] for r in rows] == ["Hydraulic pump H-200"]
        assert rows[0]["domain_id"] == w.domain_id
        return rows

    return call


def _one(
    table: str, columns: str, filters: list[Filter], expect: dict[str, Any] | None = None, **kw: Any
) -> Callable[[Any], Any]:
    def call(conn: Any) -> Any:
        row = select(conn, table, columns, filters, single=True, **kw)
        assert set(row) == {c.strip() for c in columns.split(",")}
        for key, value in (expect or {}).items():
            assert row[key] == value, key
        return row

    return call


def _calls(w: World) -> dict[str, Callable[[Any], Any]]:
    """Each call as the app makes it, keyed by its source file and line."""

    def eq(column: str, value: Any) -> Filter:
        return Filter(column, "eq", value)

    like = Filter(
        "domain", "or", [("domain", "ilike", f"%{DOMAIN}%"), ("domain", "ilike", f"%www.{DOMAIN}%")]
    )
    widget = {"shopify_shop": "shop.test", "app_id": w.app_id, "id": w.config_id}
    return {
        "chat/conversation-domain-operations.ts:22": _one(
            "domains", "id", [eq("domain", DOMAIN)], {"id": w.domain_id}
        ),
        "chat/conversation-domain-operations.ts:44": _one(
            "domains", "domain", [eq("id", w.domain_id)], {"domain": DOMAIN}
        ),
        "chat/conversation-manager.ts:35": lambda c: insert(
            c,
            "conversations",
            {
                "session_id": "s2",
                "domain_id": w.domain_id,
                "metadata": {"session_metadata": {"page": "/"}},
            },
        ),
        "chat/conversation-manager.ts:54": _one(
            "conversations", "id", [eq("id", w.conversation_id)]
        ),
        "chat/conversation-manager.ts:62": lambda c: insert(
            c,
            "conversations",
            {
                "id": "00000000-0000-4000-8000-000000000021",
                "session_id": "s3",
                "domain_id": w.domain_id,
                "metadata": {},
            },
        ),
        "chat/conversation-manager.ts:96": _one(
            "conversations", "metadata", [eq("id", w.conversation_id)]
        ),
        "chat/conversation-manager.ts:110": lambda c: update(
            c,
            "conversations",
            {"metadata": {"session_metadata": {}}},
            [eq("id", w.conversation_id)],
        ),
        "chat/conversation-manager.ts:128": lambda c: insert(
            c,
            "messages",
            {"conversation_id": w.conversation_id, "role": "user", "content": "hello"},
        ),
        "chat/conversation-manager.ts:169": lambda c: insert(
            c,
            "messages",
            {
                "conversation_id": w.conversation_id,
                "role": "assistant",
                "content": "Hi!",
                "metadata": {"sources": []},
            },
            returning="id, metadata",
        ),
        "chat/conversation-manager.ts:198": lambda c: select(
            c,
            "messages",
            "role, content",
            [eq("conversation_id", w.conversation_id)],
            order=("created_at", True),
            limit=20,
        ),
        "chat/conversation-widget-config.ts:81": _one(
            "domains",
            "customer_config_id",
            [eq("id", w.domain_id)],
            {"customer_config_id": w.config_id},
        ),
        "chat/conversation-widget-config.ts:126": _one(
            "domains",
            "domain, name, description, customer_config_id",
            [eq("id", w.domain_id)],
            {"name": "Shop", "customer_config_id": w.config_id},
        ),
        "chat/conversation-widget-config.ts:146": _one(
            "customer_configs",
            "business_name, business_description",
            [eq("id", w.config_id)],
            {"business_name": "Shop Ltd"},
        ),
        "chat/get-available-tools.ts:29": _one(
            "customer_configs",
            "woocommerce_url, shopify_shop",
            [eq("domain", DOMAIN)],
            {"shopify_shop": "shop.test", "woocommerce_url": "https://shop.test"},
        ),
        "chat/parallel-operations.ts:106": _one(
            "conversations", "metadata", [eq("id", w.conversation_id)]
        ),
        "chat/response-handler.ts:65": lambda c: update(
            c, "conversations", {"metadata": {"entities": []}}, [eq("id", w.conversation_id)]
        ),
        "chat/woocommerce-metrics.ts:44": _one(
            "customer_configs", "id", [eq("domain", DOMAIN)], {"id": w.config_id}
        ),
        "embeddings/enhanced-search.ts:52": _one(
            "domains", "id", [eq("domain", DOMAIN)], {"id": w.domain_id}
        ),
        "embeddings/enhanced-search.ts:85": _search(w, "domain_id", -1.0, 10),
        "embeddings/fallback-search.ts:32": _keyword(w, "config_id", "hydraulic", 100),
        "embeddings/keyword-search.ts:37": _keyword(w, "config_id", "H-200", 200),
        "embeddings/search-orchestrator.ts:108": _one(
            "customer_configs",
            "id, domain",
            [like, eq("active", True)],
            {"id": w.config_id},
            limit=1,
        ),
        "embeddings/search-orchestrator.ts:239": _one(
            "customer_configs", "id", [like, eq("active", True)], {"id": w.config_id}, limit=1
        ),
        # the app's domain cache holds customer_configs.id, and passes it as p_domain_id
        "embeddings/vector-search.ts:35": _search(w, "config_id", 0.2, 10),
        "domain-cache.ts:96": _one(
            "customer_configs",
            "id",
            [eq("domain", DOMAIN), eq("active", True)],
            {"id": w.config_id},
        ),
        "widget-config/config-loader.ts:44": _one(
            "customer_configs", WIDGET_COLUMNS, [eq("app_id", w.app_id), eq("active", True)], widget
        ),
        "widget-config/config-loader.ts:79": _one(
            "domains",
            "customer_config_id",
            [eq("domain_name", DOMAIN)],
            {"customer_config_id": w.config_id},
        ),
        "widget-config/config-loader.ts:86": _one(
            "customer_configs", WIDGET_COLUMNS, [eq("domain", DOMAIN), eq("active", True)], widget
        ),
        "full-page-retrieval.ts:35": _one(
            "scraped_pages", "url, title", [eq("id", w.page_id)], {"title": "Hydraulic pump H-200"}
        ),
        "full-page-retrieval.ts:47": lambda c: select(
            c,
            "page_embeddings",
            "chunk_text, metadata, created_at",
            [eq("page_id", w.page_id)],
            order=("created_at", True),
        ),
        "full-page-retrieval.ts:118": _one(
            "customer_configs", "id", [eq("domain", DOMAIN)], {"id": w.config_id}
        ),
        "full-page-retrieval.ts:137": _search(w, "config_id", 0.3, 3),
        "search/exact-match-search.ts:114": lambda c: select(
            c,
            "scraped_pages",
            "id, url, title, content, metadata",
            [Filter("content", "ilike", "%SKU-4471%"), eq("domain_id", w.domain_id)],
            limit=10,
        ),
        "search/exact-match-search.ts:184": lambda c: select(
            c,
            "structured_extractions",
            "extracted_data, domain_id, url",
            [eq("extract_type", "product"), eq("domain_id", w.domain_id)],
            limit=5,
        ),
        "woocommerce-dynamic.ts:178": _one(
            "customer_configs",
            "woocommerce_url",
            [eq("domain", DOMAIN)],
            {"woocommerce_url": "https://shop.test"},
        ),
    }


CALL_SITES = sorted(_calls(World(*[None] * 7)).keys())


def test_the_replay_lists_35_calls() -> None:
    assert len(CALL_SITES) == 35


@pytest.mark.parametrize("site", CALL_SITES)
def test_chat_app_call_succeeds_as_service_role(db, world, site: str) -> None:
    with as_client(db, "service_role") as conn:
        result = _calls(world)[site](conn)
    assert result not in (None, [], 0), f"{site} found nothing"


def test_search_threshold_is_honoured(db, world) -> None:
    """Only chunks at or above match_threshold; the query is near chunk 7 (similarity ~0.45),
    the other 39 random chunks are near 0."""
    query = np.array(world.query, dtype=np.float32)
    similarity = world.vectors @ query

    def found(threshold: float) -> list[int]:
        with as_client(db, "service_role") as conn:
            return [
                r["metadata"]["n"]
                for r in rpc(
                    conn,
                    "search_embeddings",
                    {
                        "query_embedding": world.query,
                        "p_domain_id": world.config_id,
                        "match_threshold": threshold,
                        "match_count": 40,
                    },
                )
            ]

    assert found(0.3) == [7]
    assert len(found(-1)) == 40
    assert sorted(found(0.0)) == sorted(int(i) for i in np.flatnonzero(similarity >= 0))


@pytest.mark.parametrize(
    "keyword,titles",
    [
        ("pump", ["Hydraulic pump H-200"]),  # title and text
        ("FAMILY", ["About us"]),  # case-insensitive, text only
        ("/p/2", ["About us"]),  # the URL
        ("%", []),  # literal, not a wildcard
        ("  ", []),
    ],
)
def test_keyword_search_matches(db, world, keyword: str, titles: list[str]) -> None:
    with as_client(db, "service_role") as conn:
        rows = rpc(
            conn,
            "search_pages_by_keyword",
            {"p_domain_id": world.domain_id, "p_keyword": keyword, "p_limit": 10},
        )
    assert [r["title"] for r in rows] == titles


def test_keyword_search_uses_the_trigram_indexes(db, world) -> None:
    """Each arm of the keyword match has a trigram index, so the match is one BitmapOr (one arm
    without an index would leave only a scan of the domain's rows)."""
    with db.transaction(force_rollback=True):
        db.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            r["QUERY PLAN"]
            for r in db.execute(
                "EXPLAIN SELECT url FROM website_content WHERE title ILIKE '%pump%' "
                "OR content ILIKE '%pump%' OR url ILIKE '%pump%'"
            )
        )
    assert "BitmapOr" in plan
    for index in (
        "idx_website_content_title_trgm",
        "idx_website_content_content_trgm",
        "idx_website_content_url_trgm",
    ):
        assert index in plan


@pytest.mark.parametrize("unknown", ["00000000-0000-4000-8000-000000000099", None])
def test_an_unknown_domain_id_finds_nothing(db, world, unknown) -> None:
    with as_client(db, "service_role") as conn:
        assert (
            rpc(
                conn,
                "search_embeddings",
                {
                    "query_embedding": world.query,
                    "p_domain_id": unknown,
                    "match_threshold": -1,
                    "match_count": 5,
                },
            )
            == []
        )
        assert (
            rpc(
                conn,
                "search_pages_by_keyword",
                {"p_domain_id": unknown, "p_keyword": "pump", "p_limit": 5},
            )
            == []
        )


def test_tenants_see_only_their_own_through_the_app_functions(db, world) -> None:
    stranger = db.execute(
        "INSERT INTO auth.users (email) VALUES ('x@auth.test') RETURNING id"
    ).fetchone()["id"]
    owner = db.execute("SELECT user_id FROM domains WHERE id = %s", (world.domain_id,)).fetchone()
    args = {
        "query_embedding": world.query,
        "p_domain_id": world.config_id,
        "match_threshold": -1,
        "match_count": 5,
    }
    with as_client(db, "authenticated", sub=stranger) as conn:
        assert rpc(conn, "search_embeddings", args) == []
        assert (
            rpc(
                conn,
                "search_pages_by_keyword",
                {"p_domain_id": world.domain_id, "p_keyword": "pump", "p_limit": 5},
            )
            == []
        )
    with as_client(db, "authenticated", sub=owner["user_id"]) as conn:
        assert len(rpc(conn, "search_embeddings", args)) == 5
    with as_client(db, "anon") as conn, pytest.raises(Exception, match="permission denied"):
        rpc(conn, "search_embeddings", args)


# ------------------------------------------------------------------ PostgREST's resolution


@pytest.mark.parametrize(
    "keys,chosen",
    [
        ({"query_embedding", "p_domain_id", "match_threshold", "match_count"}, "p_domain_id"),
        ({"query_embedding", "p_domain_id"}, "p_domain_id"),
        ({"query_embedding", "domain", "match_count", "model"}, "domain"),  # the project's own
        ({"query_embedding", "domain"}, "domain"),
        ({"query_embedding", "match_count"}, "PGRST202"),  # neither: no domain
        ({"query_embedding", "domain", "p_domain_id"}, "PGRST202"),
        ({"query_embedding", "domain_filter", "match_threshold", "match_count"}, "PGRST202"),
    ],
)
def test_search_embeddings_overloads_are_never_ambiguous(db, keys: set[str], chosen: str) -> None:
    candidates = routines(db, "search_embeddings")
    assert len(candidates) == 2
    try:
        found = find_routine(candidates, keys, "search_embeddings")
    except PostgrestError as error:
        assert error.code == chosen
        return
    assert chosen in {n for n, _, _ in found.params}


def test_no_project_function_is_ambiguous_for_any_key_set_it_accepts(db) -> None:
    """For every function in public and every key set one of its overloads accepts (its
    required parameters plus any of its optional ones), exactly one overload matches."""

    names = [
        r["proname"]
        for r in db.execute(
            "SELECT DISTINCT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace "
            "AND prokind = 'f'"
        )
    ]
    for name in names:
        candidates = routines(db, name)
        for routine in candidates:
            if routine.unnamed:
                continue
            required = {n for n, _, req in routine.params if req}
            optional = [n for n, _, req in routine.params if not req]
            for extra in chain.from_iterable(
                combinations(optional, k) for k in range(len(optional) + 1)
            ):
                keys = required | set(extra)
                assert find_routine(candidates, keys, name) == routine, (name, keys)


def test_positional_calls_of_the_projects_search_embeddings_still_resolve(db, world) -> None:
    """`search_embeddings(vector, 'domain', 10, 'model')` by position (workers/search.py, psql):
    the text signature, not the app's uuid one (0075 orders its parameters for that)."""
    rows = db.execute(
        "SELECT metadata FROM search_embeddings(%s, %s, %s, %s)",
        (np.array(world.query, dtype=np.float32), DOMAIN, 3, "m1"),
    ).fetchall()
    assert [r["metadata"]["n"] for r in rows] == _exact_ids(world, 3)
    rows = db.execute(
        "SELECT count(*) AS n FROM search_embeddings(%s::vector, 'shop.test', 10, 'm1')",
        (str(world.query),),
    ).fetchone()
    assert rows["n"] == 10
