"""One check of a job's page ids against its domain, the same for every page job: a forged id
(not a page id, or a page of another domain) fails the job and says why; a deleted page is
dropped."""

from __future__ import annotations

import pytest

from core.config import get_settings
from db.tenants import add_domain
from workers.embed_job import run_embed
from workers.errors import PermanentError
from workers.extract_job import run_extract
from workers.job_pages import job_page_ids, requested_ids
from workers.optimize_job import run_optimize

DELETED = "00000000-0000-4000-8000-000000000000"
JOBS = {
    "extract": lambda db, job: run_extract(db, job),
    "optimize": lambda db, job: run_optimize(db, job, get_settings()),
    "embed": lambda db, job: run_embed(db, job, get_settings()),
}


@pytest.mark.parametrize(
    ("ids", "reason"),
    [
        ("not a list", "must be a list of page ids"),
        ([1, 2], "must be a list of page ids"),
        (["x' OR 1=1 --"], "is not a page id"),
    ],
)
def test_malformed_ids_are_refused_before_any_query(ids, reason):
    with pytest.raises(PermanentError, match=reason):
        requested_ids({"id": "j", "metadata": {"page_ids": ids}})


def test_ids_are_canonical_and_each_once():
    upper = DELETED.upper()
    assert requested_ids({"metadata": {"page_ids": [upper, DELETED]}}) == [DELETED]


@pytest.mark.parametrize("job_type", list(JOBS))
def test_a_page_of_another_domain_fails_every_page_job(db, add_html_page, make_job, job_type):

    other = add_domain(db, "other.test")
    theirs = db.execute(
        "INSERT INTO scraped_pages (domain_id, url, content) VALUES "
        "(%s, 'https://other.test/', 'secret') RETURNING id::text AS id",
        (other["id"],),
    ).fetchone()["id"]
    mine = add_html_page("faq", "<html><body><p>Our own page.</p></body></html>")
    with pytest.raises(PermanentError, match="names 1 page\\(s\\) of another domain"):
        JOBS[job_type](db, make_job(job_type, [mine, theirs]))


def test_a_deleted_page_is_dropped(db, add_html_page, make_job):
    mine = add_html_page("faq", "<html><body><p>Our own page.</p></body></html>")
    assert job_page_ids(db, make_job("extract", [DELETED, mine])) == [mine]
