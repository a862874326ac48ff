"""A domain's learned site template (content/template.py), kept in `domain_patterns` as one row
per domain (`pattern_type` = the template's)."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from content.template import PATTERN_TYPE, SiteTemplate
from db.connection import Conn


def load(conn: Conn, domain_id: str) -> SiteTemplate:
    row = conn.execute(
        "SELECT selectors FROM domain_patterns WHERE domain_id = %s AND pattern_type = %s",
        (domain_id, PATTERN_TYPE),
    ).fetchone()
    return SiteTemplate.from_json(row["selectors"] if row else None)


def save(conn: Conn, domain_id: str, template: SiteTemplate) -> None:
    """Upsert; success_count = pages observed, confidence = share of blocks that are template."""
    data = template.to_json()
    share = (
        sum(1 for k in data["blocks"] if template.is_template(k)) / len(data["blocks"])
        if data["blocks"]
        else 0.0
    )
    conn.execute(
        "INSERT INTO domain_patterns (domain_id, pattern_type, selectors, success_count, "
        "  confidence, last_used_at) VALUES (%s, %s, %s, %s, %s, NOW()) "
        "ON CONFLICT (domain_id, pattern_type) DO UPDATE SET selectors = EXCLUDED.selectors, "
        "  success_count = EXCLUDED.success_count, confidence = EXCLUDED.confidence, "
        "  last_used_at = NOW(), updated_at = NOW()",
        (domain_id, PATTERN_TYPE, Jsonb(data), template.pages, share),
    )
