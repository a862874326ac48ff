"""The four columns the chat app reads (migration 0075) stay equal to the facts they copy,
whichever row changes and whoever writes it: domains.customer_config_id
(customer_configs.domain_id),
customer_configs.shopify_shop (catalog_sources), domains.domain_name (domains.domain) and the
fixed, generated customer_configs.app_id."""

from __future__ import annotations

import re
from typing import Any

import pytest

from db import migrate as migrations
from db import vector_indexes
from db.connection import connect
from tests.support.tenants import as_tenant


@pytest.fixture
def shop(db) -> dict[str, Any]:
    user = db.execute(
        "INSERT INTO auth.users (email) VALUES ('o@auth.test') RETURNING id"
    ).fetchone()["id"]
    customer = db.execute(
        "INSERT INTO customers (auth_user_id, email) VALUES (%s, 'o@x.test') RETURNING id", (user,)
    ).fetchone()["id"]
    domains = [
        db.execute(
            "INSERT INTO domains (domain, user_id) VALUES (%s, %s) RETURNING id", (name, user)
        ).fetchone()["id"]
        for name in ("one.test", "two.test")
    ]
    return {"user": user, "customer": customer, "one": domains[0], "two": domains[1]}


def _config_of(db, domain_id: Any) -> Any:
    return db.execute(
        "SELECT customer_config_id FROM domains WHERE id = %s", (domain_id,)
    ).fetchone()["customer_config_id"]


def _shop_of(db, config_id: Any) -> Any:
    return db.execute(
        "SELECT shopify_shop FROM customer_configs WHERE id = %s", (config_id,)
    ).fetchone()["shopify_shop"]


def _add_config(db, shop: dict[str, Any], domain: str = "one") -> Any:
    return db.execute(
        "INSERT INTO customer_configs (customer_id, domain_id) VALUES (%s, %s) RETURNING id",
        (shop["customer"], shop[domain]),
    ).fetchone()["id"]


def test_customer_config_id_follows_the_config(db, shop) -> None:
    assert _config_of(db, shop["one"]) is None
    config = _add_config(db, shop)
    assert _config_of(db, shop["one"]) == config
    db.execute("UPDATE customer_configs SET domain_id = %s WHERE id = %s", (shop["two"], config))
    assert (_config_of(db, shop["one"]), _config_of(db, shop["two"])) == (None, config)
    db.execute("DELETE FROM customer_configs WHERE id = %s", (config,))
    assert _config_of(db, shop["two"]) is None


def test_customer_config_id_cannot_be_written_on_the_domain(db, shop) -> None:
    config = _add_config(db, shop)
    db.execute("UPDATE domains SET customer_config_id = NULL WHERE id = %s", (shop["one"],))
    db.execute("UPDATE domains SET customer_config_id = %s WHERE id = %s", (config, shop["two"]))
    assert (_config_of(db, shop["one"]), _config_of(db, shop["two"])) == (config, None)


def test_a_tenants_own_config_fills_its_domain(db, shop) -> None:
    with as_tenant(db, shop["user"]) as conn:
        config = conn.execute(
            "INSERT INTO customer_configs (customer_id, domain_id, shopify_shop, "
            "app_id) VALUES (%s, %s, 'victim.myshopify.com', 'app_chosen') "
            "RETURNING id, app_id, shopify_shop",
            (shop["customer"], shop["one"]),
        ).fetchone()
        assert _config_of(conn, shop["one"]) == config["id"]
        assert config["shopify_shop"] is None  # no Shopify source: not what it wrote
        assert config["app_id"] != "app_chosen"  # a tenant cannot pick the public id
        conn.execute("UPDATE domains SET customer_config_id = NULL WHERE id = %s", (shop["one"],))
        assert _config_of(conn, shop["one"]) == config["id"]


@pytest.mark.parametrize("order", ["source then config", "config then source"])
def test_shopify_shop_from_the_catalogue_source(db, shop, order: str) -> None:
    def source() -> None:
        db.execute(
            "INSERT INTO catalog_sources (domain_id, platform, base_url) VALUES "
            "(%s, 'shopify', 'https://Store.One.test:8443/shop/')",
            (shop["one"],),
        )

    if order == "source then config":
        source()
        config = _add_config(db, shop)
    else:
        config = _add_config(db, shop)
        source()
    assert _shop_of(db, config) == "store.one.test"


