"""Catalogue sync against local servers speaking WooCommerce REST v3 and Shopify's
/products.json: pagination, 429 + Retry-After, 401 with a wrong key, and a product changed,
added and deleted between two syncs; API rows win over scraped ones; secrets stay secret;
product facts are embedded and found by search."""

from __future__ import annotations

import json
import logging

import pytest
from dramatiq import Retry
from psycopg.types.json import Jsonb

from core.config import get_settings
from db import tenants
from db.credentials import set_woocommerce
from tests.support.catalog_fixtures import run_sync
from workers.catalog import shopify, woocommerce
from workers.catalog.sources import add_source, modified_after
from workers.embed_job import run_embed
from workers.errors import PermanentError
from workers.search import search


def products(db, source: str) -> dict[str, dict]:
    return {
        r["schema_used"]["product_id"]: r
        for r in db.execute(
            "SELECT * FROM structured_extractions WHERE extract_type = 'product' "
            "AND schema_used->>'source' = 'shop-api' AND schema_used->>'platform' = %s",
            (source,),
        ).fetchall()
    }


def embed_jobs(db) -> list[dict]:
    return db.execute(
        "SELECT * FROM content_refresh_jobs WHERE job_type = 'embed' ORDER BY created_at"
    ).fetchall()


def woo_setup(db, shop):

    domain = tenants.add_domain(db, shop.domain)
    set_woocommerce(db, shop.domain, shop.key, shop.secret, url=shop.base_url)
    add_source(db, domain["id"], "woocommerce", None)
    return domain


