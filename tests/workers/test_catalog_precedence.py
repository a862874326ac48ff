"""The extract job leaves out a scraped product whose SKU the shop's API provides, and keeps the
API's row for the same page."""

from __future__ import annotations

from psycopg.types.json import Jsonb

from tests.support.extract_fixtures import page_html
from workers.extract_job import run_extract


def test_scraped_product_with_an_api_sku_is_not_stored(db, domain, add_html_page, make_job):
    db.execute(
        "INSERT INTO structured_extractions (domain_id, url, extract_type, extracted_data, "
        "schema_used, confidence_score) VALUES (%s, %s, 'product', "
        "%s, %s, 1.0)",
        (
            domain["id"],
            "https://shop.test/jsonld_product.html",
            Jsonb({"sku": "SO-TR3-BLK-M", "price": "139.00"}),
            Jsonb(
                {
                    "source": "shop-api",
                    "api": "woocommerce-rest-v3",
                    "platform": "woocommerce",
                    "product_id": "7",
                }
            ),
        ),
    )
    ids = [
        add_html_page(name, page_html(name)) for name in ("jsonld_product.html", "woo_product.html")
    ]
    run_extract(db, make_job("extract", ids))
    run_extract(db, make_job("extract", ids))  # a redelivery: the same rows
    rows = db.execute(
        "SELECT extracted_data->>'sku' AS sku, schema_used->>'source' AS source, "
        "extracted_data->>'price' AS price FROM structured_extractions "
        "WHERE extract_type = 'product' ORDER BY 1"
    ).fetchall()
    assert [(r["sku"], r["source"], r["price"]) for r in rows] == [
        ("BL-DRIP-02", "woocommerce", "24.50"),
        ("SO-TR3-BLK-M", "shop-api", "139.00"),
    ]
