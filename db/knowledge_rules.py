"""The domain's knowledge URL patterns applied to the pages already stored (`omni domain add
--include/--exclude`): each page's `metadata.page_kind` recomputed from its stored
`metadata.structure` and its URL (`core.knowledge.page_kind`), and the chunks of pages that are
no longer knowledge removed at once (search reads `page_embeddings`). Pages that became
knowledge again need embedding: the caller is told how many."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from core.knowledge import CONTENT, NOT_KNOWLEDGE, page_kind, rules_of
from db.connection import Conn


@dataclass(frozen=True)
class Reclassified:
    excluded: int = 0  # pages that left the knowledge base
    included: int = 0  # pages that are knowledge again (to embed)
    chunks_removed: int = 0


def apply_knowledge_rules(conn: Conn, domain_row: dict[str, Any]) -> Reclassified:
    include, exclude = rules_of(domain_row)
    changes: list[tuple[Any, str, str | None]] = []
    excluded = included = 0
    for page in conn.execute(
        "SELECT id, url, metadata->>'structure' AS structure, metadata->>'page_kind' AS kind "
        "FROM scraped_pages WHERE domain_id = %s AND status = 'scraped'",
        (domain_row["id"],),
    ):
        kind, reason = page_kind(page["structure"] or CONTENT, page["url"], include, exclude)
        before = page["kind"] or CONTENT
        if kind == before:
            continue
        changes.append((page["id"], kind, reason))
        if kind in NOT_KNOWLEDGE and before not in NOT_KNOWLEDGE:
            excluded += 1
        elif kind not in NOT_KNOWLEDGE and before in NOT_KNOWLEDGE:
            included += 1
    if not changes:
        return Reclassified()
    with conn.transaction():
        with conn.cursor() as cur:
            cur.executemany(
                "UPDATE scraped_pages SET metadata = (metadata - 'excluded_by') || %s WHERE id = "
                "%s",
                [
                    (Jsonb({"page_kind": kind, **({"excluded_by": why} if why else {})}), pid)
                    for pid, kind, why in changes
                ],
            )
        removed = conn.execute(
            "DELETE FROM page_embeddings WHERE page_id = ANY(%s)",
            ([pid for pid, kind, _ in changes if kind in NOT_KNOWLEDGE],),
        ).rowcount
    return Reclassified(excluded, included, removed)