def test_shopify_shop_follows_every_change_of_the_source(db, shop) -> None:
    config = _add_config(db, shop)
    db.execute(
        "INSERT INTO catalog_sources (domain_id, platform) VALUES (%s, 'woocommerce')",
        (shop["one"],),
    )
    assert _shop_of(db, config) is None  # not a Shopify source
    db.execute(
        "INSERT INTO catalog_sources (domain_id, platform) VALUES (%s, 'shopify')", (shop["one"],)
    )
    assert _shop_of(db, config) == "one.test"  # no base_url: the domain's storefront
    db.execute(
        "UPDATE catalog_sources SET base_url = 'https://shop.one.test' WHERE platform = 'shopify'"
    )
    assert _shop_of(db, config) == "shop.one.test"
    db.execute("UPDATE catalog_sources SET active = false WHERE platform = 'shopify'")
    assert _shop_of(db, config) is None
    db.execute("UPDATE catalog_sources SET active = true WHERE platform = 'shopify'")
    db.execute(
        "UPDATE catalog_sources SET domain_id = %s WHERE platform = 'shopify'", (shop["two"],)
    )
    assert _shop_of(db, config) is None  # moved away from the config's domain
    db.execute(
        "UPDATE catalog_sources SET domain_id = %s WHERE platform = 'shopify'", (shop["one"],)
    )
    assert _shop_of(db, config) == "shop.one.test"
    db.execute(
        "UPDATE customer_configs SET shopify_shop = 'other.myshopify.com' WHERE id = %s", (config,)
    )
    assert _shop_of(db, config) == "shop.one.test"  # the copy cannot be written
    db.execute("DELETE FROM catalog_sources WHERE platform = 'shopify'")
    assert _shop_of(db, config) is None


def test_domain_name_is_the_domain(db, shop) -> None:
    db.execute("UPDATE domains SET domain = 'renamed.test' WHERE id = %s", (shop["one"],))
    row = db.execute(
        "SELECT domain, domain_name FROM domains WHERE id = %s", (shop["one"],)
    ).fetchone()
    assert row["domain_name"] == row["domain"] == "renamed.test"
    with pytest.raises(Exception, match="generated"):
        db.execute("UPDATE domains SET domain_name = 'x.test' WHERE id = %s", (shop["one"],))


def test_app_id_is_generated_unique_and_fixed(db, shop) -> None:
    first, second = _add_config(db, shop, "one"), _add_config(db, shop, "two")
    ids = {r["id"]: r["app_id"] for r in db.execute("SELECT id, app_id FROM customer_configs")}
    assert all(re.fullmatch(r"app_[0-9a-f]{16}", v) for v in ids.values())
    assert ids[first] != ids[second]
    db.execute(
        "UPDATE customer_configs SET app_id = 'app_changed', domain = 'one.test' WHERE id = %s",
        (first,),
    )
    assert (
        db.execute("SELECT app_id FROM customer_configs WHERE id = %s", (first,)).fetchone()[
            "app_id"
        ]
        == ids[first]
    )
    # the pipeline may bring an existing id (an import), once
    db.execute("DELETE FROM customer_configs WHERE id = %s", (second,))
    kept = db.execute(
        "INSERT INTO customer_configs (customer_id, domain_id, app_id) VALUES "
        "(%s, %s, 'app_0123456789abcdef') RETURNING app_id",
        (shop["customer"], shop["two"]),
    ).fetchone()["app_id"]
    assert kept == "app_0123456789abcdef"


def test_existing_rows_get_the_columns_when_0075_applies(
    scratch_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An install from before 0075 with configs, a Shopify source and an own vector index of
    the old definition: after the upgrade the copies are filled, every config has its own app_id,
    and the old index no longer counts (search is exact until it is rebuilt)."""

    everything = migrations.discover()
    with connect(autocommit=True, dsn=scratch_database) as conn:
        monkeypatch.setattr(
            migrations, "discover", lambda *_: [m for m in everything if int(m.version) < 75]
        )
        migrations.migrate(conn)
        user = conn.execute(
            "INSERT INTO auth.users (email) VALUES ('u@x.test') RETURNING id"
        ).fetchone()["id"]
        customer = conn.execute(
            "INSERT INTO customers (auth_user_id, email) VALUES (%s, 'u@x.test') RETURNING id",
            (user,),
        ).fetchone()["id"]
        domains = [
            conn.execute(
                "INSERT INTO domains (domain, user_id) VALUES (%s, %s) RETURNING id", (name, user)
            ).fetchone()["id"]
            for name in ("a.test", "b.test")
        ]
        for d in domains:
            conn.execute(
                "INSERT INTO customer_configs (customer_id, domain_id) VALUES (%s, %s)",
                (customer, d),
            )
        conn.execute(
            "INSERT INTO catalog_sources (domain_id, platform) VALUES (%s, 'shopify')",
            (domains[0],),
        )
        conn.execute(
            f'CREATE INDEX "{vector_indexes.index_name(domains[0])}" ON page_embeddings '
            f"USING hnsw (embedding vector_cosine_ops) WHERE domain_id = '{domains[0]}'::uuid"
        )

        monkeypatch.setattr(migrations, "discover", lambda *_: everything)
        assert {"0075", "0076"} <= {m.version for m in migrations.migrate(conn)}
        rows = conn.execute(
            "SELECT d.domain, d.domain_name, d.customer_config_id = c.id AS linked, "
            "c.shopify_shop, c.app_id FROM domains d JOIN customer_configs c "
            "ON c.domain_id = d.id ORDER BY 1"
        ).fetchall()
        assert [(r["domain_name"], r["linked"], r["shopify_shop"]) for r in rows] == [
            ("a.test", True, "a.test"),
            ("b.test", True, None),
        ]
        assert len({r["app_id"] for r in rows}) == 2
        assert vector_indexes.existing_indexes(conn) == {
            vector_indexes.index_name(domains[0]): False
        }
