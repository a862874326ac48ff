"""Fixtures for the catalogue sync: the local shop API server, a registered domain on it, an
encryption key for the WooCommerce credentials, and the broker (the sync queues embed jobs)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.config import get_settings
from core.crypto import generate_key
from db import jobs
from db.connection import connect
from tests.support.environment import patched_environ
from tests.support.shop_apis import ShopApi, start, stop
from workers.catalog_sync_job import run_catalog_sync
from workers.job_runner import run_job


@pytest.fixture
def shop(db) -> Iterator[ShopApi]:
    api = start(ShopApi())
    yield api
    stop(api)


@pytest.fixture
def encryption_key(services_env) -> Iterator[str]:

    key = generate_key()
    with patched_environ({"OMNI_ENCRYPTION_KEY": key}):
        yield key


def run_sync(domain_id, platform: str | None = None) -> dict:
    """A catalog job through the real job runner (job row: running -> completed | failed)."""

    with connect(autocommit=True) as conn:
        job_id = jobs.create(conn, domain_id, "catalog", {"platform": platform} if platform else {})
    try:
        run_job(str(job_id), ("catalog",), run_catalog_sync, get_settings())
    finally:
        with connect(autocommit=True) as conn:
            job = jobs.get(conn, job_id)
    return job
