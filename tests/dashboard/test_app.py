"""The dashboard against real Postgres and Redis, served by uvicorn, driven by real Chromium."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from core.errors import OmniError
from dashboard import app as dashboard_app
from dashboard.app import Backend, create_app
from dashboard.auth import is_local_bind
from db import jobs, privacy, tenants, usage
from tests.support.environment import patched_environ
from tests.support.local import CHROMIUM_ARGS, free_port
from tests.support.privacy_fixtures import EMAIL
from tests.support.worker_fixtures import queued_job_ids
from workers.dispatch import send_job
from workers.queues import queue_stats


@pytest.fixture
def seeded(db, broker, redis_client) -> dict:
    """Real rows (two domains, pages, extractions, chunks, usage, jobs incl. a failed crawl)
    and real messages in Redis: waiting, delayed, in flight (fetched, unacked) and dead-lettered."""

    shop = tenants.add_domain(db, "shop.example", frequency="daily")
    blog = tenants.add_domain(db, "blog.example", frequency="0 3 * * *")
    db.execute(
        "UPDATE domains SET last_scraped_at = now() - interval '2 hours' WHERE id = %s",
        (shop["id"],),
    )
    page_ids = []
    for i, status in enumerate(["scraped"] * 7 + ["failed"] * 2):
        page_ids.append(
            db.execute(
                "INSERT INTO scraped_pages (domain_id, url, title, content, status, scraped_at) "
                "VALUES (%s, %s, %s, 'text', %s, now() - make_interval(mins => %s)) RETURNING id",
                (shop["id"], f"https://shop.example/p{i}", f"P{i}", status, i),
            ).fetchone()["id"]
        )
    db.execute(
        'UPDATE scraped_pages SET metadata = metadata || \'{"forgotten_at": "2026-01-01"}\' '
        "WHERE id = %s",
        (page_ids[-1],),
    )  # confirmed gone (db/forget.py)
    for kind, n in (("product", 3), ("faq", 2)):
        for i in range(n):
            db.execute(
                "INSERT INTO structured_extractions (domain_id, url, extract_type, extracted_data) "
                "VALUES (%s, %s, %s, '{}')",
                (shop["id"], f"https://shop.example/{kind}{i}", kind),
            )
    for i in range(11):
        db.execute(
            "INSERT INTO page_embeddings (page_id, chunk_text) VALUES (%s, %s)",
            (page_ids[i % 7], f"chunk {i}"),
        )
    usage.add_usage(
        db, shop["id"], "embedding", "all-MiniLM-L6-v2", tokens=4321, requests=3, cost=0
    )
    usage.add_usage(
        db, shop["id"], "optimization", "gpt-4o-mini", tokens=1000, requests=2, cost=0.0125
    )

    done = jobs.create(
        db,
        shop["id"],
        "crawl",
        {"stats": {"new": 5, "changed": 2, "unchanged": 1, "removed": 1, "forgotten": 3}},
    )
    jobs.complete(db, done, jobs.start(db, done)["runner"])
    failed = jobs.create(db, shop["id"], "crawl")
    jobs.start(db, failed)
    jobs.fail(db, failed, "DNS lookup failed for shop.example")
    pending_embed = jobs.create(db, shop["id"], "embed", {"page_ids": [str(p) for p in page_ids]})
    blog_extract = jobs.create(db, blog["id"], "extract")

    # messages: 1 waiting on embed, 1 delayed on extract, 2 waiting on extract of which one is
    # fetched (in flight) and one dead-lettered after a nack
    send_job(pending_embed, "embed")
    send_job(blog_extract, "extract", delay_ms=3_600_000)
    send_job(blog_extract, "extract")
    send_job(blog_extract, "extract")
    consumer = broker.consume("extract", prefetch=2, timeout=1000)
    fetched = [m for m in (next(consumer) for _ in range(4)) if m is not None][:2]
    assert len(fetched) == 2
    consumer.nack(fetched[1])
    return {
        "shop": shop,
        "blog": blog,
        "failed": str(failed),
        "done": str(done),
        "consumer": consumer,
    }


@pytest.fixture
def server(services_env) -> Iterator[str]:
    import uvicorn  # noqa: PLC0415 - heavy, loaded only where it is used

    port = free_port()
    config = uvicorn.Config(
        create_app("127.0.0.1"), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture
def chromium():
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - heavy, loaded only where it is used

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_queue_stats_follow_the_broker_layout(seeded, redis_client) -> None:

    stats = {
        s.queue: s for s in queue_stats(redis_client, ("crawl", "extract", "optimize", "embed"))
    }
    assert (stats["embed"].ready, stats["embed"].in_flight, stats["embed"].dead) == (1, 0, 0)
    assert (stats["extract"].ready, stats["extract"].delayed) == (0, 1)
    assert (stats["extract"].in_flight, stats["extract"].dead) == (1, 1)
    assert stats["crawl"].as_dict() == {
        "queue": "crawl",
        "ready": 0,
        "delayed": 0,
        "in_flight": 0,
        "dead": 0,
    }


def test_pages_render_real_data_and_retry_requeues(
    seeded, server, chromium, db, redis_client
) -> None:
    page = chromium.new_page()
    page.goto(server + "/")
    row = page.locator("#queues tr[data-queue=extract]")
    assert row.locator(".delayed").inner_text() == "1"
    assert row.locator(".in-flight").inner_text() == "1"
    assert row.locator(".dead").inner_text() == "1"
    assert page.locator("#queues tr[data-queue=embed] .ready").inner_text() == "1"
    assert page.locator("#total-pages").inner_text() == "9"
    assert page.locator("#total-chunks").inner_text() == "11"
    assert page.locator("#total-tokens").inner_text() == "5321"
    # the charts are drawn by the vendored script (one bar per minute of the last hour)
    assert page.locator("[data-testid=chart-pages] svg rect").count() == 60
    assert page.locator("[data-testid=chart-tokens] svg rect").count() == 14

    page.goto(server + "/domains")
    shop = page.locator("#domains tr[data-domain='shop.example']")
    assert "scraped 7" in shop.locator(".pages").inner_text()
    assert "failed 2" in shop.locator(".pages").inner_text()
    assert shop.locator(".extractions").inner_text() == "5"
    assert shop.locator(".chunks").inner_text() == "11"
    page.click("text=shop.example")
    assert page.locator("#domain-tokens").inner_text() == "5321"
    last = page.locator("#last-crawl").inner_text()
    assert "changed\t2" in last or "changed 2" in last.replace("\t", " ")
    assert "forgotten 3" in last.replace("\t", " ")
    assert page.locator("#domain-forgotten").inner_text() == "1"
    assert "product" in page.locator("#extractions").inner_text()

    page.goto(server + "/jobs?status=failed")
    rows = page.locator("#jobs tbody tr[data-job]")
    assert rows.count() == 1
    assert "DNS lookup failed" in rows.first.inner_text()
    rows.first.locator("button.retry").click()
    page.wait_for_selector("#retried")
    assert page.locator("#job-status").inner_text() == "pending"
    job = jobs.get(db, seeded["failed"])
    assert job["status"] == "pending" and job["error_message"] is None
    assert queued_job_ids(redis_client, "crawl") == [seeded["failed"]]


def test_the_page_refreshes_itself(seeded, server, chromium, db) -> None:

    page = chromium.new_page()
    page.goto(server + "/")
    assert page.locator("#total-pages").inner_text() == "9"
    db.execute(
        "INSERT INTO scraped_pages (domain_id, url, status) VALUES (%s, "
        "'https://shop.example/new', 'scraped')",
        (seeded["shop"]["id"],),
    )
    # a locator assertion, not wait_for_function: the dashboard's CSP forbids the eval that
    # wait_for_function's string predicate needs
    from playwright.sync_api import expect  # noqa: PLC0415 - heavy, loaded only where it is used

    expect(page.locator("#total-pages")).to_have_text(
        "10", timeout=(dashboard_app.REFRESH_SECONDS + 10) * 1000
    )


def test_retry_refuses_a_job_that_is_not_failed(seeded, server, redis_client) -> None:
    before = queued_job_ids(redis_client, "crawl")
    response = httpx.post(f"{server}/jobs/{seeded['done']}/retry")
    assert response.status_code == 409
    assert queued_job_ids(redis_client, "crawl") == before


def test_metrics_scrape(seeded, server) -> None:
    response = httpx.get(server + "/metrics")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    assert samples[("omni_queue_messages", (("queue", "extract"), ("state", "dead")))] == 1
    assert samples[("omni_queue_messages", (("queue", "embed"), ("state", "ready")))] == 1
    assert samples[("omni_jobs", (("job_type", "crawl"), ("status", "failed")))] == 1
    assert samples[("omni_pages", (("status", "scraped"),))] == 7
    assert samples[("omni_tokens", (("usage_type", "embedding"),))] == 4321
    assert samples[("omni_chunks", ())] == 11


def test_healthz(server) -> None:
    response = httpx.get(server + "/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "postgres": "ok",
        "redis": "ok",
        "workers": {
            "redis": 0,
            "postgres": 0,
            "cut_off_from_redis": [],
            "cut_off_from_postgres": [],
        },
        "jobs": {"lease_expired": 0, "without_message": 0},
    }


def test_healthz_and_the_jobs_page_tell_what_the_workers_see(db, broker, redis_client) -> None:
    """A worker that beats in Postgres but says it cannot reach Redis, a job whose lease
    expired, a pending job no message carries: /healthz is 503 with each counted, and the jobs
    page marks both jobs."""

    shop = tenants.add_domain(db, "stuck.example")
    expired = jobs.create(db, shop["id"], "embed", {"page_ids": []})
    jobs.start(db, expired)
    db.execute(
        "UPDATE content_refresh_jobs SET metadata = metadata || "
        '\'{"lease_expires_at": "2000-01-01T00:00:00+00:00"}\' WHERE id = %s',
        (expired,),
    )
    jobs.create(db, shop["id"], "extract", {"page_ids": []})  # no message: an orphan
    carried = jobs.create(db, shop["id"], "extract", {"page_ids": []})
    send_job(carried, "extract")
    db.execute(
        "INSERT INTO worker_heartbeats (worker, hostname, pid, queues, redis_ok) "
        "VALUES ('box:42', 'box', 42, '{embed}', false)"
    )

    with (
        patched_environ({"OMNI_JOB_RESEND_AFTER_S": "0"}),
        TestClient(create_app("127.0.0.1"), base_url="http://127.0.0.1") as client,
    ):
        health = client.get("/healthz")
        page = client.get("/jobs").text
    assert health.status_code == 503
    assert health.json()["workers"] == {
        "redis": 0,
        "postgres": 1,
        "cut_off_from_redis": ["box:42"],
        "cut_off_from_postgres": [],
    }
    assert health.json()["jobs"] == {"lease_expired": 1, "without_message": 1}
    assert page.count("lease expired") == 1 and page.count("no message") == 1


def _in_redis(*names: str) -> list[dict]:
    return [{"hostname": n.split(":")[0], "pid": int(n.split(":")[1])} for n in names]


def _in_pg(**redis_ok: bool | None) -> list[dict]:
    return [{"worker": n.replace("_", ":"), "redis_ok": ok} for n, ok in redis_ok.items()]


@pytest.mark.parametrize(
    "redis_workers, pg_workers, expected",
    [
        (_in_redis("a:1"), _in_pg(a_1=True), (1, 1, [], [])),
        # beats in Postgres saying it cannot reach Redis (and so is absent there)
        ([], _in_pg(a_1=False), (0, 1, ["a:1"], [])),
        # beats in Redis, none in Postgres: cut off from Postgres
        (_in_redis("a:1", "b:2"), _in_pg(a_1=True), (2, 1, [], ["b:2"])),
        # Redis unreachable from the dashboard: counted by Postgres alone
        (None, _in_pg(a_1=True, b_2=False), (None, 2, ["b:2"], [])),
        # Postgres unreachable from the dashboard: nobody is called cut off from it
        (_in_redis("a:1"), None, (1, None, [], [])),
    ],
)
def test_workers_are_counted_in_redis_and_postgres(redis_workers, pg_workers, expected) -> None:
    view = dashboard_app.worker_view(redis_workers, pg_workers)
    assert (
        view["redis"],
        view["postgres"],
        view["cut_off_from_redis"],
        view["cut_off_from_postgres"],
    ) == expected


def test_healthz_reports_a_dead_redis(services_env) -> None:

    class NoRedis(Backend):
        def redis(self):
            return redis.Redis(host="127.0.0.1", port=free_port(), socket_timeout=1)

    with TestClient(
        create_app("127.0.0.1", backend=NoRedis()), base_url="http://127.0.0.1"
    ) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"].startswith("error") and response.json()["postgres"] == "ok"


# ---------------------------------------------------------------- auth on a non-local bind


@pytest.mark.parametrize(
    "host, local",
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("127.0.0.2", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("dashboard.internal", False),
    ],
)
def test_is_local_bind(host, local) -> None:

    assert is_local_bind(host) is local


def test_a_public_bind_without_a_token_is_refused(services_env) -> None:

    with pytest.raises(OmniError, match="OMNI_DASHBOARD_TOKEN"):
        create_app("0.0.0.0", token=None)


def test_a_public_bind_requires_the_token(services_env, db) -> None:

    app = create_app("0.0.0.0", token="s3cret-token-0123456789")
    with TestClient(app, client=("10.0.0.5", 40000), base_url="http://10.0.0.1:8000") as client:
        assert client.get("/domains").status_code == 401
        assert client.get("/metrics").status_code == 401
        assert client.get("/healthz").status_code == 200  # for load balancers
        assert client.get("/domains", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert (
            client.get(
                "/domains", headers={"Authorization": "Bearer s3cret-token-0123456789"}
            ).status_code
            == 200
        )
        basic = base64.b64encode(b"ops:s3cret-token-0123456789").decode()
        assert (
            client.get("/metrics", headers={"Authorization": f"Basic {basic}"}).status_code == 200
        )
        bad = base64.b64encode(b"ops:nope").decode()
        assert client.get("/metrics", headers={"Authorization": f"Basic {bad}"}).status_code == 401
        response = client.get("/jobs?token=wrong&status=failed", follow_redirects=False)
        assert response.status_code == 401
    with TestClient(app, client=("10.0.0.5", 40001), base_url="http://10.0.0.1:8000") as client:
        response = client.get(
            "/jobs?token=s3cret-token-0123456789&status=failed", follow_redirects=False
        )
        assert response.status_code == 303 and response.headers["location"] == "/jobs?status=failed"
        assert client.get("/jobs?status=failed").status_code == 200  # the cookie now
    with TestClient(
        create_app("127.0.0.1"), client=("127.0.0.1", 40002), base_url="http://127.0.0.1:8000"
    ) as client:
        assert client.get("/domains").status_code == 200


def test_cross_origin_retry_is_refused(seeded, services_env, redis_client) -> None:

    with TestClient(create_app("127.0.0.1"), base_url="http://127.0.0.1:8000") as client:
        response = client.post(
            f"/jobs/{seeded['failed']}/retry", headers={"Origin": "http://evil.example"}
        )
    assert response.status_code == 403
    assert queued_job_ids(redis_client, "crawl") == []


def test_privacy_and_knowledge_pages_show_open_overdue_requests_and_curated_answers(
    db, subject_world, server
) -> None:

    with db.transaction():
        late = privacy.create(db, subject_world.domain_id, "deletion", email=EMAIL)
        privacy.create(db, subject_world.domain_id, "access", email="other@x.test")
    db.execute(
        "UPDATE privacy_requests SET due_at = %s WHERE id = %s",
        (datetime.now(UTC) - timedelta(days=2), late["id"]),
    )
    html = httpx.get(server + "/privacy").text
    assert "<strong>4</strong> open" in html  # the fixture's two requests and these two
    assert '<strong class="error">1</strong> overdue' in html
    row = html.split(f'data-request="{late["id"]}"')[1].split("</tr>")[0]
    assert 'class="overdue"' in row and "deletion" in row
    knowledge_html = httpx.get(server + "/knowledge").text
    assert "Where is order 1001?" in knowledge_html and "shop.privacy.test" in knowledge_html
