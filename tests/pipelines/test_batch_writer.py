"""The pipelines' batched writes (pipelines/batch_writer.py): in order, off the reactor, and with
the database slower than the crawl, the crawl waits instead of holding every page it fetched."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

from pipelines.batch_writer import BatchWriter


def test_a_slow_database_holds_back_the_crawl_not_its_pages() -> None:
    release, written = threading.Event(), []

    def write(rows: list[int]) -> None:
        assert release.wait(10), "never released"
        written.append(rows)

    writer = BatchWriter("t", 2, write, SimpleNamespace(errors=[]), max_pending=2)  # type: ignore[arg-type]  # only .errors is used
    added: list[int] = []

    def crawl() -> None:
        for i in range(6):
            writer.add(i)
            added.append(i)

    producer = threading.Thread(target=crawl)
    producer.start()
    producer.join(0.5)
    # batches [0, 1] (being written) and [2, 3] are pending: the third waits in add()
    assert producer.is_alive() and writer.pending() == 2 and added == [0, 1, 2, 3, 4]
    release.set()
    producer.join(10)
    asyncio.run(writer.close())
    assert written == [[0, 1], [2, 3], [4, 5]] and added == list(range(6))
    assert writer.waited_s >= 0.4 and writer.pending() == 0


def test_a_failed_batch_is_recorded_and_the_next_ones_are_written() -> None:
    written: list[list[int]] = []

    def write(rows: list[int]) -> None:
        if rows == [0, 1]:
            raise RuntimeError("connection lost")
        written.append(rows)

    state = SimpleNamespace(errors=[])
    writer = BatchWriter("t", 2, write, state, max_pending=1)  # type: ignore[arg-type]  # only .errors is used
    for i in range(5):
        writer.add(i)
    asyncio.run(writer.close())
    assert written == [[2, 3], [4]]
    assert state.errors == ["t: RuntimeError: connection lost"]


def test_a_row_is_written_once_it_is_old_even_when_no_row_follows() -> None:
    """A crawl that stops adding (it waits for its last downloads at a stop, and may be killed
    there) still has its buffered rows written within about max_age_s, not only at close."""
    written = threading.Event()
    rows_written: list[list[int]] = []

    def write(rows: list[int]) -> None:
        rows_written.append(rows)
        written.set()

    writer = BatchWriter("t", 100, write, SimpleNamespace(errors=[]), max_age_s=0.2)  # type: ignore[arg-type]  # only .errors is used
    writer.add(7)
    assert written.wait(10), "the buffered row was never written without a close"
    assert rows_written == [[7]]
    asyncio.run(writer.close())
    assert rows_written == [[7]] and not writer.ticker.is_alive()
