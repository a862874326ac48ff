from __future__ import annotations

from pipelines.extract import ExtractPipeline
from tests.pipelines.conftest import page_item, run_pipelines


def test_extract_pipeline_fills_the_page_and_passes_other_items(crawler):
    page = page_item("/tents", "<h1>Tents</h1><p>Our tents keep you dry in every storm.</p>")
    failed = {"kind": "failed", "url": "https://shop.example/x", "error": "HTTP 500"}
    out_page, out_failed = run_pipelines(crawler, [ExtractPipeline], [page, dict(failed)])
    extracted = out_page["extracted"]
    assert extracted.title == "/tents"
    assert "Our tents keep you dry in every storm." in extracted.text
    assert out_page["fingerprint"] and out_page["block_keys"]
    assert "root" not in out_page
    assert out_failed == failed