def test_woocommerce_sync_is_paged_incremental_and_wins_over_scraped_rows(
    db, shop, encryption_key, broker, monkeypatch, caplog
):

    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(woocommerce, "PER_PAGE", 2)
    shop.woo_product(1, "Alpine tent", "ALP-2", "299.00", 12, type="variable")
    shop.woo_variations[1] = [
        {
            "id": 11,
            "sku": "ALP-2-GRN",
            "price": "299.00",
            "stock_status": "instock",
            "stock_quantity": 7,
            "attributes": [{"name": "Colour", "option": "Green"}],
        },
        {
            "id": 12,
            "sku": "ALP-2-RED",
            "price": "309.00",
            "stock_status": "outofstock",
            "stock_quantity": 0,
            "attributes": [{"name": "Colour", "option": "Red"}],
        },
    ]
    shop.woo_product(2, "Summit stove", "STV-1", "89.00", 3)
    shop.woo_product(3, "Trail mat", "MAT-1", "45.00", None)
    shop.woo_product(4, "Dome tent", "DOM-3", "199.00", 2)
    shop.woo_product(5, "Camp chair", "CHR-1", "39.00", 40)
    domain = woo_setup(db, shop)
    # what the crawler scraped from the shop's pages: the API's SKU loses, another SKU stays
    for sku, price in (("ALP-2", "279.00"), ("NOT-IN-API", "5.00")):
        db.execute(
            "INSERT INTO structured_extractions (domain_id, url, extract_type, "
            "extracted_data, schema_used, confidence_score) VALUES (%s, %s, 'product', "
            "%s, %s, 0.8)",
            (
                domain["id"],
                f"{shop.base_url}/p/{sku}",
                Jsonb({"sku": sku, "price": price}),
                Jsonb({"source": "json-ld"}),
            ),
        )
    shop.throttle = [1]  # the first request gets 429 Retry-After: 1

    first = run_sync(domain["id"])
    assert first["status"] == "completed", first["error_message"]
    stats = first["metadata"]["woocommerce"]
    assert (stats["added"], stats["listed"], stats["retries"]) == (5, 5, 1)
    assert stats["waited_s"] >= 1 and not stats["incremental"]
    listing = [
        r.query["page"]
        for r in shop.requests
        if r.path == "/wp-json/wc/v3/products"
        and r.status == 200
        and r.query.get("_fields") != "id"
    ]
    assert listing == ["1", "2", "3"]  # 5 products, 2 per page
    rows = products(db, "woocommerce")
    alpine = rows["1"]
    assert alpine["confidence_score"] == 1.0
    assert alpine["schema_used"] == {
        "source": "shop-api",
        "api": "woocommerce-rest-v3",
        "platform": "woocommerce",
        "product_id": "1",
    }
    assert alpine["url"] == f"{shop.base_url}/product/alpine-tent/"
    data = alpine["extracted_data"]
    assert (data["sku"], data["price"], data["in_stock"], data["stock_quantity"]) == (
        "ALP-2",
        "299.00",
        True,
        12,
    )
    assert [(v["sku"], v["name"], v["in_stock"]) for v in data["variants"]] == [
        ("ALP-2-GRN", "Green", True),
        ("ALP-2-RED", "Red", False),
    ]
    assert data["categories"] == ["Tents"] and rows["3"]["extracted_data"]["in_stock"] is True
    scraped = db.execute(
        "SELECT extracted_data->>'sku' AS sku FROM structured_extractions "
        "WHERE schema_used->>'source' = 'json-ld'"
    ).fetchall()
    assert [r["sku"] for r in scraped] == ["NOT-IN-API"]
    facts_pages = db.execute("SELECT * FROM scraped_pages WHERE url LIKE 'catalog:%%'").fetchall()
    assert len(facts_pages) == 5 and all(
        p["metadata"]["content_type"] == "product" for p in facts_pages
    )
    assert [len(j["metadata"]["page_ids"]) for j in embed_jobs(db)] == [5]
    source = db.execute("SELECT * FROM catalog_sources").fetchone()
    assert source["last_status"] == "completed" and source["products"] == 5
    assert source["sync_cursor"] is not None

    # between syncs: a price changes, a product is added, one is deleted in the store
    shop.woo_products[2].update(
        price="79.00", regular_price="89.00", sale_price="79.00", date_modified_gmt=shop.tick()
    )
    shop.woo_product(6, "Lantern", "LNT-1", "25.00", 9)
    del shop.woo_products[3]
    shop.requests.clear()
    second = run_sync(domain["id"])
    stats = second["metadata"]["woocommerce"]
    # changed + added, and the product modified at the cursor itself (read again: 1 s overlap)
    assert (
        stats["fetched"],
        stats["added"],
        stats["updated"],
        stats["unchanged"],
        stats["deleted"],
    ) == (3, 1, 1, 1, 1)
    assert stats["incremental"] is True
    changed_after = {
        r.query.get("modified_after")
        for r in shop.requests
        if r.path == "/wp-json/wc/v3/products" and r.query.get("_fields") != "id"
    }
    assert changed_after == {modified_after(source["sync_cursor"])}  # the cursor, less 1 s
    rows = products(db, "woocommerce")
    assert set(rows) == {"1", "2", "4", "5", "6"}
    assert rows["2"]["extracted_data"]["price"] == "79.00"
    assert (
        db.execute(
            "SELECT count(*) AS n FROM scraped_pages WHERE url LIKE 'catalog:%%'"
        ).fetchone()["n"]
        == 5
    )
    assert [len(j["metadata"]["page_ids"]) for j in embed_jobs(db)] == [5, 2]

    # nothing changed: nothing written, no embed job; the facts pages count as checked now
    db.execute("UPDATE scraped_pages SET scraped_at = now() - interval '30 days'")
    third = run_sync(domain["id"])
    stats = third["metadata"]["woocommerce"]
    assert (stats["added"], stats["updated"], stats["deleted"]) == (0, 0, 0)
    assert len(embed_jobs(db)) == 2
    assert (
        db.execute(
            "SELECT count(*) AS n FROM scraped_pages WHERE url LIKE 'catalog:%%' "
            "AND scraped_at > now() - interval '1 hour'"
        ).fetchone()["n"]
        == 5
    )

    # the secrets are in no log line, job row or source row
    dumped = json.dumps(
        [
            dict(r)
            for r in db.execute(
                "SELECT metadata, error_message FROM content_refresh_jobs"
            ).fetchall()
        ],
        default=str,
    )
    dumped += json.dumps(
        [dict(r) for r in db.execute("SELECT * FROM catalog_sources").fetchall()], default=str
    )
    for secret in (shop.key, shop.secret):
        assert secret not in caplog.text and secret not in dumped


def test_woocommerce_wrong_key_and_long_rate_limit_are_recorded(db, shop, encryption_key, caplog):

    caplog.set_level(logging.DEBUG)
    shop.woo_product(1, "Alpine tent", "ALP-2", "299.00", 12)
    domain = woo_setup(db, shop)
    set_woocommerce(db, shop.domain, "ck_wrong_key_999", "cs_wrong_secret_999")
    with pytest.raises(PermanentError):
        run_sync(domain["id"])
    job = db.execute("SELECT * FROM content_refresh_jobs WHERE job_type = 'catalog'").fetchone()
    assert job["status"] == "failed"
    assert job["error_message"] == (
        "woocommerce API refused the credentials (HTTP 401: woocommerce_rest_authentication_error)"
    )
    source = db.execute("SELECT * FROM catalog_sources").fetchone()
    assert source["last_status"] == "failed" and "HTTP 401" in source["last_error"]
    assert products(db, "woocommerce") == {}
    for secret in ("ck_wrong_key_999", "cs_wrong_secret_999"):
        assert secret not in caplog.text and secret not in json.dumps(job, default=str)

    # a Retry-After longer than a worker should sleep: the job goes back for a later retry
    set_woocommerce(db, shop.domain, shop.key, shop.secret)
    shop.throttle = [120]

    with pytest.raises(Retry):
        run_sync(domain["id"])
    retried = db.execute(
        "SELECT * FROM content_refresh_jobs WHERE job_type = 'catalog' "
        "ORDER BY created_at DESC LIMIT 1"
    ).fetchone()
    assert retried["status"] == "pending" and "HTTP 429" in retried["error_message"]


