"""The scheduler process builds the per-domain vector indexes and counts the keyword stop words
from the data (interfaces/index_schedule.py): chunks copied in by hand get their domain's index
and stop words without an embed job, and the maintenance thread stops with the scheduler."""

from __future__ import annotations

import threading
import time

import numpy as np

from db import keyword_stats, vector_indexes
from interfaces.index_schedule import IndexMaintenance
from interfaces.scheduler import run_forever
from workers.embed_job import copy_rows


def _maintenance_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "vector-index-maintenance"]


def test_maintenance_builds_the_index_of_bulk_copied_chunks(db) -> None:
    domain = db.execute(
        "INSERT INTO domains (domain) VALUES ('bulk.test') RETURNING id"
    ).fetchone()["id"]
    page = db.execute(
        "INSERT INTO scraped_pages (domain_id, url) VALUES (%s, 'https://bulk.test/') RETURNING id",
        (domain,),
    ).fetchone()["id"]
    vectors = np.random.default_rng(4).standard_normal((40, 1536)).astype(np.float32)
    with db.transaction():
        copy_rows(db, ((page, "c", v, {"model": "m1"}) for v in vectors))
    maintenance = IndexMaintenance(interval=0.2, min_rows=30).start()
    try:
        deadline = time.monotonic() + 120
        while vector_indexes.existing_indexes(db).get(
            vector_indexes.index_name(domain)
        ) is not True or keyword_stats.counted(db) != {domain: 40}:
            assert time.monotonic() < deadline, "the maintenance thread built no index"
            time.sleep(0.2)
    finally:
        maintenance.stop()
    assert not _maintenance_threads()
    assert vector_indexes.health(db, 30).ok
    common = db.execute("SELECT common_words FROM domain_keyword_stats").fetchone()
    assert common["common_words"] == ["c"]  # every chunk's only word


def test_the_scheduler_runs_and_stops_the_maintenance(db) -> None:
    stop = threading.Event()
    seen: list[int] = []

    def on_pass(_result) -> None:
        seen.append(len(_maintenance_threads()))
        stop.set()

    run_forever(0.1, stop, on_pass=on_pass)
    assert seen == [1]
    assert not _maintenance_threads()
