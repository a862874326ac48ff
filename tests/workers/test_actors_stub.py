"""The actors on Dramatiq's StubBroker with an in-process Worker (Dramatiq's "Unit Testing"):
routing, job states, retries and failures, against the real test database. The step's work is
replaced by a recorder; tests/workers/test_actors.py runs the real work on the real broker."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from core.config import Settings, get_settings
from db import jobs
from db.job_kinds import ACTORS, KINDS, actor_options
from tests.support.environment import patched_environ
from tests.support.worker_fixtures import make_domain
from workers.actors import declare_actors
from workers.broker import configure
from workers.dispatch import send_job
from workers.errors import PermanentError, TransientError

MAX_RETRIES = 2
SETTINGS = {
    "worker_max_retries": MAX_RETRIES,
    "worker_min_backoff_ms": 10,
    "worker_max_backoff_ms": 20,
}

# job type -> the function its actor's work calls (module, name)
ROUTES = [
    ("crawl", "crawlers.run", "crawl_child"),
    ("full", "crawlers.run", "crawl_child"),
    ("extract", "workers.extract_job", "run_extract"),
    ("optimize", "workers.optimize_job", "run_optimize"),
    ("embed", "workers.embed_job", "run_embed_merged"),
    ("catalog", "workers.catalog_sync_job", "run_catalog_sync"),
    ("privacy", "workers.privacy_job", "run_privacy"),
]


class Recorder:
    """Stands in for a job function: records each call's job id and settings, then returns stats
    or raises what `outcomes` says for that call (the last outcome repeats)."""

    def __init__(self, name: str, outcomes: list[BaseException | None] | None = None) -> None:
        self.name, self.outcomes = name, outcomes or [None]
        self.calls: list[tuple[str, Settings | None]] = []

    def __call__(self, *args: Any) -> dict[str, Any]:
        if isinstance(args[0], str):  # crawl_child(job_id, runner)
            job_id, settings = args[0], None
        else:  # run_x(conn, job[, settings])
            job_id, settings = str(args[1]["id"]), (args[2] if len(args) > 2 else None)
        self.calls.append((job_id, settings))
        outcome = self.outcomes[min(len(self.calls), len(self.outcomes)) - 1]
        if outcome is not None:
            raise outcome
        return {"routed_to": self.name}


@pytest.fixture
def stub_broker(db, monkeypatch: pytest.MonkeyPatch) -> Iterator[StubBroker]:
    # the runner's settings (the row's retry budget) agree with the actors' options
    environ = {f"OMNI_{name.upper()}": str(value) for name, value in SETTINGS.items()}
    with patched_environ(environ):
        yield from _stub_broker(monkeypatch)


def _stub_broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubBroker]:
    broker = StubBroker()
    broker.emit_after("process_boot")
    configure(broker, Settings(**SETTINGS))
    declare_actors(broker, Settings(**SETTINGS))
    monkeypatch.setattr("workers.dispatch.get_broker", lambda: broker)
    # The embed step's index upkeep after the work is not what these tests are about.
    monkeypatch.setattr("workers.search.sync_domain_index", lambda domain_id, settings: {})
    monkeypatch.setattr("workers.search.recount_keyword_stats", lambda conn, domain_id: {})
    worker = dramatiq.Worker(broker, worker_timeout=50, worker_threads=1)
    worker.start()
    yield broker
    worker.stop()
    broker.close()


def _replace(
    monkeypatch: pytest.MonkeyPatch,
    module: str,
    name: str,
    outcomes: list[BaseException | None] | None = None,
) -> Recorder:
    recorder = Recorder(name, outcomes)
    monkeypatch.setattr(f"{module}.{name}", recorder)
    return recorder


def _run(broker: StubBroker, db, job_type: str, send: Callable[[Any], Any] | None = None):
    job_id = jobs.create(db, make_domain(db)["id"], job_type)
    message = (send or (lambda j: send_job(j, job_type)))(job_id)
    broker.join(message.queue_name, fail_fast=False)
    return job_id, message, jobs.get(db, job_id)


def test_every_job_type_is_routed_above() -> None:
    assert sorted(job_type for job_type, _, _ in ROUTES) == sorted(jobs.JobType)


@pytest.mark.parametrize("job_type, module, name", ROUTES)
def test_a_message_reaches_its_job_function_and_completes_the_job(
    stub_broker, db, monkeypatch, job_type: str, module: str, name: str
) -> None:
    recorder = _replace(monkeypatch, module, name)
    job_id, message, job = _run(stub_broker, db, job_type)

    # the message names the actor and carries the job's id, nothing else
    kind = KINDS[jobs.JobType(job_type)]
    assert (message.actor_name, message.queue_name) == (kind.actor, kind.queue)
    assert message.args == (str(job_id),) and message.kwargs == {}
    assert json.loads(message.encode())["args"] == [str(job_id)]
    assert stub_broker.get_actor(message.actor_name).queue_name == message.queue_name

    assert [call[0] for call in recorder.calls] == [str(job_id)]
    if name not in ("crawl_child", "run_extract"):  # those take no settings
        assert recorder.calls[0][1] is get_settings()
    assert job["status"] == "completed" and job["error_message"] is None
    stats = job["metadata"]["stats"] if name == "crawl_child" else job["metadata"]
    assert stats["routed_to"] == name and job["metadata"]["attempts"] == 1


def test_a_transient_error_is_retried(stub_broker, db, monkeypatch) -> None:
    recorder = _replace(
        monkeypatch, "workers.extract_job", "run_extract", [TransientError("the API is busy"), None]
    )
    _, _, job = _run(stub_broker, db, "extract")
    assert len(recorder.calls) == 2
    assert job["status"] == "completed" and job["metadata"]["attempts"] == 2
    assert job["metadata"]["last_error"] == "the API is busy"
    assert stub_broker.dead_letters == []


def test_a_transient_error_out_of_retries_fails_the_job(stub_broker, db, monkeypatch) -> None:
    recorder = _replace(
        monkeypatch, "workers.extract_job", "run_extract", [TransientError("still busy")]
    )
    _, _, job = _run(stub_broker, db, "extract")
    assert len(recorder.calls) == MAX_RETRIES + 1
    assert job["status"] == "failed" and job["metadata"]["dead_lettered"] is True
    assert job["error_message"] == f"still busy (gave up after {MAX_RETRIES + 1} attempts)"
    assert len(stub_broker.dead_letters) == 1


# A job's earlier attempts, made by messages before this one (the sweeper re-sent it, or a
# takeover after its runner died): (status, lease) as they left it.
EARLIER = {
    "released": ("pending", None),
    "runner died": ("running", "2000-01-01T00:00:00+00:00"),
}


def _earlier_attempts(db, job_type: str, attempts: int, left: str):
    status, lease = EARLIER[left]
    job_id = jobs.create(db, make_domain(db)["id"], job_type)
    db.execute(
        "UPDATE content_refresh_jobs SET status = %s, error_message = 'TimeLimitExceeded', "
        "metadata = jsonb_build_object('attempts', %s::int, 'runner', 'dead', "
        "'lease_expires_at', %s::text) WHERE id = %s",
        (status, attempts, lease, job_id),
    )
    return job_id


@pytest.mark.parametrize("left", EARLIER)
def test_a_new_message_does_not_renew_the_retry_budget(stub_broker, db, monkeypatch, left) -> None:
    """The budget is counted on the job's row: a message the sweeper re-sent (retries 0)
    gets only the attempts the job has left, here one."""
    recorder = _replace(
        monkeypatch, "workers.extract_job", "run_extract", [TransientError("still busy")]
    )
    job_id = _earlier_attempts(db, "extract", MAX_RETRIES, left)
    _run_message(stub_broker, send_job(job_id, "extract"))
    job = jobs.get(db, job_id)
    assert len(recorder.calls) == 1 and job["metadata"]["attempts"] == MAX_RETRIES + 1
    assert job["status"] == "failed" and job["metadata"]["dead_lettered"] is True
    assert job["error_message"] == f"still busy (gave up after {MAX_RETRIES + 1} attempts)"


@pytest.mark.parametrize("left", EARLIER)
def test_a_job_out_of_attempts_is_failed_not_run_again(stub_broker, db, monkeypatch, left) -> None:
    """Its last attempt's runner died (or its release was the last): the next message
    fails the job with its last error instead of starting an attempt beyond the budget."""
    recorder = _replace(monkeypatch, "workers.extract_job", "run_extract")
    job_id = _earlier_attempts(db, "extract", MAX_RETRIES + 1, left)
    _run_message(stub_broker, send_job(job_id, "extract"))
    job = jobs.get(db, job_id)
    assert recorder.calls == [] and job["metadata"]["attempts"] == MAX_RETRIES + 1
    assert job["status"] == "failed" and job["metadata"]["dead_lettered"] is True
    assert job["error_message"] == f"TimeLimitExceeded (gave up after {MAX_RETRIES + 1} attempts)"
    assert len(stub_broker.dead_letters) == 1


def test_a_runner_whose_job_was_taken_over_writes_nothing(stub_broker, db, monkeypatch) -> None:
    """Its lease expired mid-work and another runner started the job: the first one's next
    write transaction raises LeaseLost before writing, and it records no outcome (no release,
    no retry, no failure); the job stays the new runner's."""
    written = []

    def taken_over_mid_work(conn, job):
        db.execute(
            "UPDATE content_refresh_jobs SET metadata = metadata || "
            '\'{"lease_expires_at": "2000-01-01T00:00:00+00:00"}\' WHERE id = %s',
            (job["id"],),
        )
        written.append(jobs.start(db, job["id"])["runner"])  # the takeover
        conn.commit()
        with jobs.held(conn, job):
            written.append("the first runner's write")
        raise TransientError("unreachable: LeaseLost was raised")

    monkeypatch.setattr("workers.extract_job.run_extract", taken_over_mid_work)
    job_id, _, job = _run(stub_broker, db, "extract")
    [new_runner] = written
    assert job["status"] == "running" and job["metadata"]["runner"] == new_runner
    assert job["metadata"]["attempts"] == 2 and job["error_message"] is None
    # the takeover's note only: the first runner recorded nothing
    assert job["metadata"]["last_error"] == jobs.TAKEN_OVER and stub_broker.dead_letters == []


