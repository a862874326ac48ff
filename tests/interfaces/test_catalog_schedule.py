"""Catalogue syncs are scheduled like crawls: due by the domain's frequency since the last
sync (or sync job), one job per domain, none while one is pending. The rule itself is
db/domain_schedule.py's (tests/db/test_domain_schedule.py)."""

from __future__ import annotations

from db import tenants
from db.connection import connect
from interfaces.scheduler import Scheduler
from tests.support.worker_fixtures import queued_job_ids
from workers.catalog.sources import add_source


def test_the_scheduler_queues_one_sync_per_due_domain(db, broker, redis_client):

    due = tenants.add_domain(db, "due-shop.example", frequency="daily")
    fresh = tenants.add_domain(db, "fresh-shop.example", frequency="daily")
    tenants.add_domain(db, "no-catalogue.example", frequency="daily")
    for row, platform in ((due, "shopify"), (due, "woocommerce"), (fresh, "shopify")):
        add_source(db, row["id"], platform, f"https://{row['domain']}")
    db.execute(
        "UPDATE catalog_sources SET last_synced_at = now() - interval '1 hour' "
        "WHERE domain_id = %s",
        (fresh["id"],),
    )
    db.execute("UPDATE domains SET last_scraped_at = now()")  # no crawls due: only syncs
    with connect() as conn:
        first = Scheduler(conn).run_once()
        second = Scheduler(conn).run_once()
    assert first.catalog_syncs == ["due-shop.example"] and first.errors == []
    assert second.catalog_syncs == []
    [job] = db.execute("SELECT * FROM content_refresh_jobs WHERE job_type = 'catalog'").fetchall()
    assert job["domain_id"] == due["id"] and job["metadata"]["trigger"] == "scheduler"
    assert queued_job_ids(redis_client, "catalog") == [str(job["id"])]
