"""Session limits per kind of work (db/connection.py): the table, and what a real connection
and pool of each kind report to Postgres."""

from __future__ import annotations

import time

import psycopg
import pytest

from core.config import Settings
from db.connection import Work, connect, get_pool, session_limits
from tests.support.environment import patched_environ
from workers.outcomes import is_transient

S = Settings(
    OMNI_DB_IDLE_IN_TRANSACTION_TIMEOUT_S=60,
    OMNI_DB_LOCK_TIMEOUT_S=10,
    OMNI_DB_JOB_STATEMENT_TIMEOUT_S=300,
    OMNI_DB_INTERACTIVE_STATEMENT_TIMEOUT_S=30,
)


@pytest.mark.parametrize(
    "work, idle, lock, statement",
    [
        (Work.JOB, 60_000, 10_000, 300_000),
        (Work.INTERACTIVE, 60_000, 10_000, 30_000),
        (Work.MAINTENANCE, 60_000, 0, 0),
    ],
)
def test_session_limits(work, idle, lock, statement) -> None:
    assert session_limits(work, S) == {
        "idle_in_transaction_session_timeout": idle,
        "lock_timeout": lock,
        "statement_timeout": statement,
    }


def _shown(conn) -> tuple[str, str, str]:
    row = conn.execute(
        "SELECT current_setting('idle_in_transaction_session_timeout') AS i, "
        "current_setting('lock_timeout') AS l, "
        "current_setting('statement_timeout') AS s"
    ).fetchone()
    return row["i"], row["l"], row["s"]


def test_connections_and_pools_carry_them(services_env) -> None:
    with connect(autocommit=True) as conn:
        assert _shown(conn) == ("1min", "10s", "30s")
    with connect(autocommit=True, work=Work.MAINTENANCE) as conn:
        assert _shown(conn) == ("1min", "0", "0")
    with get_pool().connection() as conn:
        assert _shown(conn) == ("1min", "10s", "5min")


def test_a_transaction_left_idle_is_ended_by_the_server(services_env) -> None:
    """A paused worker's open transaction cannot block others beyond the limit."""

    with patched_environ({"OMNI_DB_IDLE_IN_TRANSACTION_TIMEOUT_S": "1"}):
        conn = connect()
        conn.execute("SELECT 1")  # a transaction opened, then left idle
        time.sleep(2.5)
        with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout) as ended:
            conn.execute("SELECT 1")
        conn.close()

    assert is_transient(ended.value)  # the job is retried, not failed
