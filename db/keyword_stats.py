"""Each domain's own stop words for hybrid search's keyword side (migration 0125;
docs/workers.md#retrieval-quality).

hybrid_search leaves out of a question the words found in more than 10 % of the domain's chunks
(unless the question has nothing else). Those words are counted over the domain's own chunks by
`refresh_domain_keyword_stats` and kept in `domain_keyword_stats`, so no tenant's rows change
which of another tenant's words count, and a tenant's JWT reads the same list as the service
role. They follow the data as the per-domain vector indexes do (db/vector_indexes.py): the embed
job recounts its domain after every job (`workers/search.py`), and the scheduler's maintenance
pass (`interfaces/index_schedule.py`) recounts every domain whose number of chunks differs from
the number counted, whoever wrote or removed them (a bulk COPY, `omni forget`, another
application). A rewrite that keeps a domain's number of chunks, by a writer other than the embed
job, is seen at the domain's next embed job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from uuid import UUID

from db.connection import Conn, one
from db.vector_indexes import domain_rows


def stale(counted: Mapping[UUID, int], current: Mapping[UUID, int]) -> list[UUID]:
    """The domains to recount (pure): chunks and no count, a count of another number of chunks,
    or a count and no chunks any more (the recount removes its row). In id order."""
    return sorted(
        (d for d in counted.keys() | current.keys() if counted.get(d) != current.get(d)), key=str
    )


def counted(conn: Conn, domain_ids: Iterable[UUID] | None = None) -> dict[UUID, int]:
    """Domain -> the number of chunks its stored stop words were counted over."""
    if domain_ids is None:
        rows = conn.execute("SELECT domain_id, chunks FROM public.domain_keyword_stats")
    else:
        rows = conn.execute(
            "SELECT domain_id, chunks FROM public.domain_keyword_stats WHERE domain_id = ANY(%s)",
            (list(domain_ids),),
        )
    return {r["domain_id"]: r["chunks"] for r in rows}


def refresh(conn: Conn, domain_id: UUID) -> int:
    """Recount one domain's stop words now (one statement); returns its chunks. The caller
    commits."""
    return int(
        one(conn.execute("SELECT public.refresh_domain_keyword_stats(%s) AS chunks", (domain_id,)))[
            "chunks"
        ]
    )


def sync(conn: Conn, domain_ids: Iterable[UUID] | None = None) -> list[UUID]:
    """Recount the stale domains (all, or only `domain_ids`); returns them. On an autocommit
    connection each recount is its own transaction; otherwise each is committed in turn."""
    ids = None if domain_ids is None else [UUID(str(d)) for d in domain_ids]
    todo = stale(counted(conn, ids), domain_rows(conn, ids))
    for domain_id in todo:
        refresh(conn, domain_id)
        if not conn.autocommit:
            conn.commit()
    return todo
