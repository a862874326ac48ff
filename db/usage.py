"""Token and cost accounting in `business_usage` (one row per domain, day, usage type, model)."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from db.connection import Conn


def add_usage(
    conn: Conn,
    domain_id: UUID | str,
    usage_type: str,
    model: str,
    *,
    tokens: int,
    requests: int,
    cost: float | Decimal = 0,
) -> None:
    """Add to today's counters (upsert; safe to call from many workers at once)."""
    conn.execute(
        "INSERT INTO business_usage (domain_id, business_id, usage_type, model, tokens, requests, "
        "cost) "
        "VALUES (%(domain_id)s, "
        "        (SELECT b.id FROM businesses b JOIN domains d ON d.user_id = b.owner_user_id "
        "         WHERE d.id = %(domain_id)s ORDER BY b.created_at LIMIT 1), "
        "        %(usage_type)s, %(model)s, %(tokens)s, %(requests)s, %(cost)s) "
        "ON CONFLICT (domain_id, usage_date, usage_type, model) DO UPDATE SET "
        "  tokens = business_usage.tokens + EXCLUDED.tokens, "
        "  requests = business_usage.requests + EXCLUDED.requests, "
        "  cost = business_usage.cost + EXCLUDED.cost",
        {
            "domain_id": domain_id,
            "usage_type": usage_type,
            "model": model,
            "tokens": tokens,
            "requests": requests,
            "cost": Decimal(str(cost)),
        },
    )
