"""The scheduler's housekeeping pass (docs/privacy.md): expired `customer_data_cache` rows
purged; curated answers written by other clients (the chat application) synced into the
knowledge; privacy requests filed by other clients given their job. `Scheduler.run_once` calls
`housekeeping` after the crawl and catalogue passes."""

from __future__ import annotations

from typing import Any

from db import jobs, knowledge, privacy

PURGE_BATCH = 10_000

# Domains whose curated pages differ from their training_data rows (new, edited, deleted).
KNOWLEDGE_DUE = """
SELECT d.id, d.domain FROM domains d
 WHERE d.active IS NOT FALSE AND (
   EXISTS (SELECT 1 FROM training_data t
            LEFT JOIN scraped_pages p
                   ON p.domain_id = t.domain_id AND p.url = 'curated:' || t.id::text
            WHERE t.domain_id = d.id AND t.type = ANY(%(types)s)
              AND COALESCE(t.status, 'pending') = ANY(%(searched)s)
              AND (p.id IS NULL OR t.updated_at > p.scraped_at))
   OR EXISTS (SELECT 1 FROM scraped_pages p WHERE p.domain_id = d.id AND p.url LIKE 'curated:%%'
               AND NOT EXISTS (SELECT 1 FROM training_data t WHERE p.url = 'curated:' || t.id::text
                                 AND COALESCE(t.status, 'pending') = ANY(%(searched)s))))
 ORDER BY d.domain
"""

# Automated requests (export, erasure) without a job: filed by another client.
PRIVACY_UNQUEUED = """
SELECT r.id, r.domain_id FROM privacy_requests r
 WHERE r.status = 'pending' AND r.domain_id IS NOT NULL AND r.request_type = ANY(%(types)s)
   AND NOT EXISTS (SELECT 1 FROM content_refresh_jobs j WHERE j.job_type = 'privacy'
                     AND j.origin = 'pipeline' AND j.metadata->>'privacy_request_id' = r.id::text)
 ORDER BY r.created_at LIMIT 100
"""


def purge_expired_cache(conn: Any) -> int:
    """Expired customer_data_cache rows deleted, in batches (each its own commit)."""
    total = 0
    while True:
        n = conn.execute(
            "DELETE FROM customer_data_cache WHERE id IN (SELECT id FROM customer_data_cache "
            "WHERE expires_at < now() LIMIT %s)",
            (PURGE_BATCH,),
        ).rowcount
        conn.commit()
        total += n
        if n < PURGE_BATCH:
            return total


def housekeeping(scheduler: Any, result: Any) -> None:
    conn = scheduler.conn
    result.cache_purged = purge_expired_cache(conn)
    for row in conn.execute(
        KNOWLEDGE_DUE,
        {"types": list(knowledge.TYPES), "searched": list(knowledge.SEARCHED_STATUSES)},
    ).fetchall():
        try:
            job_id, _ = knowledge.sync_job(conn, row["id"])
            conn.commit()
        except Exception as exc:  # noqa: BLE001 - recorded like the crawl pass does
            conn.rollback()
            result.errors.append(f"{row['domain']}: curated answers: {exc}")
            continue
        if job_id is not None:
            scheduler._send(job_id, jobs.JobType.EMBED)
            result.knowledge_syncs.append(row["domain"])
    automated = [t for t, work in privacy.WORK_FOR_TYPE.items() if work != privacy.Work.MANUAL]
    for row in conn.execute(PRIVACY_UNQUEUED, {"types": automated}).fetchall():
        job_id = jobs.create(
            conn,
            row["domain_id"],
            jobs.JobType.PRIVACY,
            {"privacy_request_id": str(row["id"]), "trigger": "scheduler"},
        )
        conn.commit()
        scheduler._send(job_id, jobs.JobType.PRIVACY)
        result.privacy_jobs.append(str(row["id"]))
    conn.commit()
