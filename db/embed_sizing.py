"""How much one embed run takes on: sized from the embedding throughput measured on this
deployment, so that no run comes near the actor's time limit (docs/workers.md#embed-job-sizes).

A run's work is estimated before it starts from its pages' stored text (what the embed job
chunks, `workers/embed_job.page_source`), at `CHARS_PER_TOKEN`. The budget is the tokens the
measured rate embeds in `TIME_SHARE` of the time limit. The rate is that of the last completed
embed runs of the same model (tokens over the run's wall time, so chunking, reading and writing
count too), read only from jobs the project made (`origin = 'pipeline'`, docs/security.md): no
row a tenant writes sizes another tenant's runs. Before any run is measured a prior for the
backend is used. The worker applies it twice (`workers/embed_job.run_embed_merged`): a job
bigger than the budget keeps the first part of its pages and hands the rest to new jobs, and a
merged run takes siblings only while the total stays within it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from core.packing import consecutive_runs
from db.connection import Conn

# cl100k tokens per character of English text are ~1/4; the chunks' overlap and the title and
# section path embedded with each chunk add about a quarter (workers/embed_job.py).
CHARS_PER_TOKEN = 3.2
TIME_SHARE = 0.25  # of the actor's time limit: room for a slower machine, retries, a busy API
RECENT_RUNS = 20
# Before anything is measured: the offline model on a 2-core machine embedded 1,346 tokens/s
# (issue 25); an API embeds far faster, and its own limits bound a run (request_plan.py).
PRIOR_TOKENS_PER_S = {"local": 1_000.0}
PRIOR_API_TOKENS_PER_S = 20_000.0

# jsonb_typeof first: a value is cast only when it is a number (a forged string never errors).
_NUMBER = "CASE WHEN jsonb_typeof(metadata->'{0}') = 'number' THEN (metadata->>'{0}')::float END"
MEASURED_RATE_SQL = (
    "SELECT sum(tokens) / NULLIF(sum(seconds), 0) AS rate, count(*) AS runs FROM ("
    f"  SELECT {_NUMBER.format('tokens')} AS tokens, "
    f"  {_NUMBER.format('duration_seconds')} AS seconds "
    "  FROM content_refresh_jobs WHERE status = 'completed' AND job_type = 'embed' "
    "  AND origin = 'pipeline' AND metadata->>'embedding_model' = %s "
    f"  AND {_NUMBER.format('tokens')} > 0 AND {_NUMBER.format('duration_seconds')} > 0 "
    "  ORDER BY created_at DESC LIMIT %s) recent"
)
# What the embed job chunks: the main content's Markdown where stored, else the text.
PAGE_CHARS_SQL = (
    "SELECT id::text AS id, length(COALESCE(title, '')) "
    "  + length(COALESCE(NULLIF(metadata->>'markdown', ''), content, '')) AS chars "
    "FROM scraped_pages WHERE domain_id = %s AND id = ANY(%s::uuid[])"
)


def prior_rate(backend: str) -> float:
    return PRIOR_TOKENS_PER_S.get(backend, PRIOR_API_TOKENS_PER_S)


def token_budget(tokens_per_s: float, time_limit_s: float, share: float = TIME_SHARE) -> int:
    """Tokens one run may embed: what `tokens_per_s` embeds in `share` of the time limit."""
    return max(1, int(tokens_per_s * time_limit_s * share))


def estimated_tokens(chars: int) -> int:
    return math.ceil(chars / CHARS_PER_TOKEN)


def split_by_tokens(
    ids: Sequence[str], tokens: Mapping[str, int], budget: int, max_pages: int
) -> list[list[str]]:
    """`ids` in order, cut into runs of at most `max_pages` pages and `budget` estimated tokens;
    a page bigger than the budget is a run of its own."""
    unique = list(dict.fromkeys(ids))
    runs = consecutive_runs([tokens.get(p, 0) for p in unique], max_pages, budget)
    return [[unique[i] for i in run] for run in runs]


def take_within(
    groups: Iterable[tuple[Any, Sequence[str]]],
    room_pages: int,
    room_tokens: int,
    tokens: Mapping[str, int],
) -> list[Any]:
    """The keys of the groups (in order) that fit together in the room left: each group joins
    if its pages and estimated tokens still fit, else it is left for a run of its own."""
    taken: list[Any] = []
    for key, page_ids in groups:
        cost = sum(tokens.get(p, 0) for p in page_ids)
        if len(page_ids) <= room_pages and cost <= room_tokens:
            taken.append(key)
            room_pages -= len(page_ids)
            room_tokens -= cost
    return taken


def measured_rate(conn: Conn, model: str) -> float | None:
    """Tokens per second of the last completed embed runs of `model`, or None if none."""
    row = conn.execute(MEASURED_RATE_SQL, (model, RECENT_RUNS)).fetchone()
    return float(row["rate"]) if row and row["rate"] else None


def page_tokens(conn: Conn, domain_id: Any, page_ids: Iterable[str]) -> dict[str, int]:
    """Estimated tokens of each of the domain's pages (pages not found, or ids that are not
    page ids, cost nothing: the embed job skips them)."""
    valid = []
    for page_id in page_ids:
        try:
            valid.append(str(UUID(str(page_id))))
        except ValueError:
            continue
    if not valid:
        return {}
    rows = conn.execute(PAGE_CHARS_SQL, (domain_id, valid)).fetchall()
    return {r["id"]: estimated_tokens(r["chars"] or 0) for r in rows}
