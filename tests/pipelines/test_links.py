from __future__ import annotations

import pytest

from pipelines import links as links_module
from pipelines.extract import ExtractPipeline
from pipelines.hash import HashPipeline
from pipelines.links import LinksPipeline
from tests.pipelines.conftest import SITE, page_item, run_pipelines


def link(path: str, *, internal: bool = True, nofollow: bool = False) -> dict:
    return {
        "target_url": (SITE if internal else "https://elsewhere.example") + path,
        "anchor_text": path,
        "nofollow": nofollow,
        "is_internal": internal,
        "reference_type": "link",
    }


@pytest.mark.parametrize("chunk", [links_module.MARK_CHUNK, 1])  # 1: a statement per status
def test_links_pipeline_stores_references_and_marks_broken_ones(crawler, db, chunk, monkeypatch):
    monkeypatch.setattr(links_module, "MARK_CHUNK", chunk)
    crawler.spider.state.statuses.update(
        {SITE + "/gone": 404, SITE + "/fine": 200, SITE + "/same": 304}
    )
    links = [link("/gone"), link("/fine"), link("/same", nofollow=True), link("/x", internal=False)]
    out = run_pipelines(
        crawler,
        [ExtractPipeline, HashPipeline, LinksPipeline],
        [page_item("/", "<p>Home of the shop, with links.</p>", links=links)],
    )
    assert "links" not in out[0]
    rows = {
        r["target_url"]: r
        for r in db.execute(
            "SELECT source_url, target_url, is_internal, nofollow, is_broken, target_status "
            "FROM page_content_references"
        )
    }
    assert set(rows) == {link["target_url"] for link in links}
    assert all(r["source_url"] == SITE + "/" for r in rows.values())
    assert (rows[SITE + "/gone"]["is_broken"], rows[SITE + "/gone"]["target_status"]) == (True, 404)
    assert (rows[SITE + "/fine"]["is_broken"], rows[SITE + "/fine"]["target_status"]) == (
        False,
        200,
    )
    assert rows[SITE + "/same"]["target_status"] is None  # a 304 says nothing new
    assert (
        rows[SITE + "/same"]["nofollow"] and not rows["https://elsewhere.example/x"]["is_internal"]
    )
    assert crawler.spider.state.errors == []
