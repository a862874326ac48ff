"""`content_refresh_jobs`: every unit of work (a crawl, an extraction, an embedding batch...).

A job moves pending -> running -> completed | failed. Workers call `start()` when a message
arrives: it returns None for a job that already completed, so a redelivered message is a no-op.
`metadata` is merged, never replaced, so counters written by different steps survive.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

JOB_TYPES = ("crawl", "extract", "optimize", "embed", "full", "catalog")
STATUSES = ("pending", "running", "completed", "failed")


def create(conn: psycopg.Connection, domain_id: UUID | str, job_type: str,
           metadata: dict[str, Any] | None = None) -> UUID:
    if job_type not in JOB_TYPES:
        raise ValueError(f"unknown job type {job_type!r}; expected one of {', '.join(JOB_TYPES)}")
    row = conn.execute(
        "INSERT INTO content_refresh_jobs (domain_id, job_type, status, metadata) "
        "VALUES (%s, %s, 'pending', %s) RETURNING id",
        (domain_id, job_type, Jsonb(metadata or {})),
    ).fetchone()
    return _value(row, "id")


def get(conn: psycopg.Connection, job_id: UUID | str) -> dict[str, Any] | None:
    return conn.execute(
        "SELECT j.*, d.domain FROM content_refresh_jobs j LEFT JOIN domains d ON d.id = j.domain_id "
        "WHERE j.id = %s",
        (job_id,),
    ).fetchone()


def start(conn: psycopg.Connection, job_id: UUID | str) -> dict[str, Any] | None:
    """Mark a job running and return it; None if it is completed or does not exist."""
    return conn.execute(
        "UPDATE content_refresh_jobs SET status = 'running', started_at = NOW(), "
        "error_message = NULL, "
        "metadata = metadata || jsonb_build_object('attempts', COALESCE((metadata->>'attempts')::int, 0) + 1) "
        "WHERE id = %s AND status IS DISTINCT FROM 'completed' RETURNING *",
        (job_id,),
    ).fetchone()


def update_metadata(conn: psycopg.Connection, job_id: UUID | str, metadata: dict[str, Any]) -> None:
    conn.execute(
        "UPDATE content_refresh_jobs SET metadata = metadata || %s WHERE id = %s",
        (Jsonb(metadata), job_id),
    )


def complete(conn: psycopg.Connection, job_id: UUID | str, metadata: dict[str, Any] | None = None) -> None:
    conn.execute(
        "UPDATE content_refresh_jobs SET status = 'completed', completed_at = NOW(), "
        "error_message = NULL, metadata = metadata || %s WHERE id = %s",
        (Jsonb(metadata or {}), job_id),
    )


def fail(conn: psycopg.Connection, job_id: UUID | str, error: str,
         metadata: dict[str, Any] | None = None) -> None:
    conn.execute(
        "UPDATE content_refresh_jobs SET status = 'failed', completed_at = NOW(), "
        "error_message = %s, metadata = metadata || %s WHERE id = %s",
        (error[:4000], Jsonb(metadata or {}), job_id),
    )


def reset_for_retry(conn: psycopg.Connection, job_id: UUID | str) -> dict[str, Any] | None:
    """A failed job back to pending (the caller re-sends its message). None if it is not failed."""
    return conn.execute(
        "UPDATE content_refresh_jobs SET status = 'pending', started_at = NULL, completed_at = NULL, "
        "error_message = NULL WHERE id = %s AND status = 'failed' RETURNING *",
        (job_id,),
    ).fetchone()


def _value(row: Any, key: str) -> Any:
    return row[key] if isinstance(row, dict) else row[0]


def dumps(metadata: dict[str, Any]) -> str:
    return json.dumps(metadata, default=str, sort_keys=True)
