"""The dashboard and `omni domain list` show per domain its documents, its API products and the
last catalogue sync."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime

import pytest
from psycopg.types.json import Jsonb
from starlette.testclient import TestClient

from dashboard.app import create_app
from db import tenants
from interfaces.cli.tenants_cmd import source_cells
from tests.support.paths import OMNI
from workers.catalog.sources import add_source, record


@pytest.fixture
def seeded(db) -> dict:

    shop = tenants.add_domain(db, "docs-shop.example")
    tenants.add_domain(db, "plain.example")
    for i, (status, content_type) in enumerate(
        [("scraped", "pdf"), ("scraped", "docx"), ("failed", "pdf"), ("scraped", None)]
    ):
        meta = {"content_type": content_type} if content_type else {}
        db.execute(
            "INSERT INTO scraped_pages (domain_id, url, status, metadata) VALUES (%s, %s, %s, %s)",
            (shop["id"], f"https://docs-shop.example/{i}", status, Jsonb(meta)),
        )
    for pid, source in (("1", "shop-api"), ("2", "shop-api"), ("3", "woocommerce")):
        db.execute(
            "INSERT INTO structured_extractions (domain_id, url, extract_type, extracted_data, "
            "schema_used) VALUES (%s, 'u', 'product', '{}', %s)",
            (shop["id"], Jsonb({"source": source, "product_id": pid})),
        )
    source = add_source(db, shop["id"], "woocommerce", "https://docs-shop.example")
    record(db, source["id"], "completed", products=2)
    return shop


def test_domain_list_shows_documents_products_and_last_sync(seeded):
    out = subprocess.run(
        [str(OMNI), "domain", "list"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "250"},
    ).stdout
    line = next(line for line in out.splitlines() if "docs-shop.example" in line)
    assert "2 (1 failed)" in line and "woocommerce completed" in line
    plain = next(line for line in out.splitlines() if "plain.example" in line)
    assert plain.rstrip(" │").endswith("-")


@pytest.mark.parametrize(
    "row, cells",
    [
        (
            {
                "documents": 0,
                "documents_failed": 0,
                "api_products": 0,
                "catalog_status": None,
                "last_catalog_sync": None,
            },
            ["0", "0", "-"],
        ),
        (
            {
                "documents": 4,
                "documents_failed": 1,
                "api_products": 12,
                "catalog_status": "shopify completed",
                "last_catalog_sync": datetime(2026, 1, 5, 9, 30),
            },
            ["4 (1 failed)", "12", "2026-01-05 09:30 (shopify completed)"],
        ),
        (
            {
                "documents": 0,
                "documents_failed": 0,
                "api_products": 0,
                "catalog_status": "woocommerce failed",
                "last_catalog_sync": None,
            },
            ["0", "0", "woocommerce failed"],
        ),
    ],
)
def test_source_cells(row, cells):
    assert source_cells(row) == cells


def test_dashboard_shows_documents_products_and_last_sync(seeded):

    with TestClient(create_app("127.0.0.1"), base_url="http://127.0.0.1") as client:
        listing = client.get("/domains").text
        detail = client.get("/domains/docs-shop.example").text
    row = listing.split('data-domain="docs-shop.example"')[1].split("</tr>")[0]
    assert '<td class="documents">2 <small>(1 failed)</small></td>' in row
    assert '<td class="api-products">2</td>' in row and "woocommerce completed" in row
    assert '<b id="domain-documents">2</b>' in detail
    assert '<b id="domain-api-products">2</b>' in detail
    assert (
        "(woocommerce completed)" in detail.split('id="domain-catalog-sync">')[1].split("</dd>")[0]
    )