def _run_message(broker: StubBroker, message) -> None:
    broker.join(message.queue_name, fail_fast=False)


def test_a_permanent_error_fails_the_job_without_a_retry(stub_broker, db, monkeypatch) -> None:
    recorder = _replace(
        monkeypatch,
        "workers.optimize_job",
        "run_optimize",
        [PermanentError("the page is not HTML")],
    )
    _, _, job = _run(stub_broker, db, "optimize")
    assert len(recorder.calls) == 1
    assert job["status"] == "failed" and job["error_message"] == "the page is not HTML"
    assert job["metadata"]["attempts"] == 1 and "dead_lettered" not in job["metadata"]
    assert len(stub_broker.dead_letters) == 1


def test_an_unexpected_error_is_permanent(stub_broker, db, monkeypatch) -> None:
    recorder = _replace(monkeypatch, "workers.optimize_job", "run_optimize", [KeyError("title")])
    _, _, job = _run(stub_broker, db, "optimize")
    assert len(recorder.calls) == 1
    assert job["status"] == "failed" and job["error_message"] == "KeyError: 'title'"


def test_a_job_sent_to_the_wrong_actor_fails_without_running(stub_broker, db, monkeypatch) -> None:
    recorder = _replace(monkeypatch, "workers.extract_job", "run_extract")
    extract = stub_broker.get_actor("extract_pages")
    _, _, job = _run(stub_broker, db, "embed", send=lambda job_id: extract.send(str(job_id)))
    assert recorder.calls == []
    assert job["status"] == "failed" and "is a 'embed' job, not extract" in job["error_message"]


@pytest.mark.parametrize("kind", ACTORS, ids=lambda kind: kind.actor)
def test_actor_options_come_from_the_settings(kind) -> None:
    settings = Settings(
        worker_max_retries=3,
        worker_min_backoff_ms=7,
        worker_max_backoff_ms=70,
        worker_time_limit_s=11,
        crawl_time_limit_s=22,
    )
    broker = StubBroker()
    configure(broker, settings)
    declare_actors(broker, settings)
    actor = broker.get_actor(kind.actor)
    limit = 22_000 if kind.actor == "crawl_domain" else 11_000
    assert actor.queue_name == kind.queue == actor_options(kind, settings)["queue_name"]
    assert actor.options == {
        "time_limit": limit,
        "max_retries": 3,
        "min_backoff": 7,
        "max_backoff": 70,
        "throws": (PermanentError,),
    }
    broker.close()
