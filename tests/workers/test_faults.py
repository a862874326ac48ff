"""The fault suite's CI part: real worker processes behind loopback proxies to Redis and
Postgres, the local API server with its error switch and billing counter, a 120-page site in
six embed jobs, and after each fault the same checks in SQL (tests/support/faults.py): every
page embedded, no duplicate rows, every job completed (none pending without a message or
running without a live lease), recorded tokens equal to billed tokens. The recovery settings
are scaled down (FAST_RECOVERY); bench/faults.py runs the full matrix with the defaults and
measures the time to recover (docs/operations.md)."""

from __future__ import annotations

import signal
import time

import pytest

from tests.support.faults import assert_clean, rig
from tests.support.openai_server import Reply
from tests.support.worker_fixtures import FAST_RECOVERY

pytestmark = [pytest.mark.faults, pytest.mark.slow]
PAGES = 120
WORKER_ENV = {
    **FAST_RECOVERY,
    "OMNI_WORKER_MIN_BACKOFF_MS": "300",
    "OMNI_WORKER_MAX_BACKOFF_MS": "2000",
    "OMNI_LOG_LEVEL": "INFO",
}


@pytest.fixture
def fault_rig(db, services_env, redis_client, tmp_path):
    with rig(
        db, services_env["DATABASE_URL"], services_env["REDIS_URL"], tmp_path, WORKER_ENV
    ) as the_rig:
        the_rig.seed(PAGES)
        yield the_rig


def test_redis_unreachable_as_the_jobs_are_enqueued(fault_rig) -> None:
    """The rows commit, every send fails; once Redis is back the sweeper sends them."""
    fault_rig.start_worker()
    fault_rig.redis_proxy.cut()
    assert fault_rig.enqueue() == len(fault_rig.job_ids)
    time.sleep(3)
    fault_rig.redis_proxy.heal()
    fault_rig.wait_until(fault_rig.done, 150, "every job after Redis came back")
    assert_clean(fault_rig.report())


def test_a_worker_killed_mid_request_and_an_api_error_burst(fault_rig) -> None:
    """SIGKILL while a request hangs, then 500s for 2 s: the leases of the job and of the
    siblings merged into it run out, the second worker takes over and re-uses the killed
    run's checkpoints: nothing is paid twice, every billed token is recorded."""
    server = fault_rig.server
    server.script(Reply(), Reply.slow(60), path="/v1/embeddings")
    first = fault_rig.start_worker()
    fault_rig.enqueue()
    fault_rig.wait_until(lambda: server.billed_requests >= 2, 90, "two answered requests")
    # killed once every answered request is checkpointed, and none is answered meanwhile: only
    # hanging ones are in flight (a kill between an answer and its checkpoint's commit is the
    # window no design closes; a request answered between a check and the kill fell into it)
    server.handler = lambda request: Reply.slow(60)
    time.sleep(1)  # an answer already on its way has been billed by now
    fault_rig.wait_until(
        lambda: fault_rig.report()["recorded_tokens"] == server.billed_tokens,
        90,
        "the answered requests' checkpoints",
    )
    fault_rig.signal(first, signal.SIGKILL)
    server.handler = None
    server.fail_with(500, seconds=2)
    fault_rig.start_worker()
    fault_rig.wait_until(fault_rig.done, 150, "every job after the kill")
    report = fault_rig.report()
    assert_clean(report)
    assert report["billed_tokens"] == fault_rig.site_tokens()  # each text paid for once


def test_postgres_cut_then_stalled_under_a_running_worker(fault_rig) -> None:
    """The workers' Postgres connections are cut mid-embed, then hang: runs fail over to
    retries, writes are fenced by the lease, and all ends complete."""
    fault_rig.server.delay = 0.3
    fault_rig.start_worker(threads=2)
    fault_rig.enqueue()
    fault_rig.wait_until(
        lambda: len(fault_rig.server.embedding_requests()) >= 3, 90, "embedding to start"
    )
    fault_rig.pg_proxy.cut()
    time.sleep(3)
    fault_rig.pg_proxy.stall()
    time.sleep(3)
    fault_rig.pg_proxy.heal()
    fault_rig.server.delay = 0.0
    fault_rig.wait_until(fault_rig.done, 180, "every job after Postgres came back")
    assert_clean(fault_rig.report())
