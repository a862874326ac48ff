"""The live database against the seed document itself (docs/seed/SUPABASE_SCHEMA.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

SEED = Path(__file__).resolve().parents[2] / "docs" / "seed" / "SUPABASE_SCHEMA.md"

# Columns the seed does not list but docs/schema.md documents as extensions.
DOCUMENTED_EXTENSIONS = {
    "domains": {
        "max_pages",
        "max_depth",
        "render_js",
        "config",
        # docs/schema.md#the-chat-apps-read-path (0075)
        "domain_name",
        "customer_config_id",
        "knowledge_rules",
    },
    # docs/security.md: pipeline-only job origin; a config's domain reference
    "content_refresh_jobs": {"origin"},
    "customer_configs": {"domain_id", "shopify_shop", "app_id"},
    "page_embeddings": {"domain_id", "chunk_tsv", "embedding_bq"},
}
# docs/security.md#uniqueness: unique per tenant rather than globally, so a value never leaks.
UNIQUE_PER_TENANT = {
    ("customers", "email"): ("auth_user_id", "email"),
    ("businesses", "slug"): ("owner_user_id", "slug"),
}

_TYPES = {
    "UUID": "uuid",
    "TEXT": "text",
    "TEXT[]": "text[]",
    "TIMESTAMPTZ": "timestamp with time zone",
    "JSONB": "jsonb",
    "INTEGER": "integer",
    "BOOLEAN": "boolean",
    "FLOAT": "double precision",
    "REAL": "real",
    "VECTOR(1536)": "vector(1536)",
    "DECIMAL(10,4)": "numeric(10,4)",
}
_UUID_DEFAULTS = {"uuid_generate_v4()", "gen_random_uuid()"}


@dataclass(frozen=True)
class SeedColumn:
    table: str
    name: str
    type: str
    not_null: bool
    default: str | None
    unique: bool
    references: tuple[str, str] | None  # (table, column)
    cascade: bool


def parse_columns(text: str) -> dict[str, dict[str, SeedColumn]]:
    tables: dict[str, dict[str, SeedColumn]] = {}
    for table, block in re.findall(
        r"^#### `(\w+)`\s*\n```sql\n(.*?)```", text, re.DOTALL | re.MULTILINE
    ):
        columns = {}
        for line in block.splitlines():
            line = line.split("--", 1)[0].strip()
            if not line:
                continue
            name, rest = line.split(None, 1)
            type_match = re.match(r"(\w+(?:\(\d+(?:,\d+)?\))?(?:\[\])?)\s*(.*)", rest)
            assert type_match, line
            col_type, tail = type_match.group(1).upper(), type_match.group(2)
            default = re.search(r"\bDEFAULT\s+(.+)$", tail)
            ref = re.search(r"REFERENCES\s+([\w.]+)\((\w+)\)", tail)
            columns[name] = SeedColumn(
                table,
                name,
                _TYPES[col_type],
                not_null="NOT NULL" in tail or "PRIMARY KEY" in tail,
                default=default.group(1).strip() if default else None,
                unique="UNIQUE" in tail,
                references=(ref.group(1), ref.group(2)) if ref else None,
                cascade="ON DELETE CASCADE" in tail,
            )
        tables[table] = columns
    return tables


def parse_table_list(text: str) -> list[str]:
    section = text.split("## Complete Table List", 1)[1].split("## Detailed Schema", 1)[0]
    return re.findall(r"^\| `(\w+)` \|", section, re.MULTILINE)


def parse_relationships(text: str) -> list[tuple[str, str, str]]:
    """(parent, child, child column) from the relationship map."""
    block = text.split("### Relationship Map", 1)[1].split("```", 2)[1]
    edges, parent = [], None
    for line in block.splitlines():
        if re.match(r"^[\w.]+$", line.strip()) and not line.startswith(" "):
            parent = line.strip()
        elif m := re.search(r"── (\w+) \(via (\w+)\)", line):
            edges.append((parent, m.group(1), m.group(2)))
    return edges


SEED_TEXT = SEED.read_text(encoding="utf-8")
SEED_COLUMNS = parse_columns(SEED_TEXT)
SEED_TABLES = parse_table_list(SEED_TEXT)
SEED_EDGES = parse_relationships(SEED_TEXT)
ALL_SEED_COLUMNS = [c for cols in SEED_COLUMNS.values() for c in cols.values()]


def test_seed_document_parsed() -> None:
    # Guards the parser itself: the seed lists 24 tables, 12 of them column by column.
    assert len(SEED_TABLES) == 24 and len(set(SEED_TABLES)) == 24
    assert len(SEED_COLUMNS) == 12
    assert len(ALL_SEED_COLUMNS) == 135
    assert len(SEED_EDGES) == 17


def _live_columns(db, table: str) -> dict[str, dict]:
    rows = db.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull, "
        "       pg_get_expr(d.adbin, d.adrelid) AS default "
        "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = "
        "a.attnum "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
        (f"public.{table}",),
    ).fetchall()
    return {r["attname"]: r for r in rows}


def test_all_seed_tables_exist(db) -> None:
    live = {
        r["tablename"]
        for r in db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    }
    assert set(SEED_TABLES) <= live


@pytest.mark.parametrize("column", ALL_SEED_COLUMNS, ids=lambda c: f"{c.table}.{c.name}")
def test_column_matches_seed(db, column: SeedColumn) -> None:
    live = _live_columns(db, column.table).get(column.name)
    assert live is not None, f"{column.table}.{column.name} missing"
    assert live["type"] == column.type
    assert live["attnotnull"] == column.not_null
    if column.default is None:
        assert live["default"] is None
    elif column.default.lower() in _UUID_DEFAULTS | {"now()"}:
        expected = "gen_random_uuid()" if column.default.lower() in _UUID_DEFAULTS else "now()"
        assert live["default"] == expected
    else:
        # Compare values, not spellings ('{}' vs '{}'::text[]): evaluate both in Postgres.
        same = db.execute(
            f"SELECT ({column.default})::{column.type} IS NOT DISTINCT FROM "
            f"({live['default']})::{column.type} AS same"
        ).fetchone()["same"]
        assert same, f"default {live['default']!r} != seed {column.default!r}"


@pytest.mark.parametrize("table", sorted(SEED_COLUMNS))
def test_no_undocumented_columns(db, table: str) -> None:
    extra = set(_live_columns(db, table)) - set(SEED_COLUMNS[table])
    assert extra == DOCUMENTED_EXTENSIONS.get(table, set())


def _foreign_keys(db) -> set[tuple[str, str, str, str, str]]:
    """(child table, child column, parent schema.table, parent column, on delete)."""
    rows = db.execute(
        "SELECT c.conrelid::regclass::text AS child, a.attname AS col, "
        "       pn.nspname || '.' || pc.relname AS parent, pa.attname AS pcol, c.confdeltype "
        "FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "JOIN pg_class pc ON pc.oid = c.confrelid JOIN pg_namespace pn ON pn.oid = pc.relnamespace "
        "JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1] "
        "WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace"
    ).fetchall()
    return {(r["child"], r["col"], r["parent"], r["pcol"], r["confdeltype"]) for r in rows}


@pytest.mark.parametrize("parent,child,column", SEED_EDGES, ids=lambda v: str(v))
def test_relationship_map_foreign_key_cascades(db, parent: str, child: str, column: str) -> None:
    qualified = parent if "." in parent else f"public.{parent}"
    assert (child, column, qualified, "id", "c") in _foreign_keys(db)


def test_column_level_references_cascade(db) -> None:
    fks = _foreign_keys(db)
    refs = [c for c in ALL_SEED_COLUMNS if c.references]
    assert refs
    for c in refs:
        table, col = c.references
        qualified = table if "." in table else f"public.{table}"
        assert c.cascade
        assert (c.table, c.name, qualified, col, "c") in fks, c


def test_every_foreign_key_cascades(db) -> None:
    fks = _foreign_keys(db)
    assert len(fks) >= 30
    assert {fk for fk in fks if fk[4] != "c"} == set()


def _unique_sets(db, table: str) -> set[tuple[str, ...]]:
    rows = db.execute(
        "SELECT array_agg(a.attname ORDER BY k.ord) AS cols FROM pg_constraint c "
        "CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
        "WHERE c.conrelid = %s::regclass AND c.contype IN ('u', 'p') GROUP BY c.oid",
        (f"public.{table}",),
    ).fetchall()
    return {tuple(r["cols"]) for r in rows}


@pytest.mark.parametrize(
    "table,columns",
    [
        ("scraped_pages", ("domain_id", "url")),
        ("website_content", ("domain_id", "url")),
        ("content_hashes", ("domain_id", "content_hash")),
        ("ai_optimized_content", ("domain_id", "url")),
        ("page_content_references", ("domain_id", "source_url", "target_url")),
        ("domain_patterns", ("domain_id", "pattern_type")),
        ("business_usage", ("domain_id", "usage_date", "usage_type", "model")),
        ("business_configs", ("business_id",)),
        ("customer_data_cache", ("customer_id", "cache_key")),
    ],
)
def test_upsert_unique_constraints(db, table: str, columns: tuple[str, ...]) -> None:
    assert columns in _unique_sets(db, table)


@pytest.mark.parametrize(
    "column", [c for c in ALL_SEED_COLUMNS if c.unique], ids=lambda c: f"{c.table}.{c.name}"
)
def test_seed_unique_columns(db, column: SeedColumn) -> None:
    expected = UNIQUE_PER_TENANT.get((column.table, column.name), (column.name,))
    assert expected in _unique_sets(db, column.table)