def test_shopify_sync_pages_and_follows_changes(db, shop, broker, monkeypatch):

    monkeypatch.setattr(shopify, "PER_PAGE", 2)
    shop.shopify_product(
        101,
        "Summit stove",
        [{"id": 1, "title": "Default Title", "sku": "STV-1", "price": "89.00", "available": True}],
    )
    shop.shopify_product(
        102,
        "Kettle",
        [
            {"id": 2, "title": "1 l", "sku": "KTL-1", "price": "25.00", "available": True},
            {"id": 3, "title": "2 l", "sku": "KTL-2", "price": "32.00", "available": False},
        ],
    )
    shop.shopify_product(
        103,
        "Fuel canister",
        [{"id": 4, "title": "Default Title", "sku": "FUEL", "price": "6.00", "available": False}],
    )
    domain = tenants.add_domain(db, shop.domain)
    add_source(db, domain["id"], "shopify", shop.base_url)

    first = run_sync(domain["id"])
    stats = first["metadata"]["shopify"]
    assert (stats["added"], stats["listed"]) == (3, 3)
    assert [r.query["page"] for r in shop.seen("/products.json")] == ["1", "2"]
    assert all(r.authorization is None for r in shop.requests)  # public: no credentials
    rows = products(db, "shopify")
    stove = rows["101"]
    assert (
        stove["schema_used"]["api"] == "shopify-products-json" and stove["confidence_score"] == 1.0
    )
    assert stove["url"] == f"{shop.base_url}/products/summit-stove"
    assert (stove["extracted_data"]["sku"], stove["extracted_data"]["in_stock"]) == ("STV-1", True)
    kettle = rows["102"]["extracted_data"]
    assert [(v["sku"], v["in_stock"]) for v in kettle["variants"]] == [
        ("KTL-1", True),
        ("KTL-2", False),
    ]
    assert rows["103"]["extracted_data"]["in_stock"] is False

    shop.shopify_products[101]["variants"][0]["price"] = "99.00"
    shop.shopify_products[101]["updated_at"] = shop.tick() + "Z"
    shop.shopify_product(
        104,
        "Pot set",
        [{"id": 5, "title": "Default Title", "sku": "POT-3", "price": "45.00", "available": True}],
    )
    del shop.shopify_products[103]
    second = run_sync(domain["id"])
    stats = second["metadata"]["shopify"]
    assert (stats["added"], stats["updated"], stats["unchanged"], stats["deleted"]) == (1, 1, 1, 1)
    rows = products(db, "shopify")
    assert set(rows) == {"101", "102", "104"} and rows["101"]["extracted_data"]["price"] == "99.00"
    assert [len(j["metadata"]["page_ids"]) for j in embed_jobs(db)] == [3, 2]


def test_product_facts_answer_a_stock_question(db, shop, broker):

    shop.shopify_product(
        201,
        "Alpine tent",
        [{"id": 1, "title": "Default Title", "sku": "ALP-2", "price": "299.00", "available": True}],
    )
    shop.shopify_product(
        202,
        "Camp chair",
        [{"id": 2, "title": "Default Title", "sku": "CHR-1", "price": "39.00", "available": False}],
    )
    shop.shopify_product(
        203,
        "Summit stove",
        [{"id": 3, "title": "Default Title", "sku": "STV-1", "price": "89.00", "available": True}],
    )
    domain = tenants.add_domain(db, shop.domain)
    add_source(db, domain["id"], "shopify", shop.base_url)
    assert run_sync(domain["id"])["status"] == "completed"
    run_embed(db, embed_jobs(db)[0], get_settings())
    best = search(db, "is the Alpine tent in stock?", shop.domain, k=3, settings=get_settings())[0]
    assert best["title"] == "Alpine tent" and "Availability: in stock" in best["chunk"]
    assert best["link"] == f"{shop.base_url}/products/alpine-tent"


@pytest.mark.parametrize(
    "base_url, reason",
    [
        ("https://elsewhere.example", "is not the domain"),
        ("ftp://127.0.0.1/", r"is not an http\(s\) URL"),
    ],
)
def test_a_source_url_off_the_site_is_refused(db, shop, base_url, reason):

    domain = tenants.add_domain(db, shop.domain)
    add_source(db, domain["id"], "shopify", base_url)
    with pytest.raises(PermanentError, match=reason):
        run_sync(domain["id"])
    assert not shop.requests
