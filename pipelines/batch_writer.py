"""Batched writes for the pipelines: one statement per batch, off the reactor thread."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from crawlers.state import CrawlState

logger = logging.getLogger(__name__)

Row = TypeVar("Row")


class BatchWriter(Generic[Row]):
    """Buffers rows and writes them in one statement per batch on a background thread (one at a
    time, in order), so the crawl does not wait for the database. A batch is also written once
    its oldest row is `max_age_s` old, so a crawl that is killed loses at most that much work
    (its retry resumes from what was stored)."""

    def __init__(
        self,
        name: str,
        batch_size: int,
        write: Callable[[list[Row]], None],
        state: CrawlState,
        max_age_s: float = 1.0,
    ) -> None:
        self.name = name
        self.batch_size = batch_size
        self.write = write
        self.state = state
        self.rows: list[Row] = []
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"omni-{name}")
        self.futures: list[Future[None]] = []
        self.max_age_s = max_age_s
        self.oldest = 0.0

    def add(self, row: Row) -> None:
        if not self.rows:
            self.oldest = time.monotonic()
        self.rows.append(row)
        if len(self.rows) >= self.batch_size or time.monotonic() - self.oldest >= self.max_age_s:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            rows, self.rows = self.rows, []
            self.futures.append(self.executor.submit(self._run, rows))

    def _run(self, rows: list[Row]) -> None:
        try:
            self.write(rows)
        except Exception as exc:
            logger.exception("%s: writing %d rows failed", self.name, len(rows))
            self.state.errors.append(f"{self.name}: {type(exc).__name__}: {exc}")

    async def close(self) -> None:
        self.flush()
        await asyncio.gather(*(asyncio.wrap_future(f) for f in self.futures))
        self.futures.clear()
        self.executor.shutdown(wait=True)
