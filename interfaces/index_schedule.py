"""Per-domain vector indexes and keyword stop words are maintained by the scheduler process, from
the data.

`omni scheduler` runs `IndexMaintenance` beside its passes: every interval, on its own autocommit
connection, `db.vector_indexes.sync` builds the index of every domain that has reached the
threshold without one (CREATE INDEX CONCURRENTLY: writers and searches go on) and drops those no
longer needed, whoever wrote the chunks. It is a thread of its own because a build of a large
domain takes tens of seconds, and crawls must still be queued meanwhile. Until a domain's index
exists its search is exact (migration 0076): slower, never wrong.

The same pass recounts hybrid search's stop words of every domain whose number of chunks differs
from the one counted (`db.keyword_stats.sync`: after a bulk COPY, `omni forget`, or an embed job
whose own recount failed).

Two scheduler processes may run it at once: the builds take per-domain advisory locks. Stopping
cancels a build in progress (its invalid index is dropped and rebuilt by the next sync).
"""

from __future__ import annotations

import contextlib
import logging
import threading

import psycopg

from db import keyword_stats, vector_indexes
from db.connection import Conn, connect

log = logging.getLogger(__name__)


class IndexMaintenance:
    def __init__(self, interval: float, min_rows: int) -> None:
        self.interval, self.min_rows = interval, min_rows
        self.stopping = threading.Event()
        self._conn: Conn | None = None
        self._thread = threading.Thread(
            target=self._run, name="vector-index-maintenance", daemon=True
        )
        self.passes = 0

    def start(self) -> IndexMaintenance:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        conn = self._conn
        if conn is not None:
            # a CREATE INDEX CONCURRENTLY in progress ends now
            with contextlib.suppress(psycopg.Error, OSError):
                conn.cancel_safe()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                with connect(autocommit=True) as conn:
                    self._conn = conn
                    result = vector_indexes.sync(conn, self.min_rows)
                    recounted = keyword_stats.sync(conn)
                if recounted:
                    log.info("keyword stop words recounted for %d domains", len(recounted))
                if result["created"] or result["dropped"]:
                    log.info(
                        "vector indexes: created %s, dropped %s",
                        result["created"],
                        result["dropped"],
                    )
            except Exception:
                if not self.stopping.is_set():
                    log.exception(
                        "vector index maintenance failed; retrying in %.0fs", self.interval
                    )
            finally:
                self._conn = None
            self.passes += 1
            self.stopping.wait(self.interval)
