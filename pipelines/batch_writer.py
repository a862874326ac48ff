"""Batched writes for the pipelines: one statement per batch, off the reactor thread."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from crawlers.state import CrawlState

logger = logging.getLogger(__name__)

Row = TypeVar("Row")


# Batches handed to the writer thread and not yet written, per writer. Past it the crawl waits
# for the oldest one: a database slower than the crawl (a disk saturated by checkpoints) made a
# 100k-page crawl hold every page it fetched meanwhile, 3x its normal memory.
MAX_PENDING_BATCHES = 4


class BatchWriter(Generic[Row]):
    """Buffers rows and writes them in one statement per batch on a background thread (one at a
    time, in order), so the crawl does not wait for the database, unless `max_pending` batches
    are already waiting: then the crawl (the reactor) waits for the oldest, which holds back
    fetching while the database is slow, instead of holding the pages in memory. A batch is also
    written once its oldest row is `max_age_s` old, whether or not more rows come (a ticker
    thread looks), so a crawl that is killed loses at most that much work (its retry resumes
    from what was stored). That matters most at a stop: the crawl stops adding rows while it
    waits for its last downloads, and a child that outlives its grace is killed."""

    def __init__(
        self,
        name: str,
        batch_size: int,
        write: Callable[[list[Row]], None],
        state: CrawlState,
        max_age_s: float = 1.0,
        max_pending: int = MAX_PENDING_BATCHES,
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
        self.max_pending = max_pending
        self.waited_s = 0.0  # time the crawl spent waiting for this writer
        self.lock = threading.Lock()  # the crawl's add() and the ticker's flush
        self.stopped = threading.Event()
        self.ticker = threading.Thread(target=self._tick, name=f"omni-{name}-ticker", daemon=True)
        self.ticker.start()

    def add(self, row: Row) -> None:
        with self.lock:
            if not self.rows:
                self.oldest = time.monotonic()
            self.rows.append(row)
            if len(self.rows) >= self.batch_size or self._due():
                self._flush()

    def flush(self) -> None:
        with self.lock:
            self._flush()

    def _due(self) -> bool:
        return bool(self.rows) and time.monotonic() - self.oldest >= self.max_age_s

    def _tick(self) -> None:
        while not self.stopped.wait(self.max_age_s / 2):
            with self.lock:
                if self._due():
                    self._flush()

    def _flush(self) -> None:
        if self.rows:
            rows, self.rows = self.rows, []
            self.futures = [f for f in self.futures if not f.done()]
            if len(self.futures) >= self.max_pending:
                started = time.monotonic()
                if not self.waited_s:
                    logger.warning(
                        "%s: the database is slower than the crawl; fetching waits", self.name
                    )
                wait(self.futures[: len(self.futures) - self.max_pending + 1])
                self.waited_s += time.monotonic() - started
            self.futures.append(self.executor.submit(self._run, rows))

    def pending(self) -> int:
        """Batches handed to the writer thread and not written yet."""
        return sum(not f.done() for f in self.futures)

    def _run(self, rows: list[Row]) -> None:
        try:
            self.write(rows)
        except Exception as exc:
            logger.exception("%s: writing %d rows failed", self.name, len(rows))
            self.state.errors.append(f"{self.name}: {type(exc).__name__}: {exc}")

    async def close(self) -> None:
        self.stopped.set()
        self.ticker.join()
        self.flush()
        await asyncio.gather(*(asyncio.wrap_future(f) for f in self.futures))
        self.futures.clear()
        self.executor.shutdown(wait=True)
        if self.waited_s:
            logger.warning("%s: the crawl waited %.1f s for the database", self.name, self.waited_s)
