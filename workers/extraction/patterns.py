"""`domain_patterns`: what extraction learned about a domain (platform, selectors that worked)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from db.connection import Conn
from workers.extraction.extractor import PatternUpdate


def load(conn: Conn, domain_id: UUID | str) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        "SELECT pattern_type, platform, selectors, success_count, failure_count, confidence "
        "FROM domain_patterns WHERE domain_id = %s",
        (domain_id,),
    ).fetchall()
    return {r["pattern_type"]: dict(r) for r in rows}


def record(conn: Conn, domain_id: UUID | str, updates: list[PatternUpdate]) -> None:
    """Upsert each pattern; confidence is the Laplace-smoothed success rate."""
    for u in updates:
        success = 1 if u.success else 0
        failure = 1 if u.success is False else 0
        conn.execute(
            "INSERT INTO domain_patterns (domain_id, pattern_type, platform, selectors, "
            "success_count, "
            "  failure_count, confidence, last_used_at) "
            "VALUES (%(d)s, %(t)s, %(p)s, %(s)s, %(ok)s, %(bad)s, (%(ok)s + 1.0) / (%(ok)s + "
            "%(bad)s + 2), NOW()) "
            "ON CONFLICT (domain_id, pattern_type) DO UPDATE SET "
            # a page without any platform signal keeps the platform an earlier page revealed
            "  platform = CASE WHEN EXCLUDED.platform = 'generic' AND domain_patterns.platform IS "
            "NOT NULL "
            "             THEN domain_patterns.platform ELSE COALESCE(EXCLUDED.platform, "
            "domain_patterns.platform) END, "
            "  selectors = CASE WHEN %(ok)s = 1 OR domain_patterns.selectors = '{}'::jsonb "
            "              THEN EXCLUDED.selectors ELSE domain_patterns.selectors END, "
            "  success_count = domain_patterns.success_count + %(ok)s, "
            "  failure_count = domain_patterns.failure_count + %(bad)s, "
            "  confidence = (domain_patterns.success_count + %(ok)s + 1.0) "
            "             / (domain_patterns.success_count + domain_patterns.failure_count + "
            "%(ok)s + %(bad)s + 2), "
            "  last_used_at = NOW(), updated_at = NOW()",
            {
                "d": domain_id,
                "t": u.pattern_type,
                "p": u.platform,
                "s": Jsonb(u.selectors),
                "ok": success,
                "bad": failure,
            },
        )
