"""The registry of job kinds (db/job_kinds.py): every job type once, and what derives from it."""

from __future__ import annotations

import pytest
from dramatiq.brokers.stub import StubBroker

from core.config import Settings
from db import jobs
from db.job_kinds import KINDS, PAGE_STAGES, QUEUES, job_types_of, job_types_on, kind_of
from workers.broker import configure


def test_the_registry_names_every_job_type_queue_and_stage_once() -> None:
    assert set(KINDS) == set(jobs.JobType)
    assert QUEUES == ("crawl", "extract", "optimize", "embed", "catalog", "privacy")
    assert PAGE_STAGES == ("extract", "optimize", "embed")
    assert KINDS[jobs.JobType.FULL] == KINDS[jobs.JobType.CRAWL]
    assert job_types_of("crawl_domain") == ("crawl", "full")
    assert job_types_on(["crawl", "embed"]) == ["crawl", "full", "embed"]
    with pytest.raises(ValueError, match="unknown job type 'nope'"):
        kind_of("nope")


def test_the_broker_declares_the_registrys_queues_and_no_actors() -> None:
    broker = StubBroker()
    configure(broker, Settings())
    assert set(broker.get_declared_queues()) == set(QUEUES) | {f"{q}.DQ" for q in QUEUES}
    assert broker.actors == {}  # the broker knows no actors; workers.actors.setup_worker does
    broker.close()
