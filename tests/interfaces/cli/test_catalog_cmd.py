"""`omni catalog add|sync|list` as a user runs them (subprocesses on the test database/Redis)."""

from __future__ import annotations

import json
import subprocess

from db import tenants
from tests.support.paths import OMNI
from tests.support.worker_fixtures import queued_job_ids


def omni(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(OMNI), *args], capture_output=True, text=True, timeout=120)


def test_add_sync_and_list(db, redis_client):

    tenants.add_domain(db, "cli-shop.example")
    added = omni("catalog", "add", "cli-shop.example", "--platform", "shopify")
    assert added.returncode == 0, added.stderr
    assert (
        "catalogue source shopify for cli-shop.example url=https://cli-shop.example" in added.stdout
    )
    queued = omni("catalog", "sync", "https://www.cli-shop.example/")
    assert queued.returncode == 0, queued.stderr
    [job] = db.execute("SELECT * FROM content_refresh_jobs WHERE job_type = 'catalog'").fetchall()
    assert f"queued catalog job {job['id']}" in queued.stdout
    assert queued_job_ids(redis_client, "catalog") == [str(job["id"])]
    [row] = json.loads(omni("catalog", "list", "--json").stdout)
    assert (row["domain"], row["platform"], row["products"], row["last_synced_at"]) == (
        "cli-shop.example",
        "shopify",
        0,
        None,
    )


def test_errors_are_one_line(db):

    tenants.add_domain(db, "cli-shop.example")
    for args, message in [
        (
            ("catalog", "add", "cli-shop.example", "--platform", "magento"),
            "platform must be one of",
        ),
        (("catalog", "add", "nowhere.example", "--platform", "shopify"), "unknown domain"),
        (("catalog", "sync", "nowhere.example"), "unknown domain"),
    ]:
        result = omni(*args)
        assert result.returncode == 1 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
