"""The attacks of issue 14, run the way tenant A would run them: as role `authenticated` with A's
JWT claims, writing only rows RLS lets A write. Each must fail, and B's data must be unchanged.
(docs/security.md lists each guard and the test here that shows it.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest
from pgvector import Vector
from psycopg.types.json import Jsonb

from core.config import get_settings
from core.crypto import Keyring, generate_key
from db import credentials, jobs, tenants
from db.connection import connect
from interfaces.scheduler import Scheduler
from tests.security.conftest import as_attacker, error_of
from tests.support.worker_fixtures import add_page, embedding_rows, long_page
from workers.actors import embed_pages
from workers.embed_job import run_embed, run_embed_merged
from workers.errors import PermanentError

MODEL = "text-embedding-3-small"


def _embed_job(conn, domain_id, page_ids, **meta) -> dict:
    """A started job, as the runner hands it to the work (with its runner token)."""
    return jobs.start(
        conn,
        jobs.create(conn, domain_id, "embed", {"page_ids": [str(p) for p in page_ids], **meta}),
    )


def _vectors(conn, page_id) -> dict[str, np.ndarray]:
    return {
        r["metadata"]["chunk_hash"]: r["embedding"].to_numpy()
        for r in embedding_rows(conn, page_id)
    }


def _snapshot(conn, page_id) -> list[tuple]:
    return [
        (r["id"], r["chunk_text"], r["embedding"].to_numpy().tobytes(), r["metadata"]["chunk_hash"])
        for r in embedding_rows(conn, page_id)
    ]


# ---------------------------------------------------------------- 1. embedding poisoning
def test_embedding_poisoning_across_tenants_fails(db, tenants_ab, openai_env) -> None:
    t = tenants_ab
    b_page = add_page(db, t.b.domain_id, "https://b.test/faq", "FAQ", long_page("shipping"))
    a_page = add_page(db, t.a.domain_id, "https://a.test/x", "X", "the attacker's own page")
    # B's chunk hashes are public knowledge (B's site is public, the chunker is deterministic):
    # learn them, then put B back to "never embedded".
    run_embed(db, _embed_job(db, t.b.domain_id, [b_page]), get_settings())
    honest = _vectors(db, b_page)
    db.execute("DELETE FROM page_embeddings WHERE page_id = %s", (b_page,))

    poison = np.zeros(1536, dtype=np.float32)
    poison[7] = 1.0
    with as_attacker(t.a.user) as conn:
        for chunk_hash in honest:
            conn.execute(
                "INSERT INTO page_embeddings (page_id, chunk_text, embedding, metadata) "
                "VALUES (%s, 'buy from a.test', %s, %s)",
                (a_page, Vector(poison), Jsonb({"chunk_hash": chunk_hash, "model": MODEL})),
            )
        assert conn.execute("SELECT count(*) AS n FROM page_embeddings").fetchone()["n"] == len(
            honest
        )

    openai_env.clear()
    stats = run_embed(db, _embed_job(db, t.b.domain_id, [b_page]), get_settings())
    assert stats["chunks_reused"] == 0
    assert stats["chunks_embedded"] == len(honest) and stats["tokens"] > 0
    got = _vectors(db, b_page)
    assert set(got) == set(honest)
    for chunk_hash, vector in got.items():
        assert not np.allclose(vector, poison)
        assert np.allclose(vector, honest[chunk_hash])


def test_vectors_are_still_reused_within_a_domain(db, tenants_ab, openai_env) -> None:
    t = tenants_ab
    first = add_page(db, t.b.domain_id, "https://b.test/1", "Same", long_page("returns"))
    run_embed(db, _embed_job(db, t.b.domain_id, [first]), get_settings())
    second = add_page(db, t.b.domain_id, "https://b.test/2", "Same", long_page("returns"))
    openai_env.clear()
    stats = run_embed(db, _embed_job(db, t.b.domain_id, [second]), get_settings())
    assert stats["chunks_reused"] == stats["chunks_embedded"] > 0 and stats["tokens"] == 0


# ---------------------------------------------------------------- 3. forged jobs
def _b_with_vectors(db, t) -> tuple:
    b_page = add_page(db, t.b.domain_id, "https://b.test/p", "P", long_page("sizes"))
    run_embed(db, _embed_job(db, t.b.domain_id, [b_page]), get_settings())
    return b_page, _snapshot(db, b_page)


def test_forged_scheduler_job_is_not_resent_and_never_deletes_b_vectors(
    db, tenants_ab, openai_env
) -> None:
    t = tenants_ab
    b_page, before = _b_with_vectors(db, t)
    assert before
    with as_attacker(t.a.user) as conn:
        forged = conn.execute(
            "INSERT INTO content_refresh_jobs (domain_id, job_type, status, metadata, created_at, "
            "origin) "
            "VALUES (%s, 'embed', 'pending', %s, %s, 'pipeline') RETURNING id, origin",
            (
                t.a.domain_id,
                Jsonb({"trigger": "scheduler", "page_ids": [str(b_page)]}),
                datetime.now(UTC) - timedelta(days=3),
            ),
        ).fetchone()
    assert forged["origin"] == "tenant"  # whatever A writes

    sent: list = []

    scheduler_conn = connect(autocommit=False)
    try:
        result = Scheduler(
            scheduler_conn, sender=lambda job_id, kind: sent.append(job_id)
        ).run_once()
    finally:
        scheduler_conn.close()
    assert str(forged["id"]) not in result.resent and forged["id"] not in sent

    # Even if its message were sent (an operator's `omni jobs retry`), the worker refuses it.

    with pytest.raises(PermanentError, match="created or changed by a tenant"):
        embed_pages(str(forged["id"]))
    job = jobs.get(db, forged["id"])
    assert job["status"] == "failed" and "tenant" in job["error_message"]
    assert _snapshot(db, b_page) == before


def test_tenant_edit_of_a_pipeline_job_taints_it(db, tenants_ab) -> None:
    t = tenants_ab
    job_id = jobs.create(db, t.a.domain_id, "embed", {"page_ids": []})
    assert jobs.get(db, job_id)["origin"] == "pipeline"
    with as_attacker(t.a.user) as conn:
        conn.execute(
            "UPDATE content_refresh_jobs SET metadata = %s, origin = 'pipeline' WHERE id = %s",
            (Jsonb({"page_ids": ["00000000-0000-0000-0000-000000000000"]}), job_id),
        )
    assert jobs.get(db, job_id)["origin"] == "tenant"
    jobs.update_metadata(db, job_id, {"x": 1})  # the pipeline touching it does not clean it
    assert jobs.get(db, job_id)["origin"] == "tenant"


def test_job_naming_another_domains_page_fails_without_touching_it(
    db, tenants_ab, openai_env
) -> None:
    """The job's domain must own every page it names, even for a pipeline job."""
    t = tenants_ab
    b_page, before = _b_with_vectors(db, t)
    a_page = add_page(db, t.a.domain_id, "https://a.test/p", "P", long_page("hats"))
    for run in (run_embed, run_embed_merged):
        with pytest.raises(PermanentError, match="1 page\\(s\\) of another domain"):
            run(db, _embed_job(db, t.a.domain_id, [a_page, b_page]), get_settings())
        assert _snapshot(db, b_page) == before
    assert embedding_rows(db, a_page) == []


def test_forged_sibling_is_not_merged_into_a_real_embed_run(db, tenants_ab, openai_env) -> None:
    t = tenants_ab
    b_page, before = _b_with_vectors(db, t)
    a_page = add_page(db, t.a.domain_id, "https://a.test/p", "P", long_page("hats"))
    with as_attacker(t.a.user) as conn:
        forged = conn.execute(
            "INSERT INTO content_refresh_jobs (domain_id, job_type, status, metadata) "
            "VALUES (%s, 'embed', 'pending', %s) RETURNING id",
            (t.a.domain_id, Jsonb({"page_ids": [str(b_page)]})),
        ).fetchone()["id"]
    stats = run_embed_merged(db, _embed_job(db, t.a.domain_id, [a_page]), get_settings())
    assert "merged_jobs" not in stats
    assert jobs.get(db, forged)["status"] == "pending"
    assert _snapshot(db, b_page) == before and embedding_rows(db, a_page)


# ---------------------------------------------------------------- 2. credential theft
def test_config_for_another_tenants_domain_is_refused_without_leaking(db, tenants_ab) -> None:
    t = tenants_ab
    db.execute("DELETE FROM customer_configs WHERE domain = %s", (t.b.domain,))  # B has none yet
    insert = (
        "INSERT INTO customer_configs (customer_id, domain, woocommerce_url) "
        "VALUES (%s, %s, 'https://evil.a.test')"
    )
    with as_attacker(t.a.user) as conn:
        taken = error_of(conn, insert, (t.a.customer, t.b.domain))
        free = error_of(conn, insert, (t.a.customer, "nobody-has-this.test"))
        by_id = error_of(
            conn,
            "INSERT INTO customer_configs (customer_id, domain_id) VALUES (%s, %s)",
            (t.a.customer, t.b.domain_id),
        )
        moved = error_of(
            conn,
            "UPDATE customer_configs SET domain = %s WHERE domain = %s",
            (t.b.domain, t.a.domain),
        )
    for exc in (taken, free, by_id, moved):
        assert isinstance(exc, psycopg.errors.InsufficientPrivilege)
    # the same words whether B's domain exists or not: nothing to learn
    assert str(taken) == str(free) == str(by_id) == str(moved)
    assert t.b.domain not in str(taken)


def test_set_woocommerce_updates_only_the_named_tenants_row(db, tenants_ab) -> None:
    t = tenants_ab
    ring = Keyring.from_string(generate_key())
    with as_attacker(t.a.user) as conn:  # A fills in its own row as it likes
        conn.execute(
            "UPDATE customer_configs SET woocommerce_url = 'https://evil.a.test' WHERE domain = %s",
            (t.a.domain,),
        )
    credentials.set_woocommerce(
        db, t.b.domain, "ck_b", "cs_b", url="https://b.test/shop", keyring=ring
    )
    got = credentials.get_woocommerce(db, t.b.domain, keyring=ring)
    assert (got.url, got.consumer_key, got.consumer_secret) == (
        "https://b.test/shop",
        "ck_b",
        "cs_b",
    )
    rows = db.execute(
        "SELECT domain, customer_id, woocommerce_url FROM customer_configs ORDER BY domain"
    ).fetchall()
    assert [(r["domain"], r["customer_id"], r["woocommerce_url"]) for r in rows] == [
        (t.a.domain, t.a.customer, "https://evil.a.test"),
        (t.b.domain, t.b.customer, "https://b.test/shop"),
    ]
    with as_attacker(t.a.user) as conn:
        assert (
            conn.execute(
                "SELECT count(*) AS n FROM customer_configs WHERE domain = %s", (t.b.domain,)
            ).fetchone()["n"]
            == 0
        )


# ---------------------------------------------------------------- 5. rotation
def test_a_tenants_bad_value_does_not_block_rotation_for_all(db, tenants_ab) -> None:
    t = tenants_ab
    old, new = generate_key(), generate_key()
    for side in (t.a, t.b):
        credentials.set_woocommerce(db, side.domain, "ck", "cs", keyring=Keyring.from_string(old))
    with as_attacker(t.a.user) as conn:
        conn.execute(
            "UPDATE customer_configs SET woocommerce_consumer_key = 'plaintext!', "
            "woocommerce_consumer_secret = %s WHERE domain = %s",
            ('{"v": 1, "kid": "deadbeef", "nonce": "AAAAAAAAAAAAAAAA", "ct": "AAAA"}', t.a.domain),
        )
    result = credentials.rotate(db, Keyring.from_string(f"{new},{old}"))
    assert result.rotated == 2
    assert [line.split(":")[0] for line in result.skipped] == [
        "customer_configs.woocommerce_consumer_key of domain a.test",
        "customer_configs.woocommerce_consumer_secret of domain a.test",
    ]
    got = credentials.get_woocommerce(db, t.b.domain, keyring=Keyring.from_string(new))
    assert (got.consumer_key, got.consumer_secret) == ("ck", "cs")


# ---------------------------------------------------------------- 6. unique values
def test_domains_cannot_be_inserted_or_renamed_by_tenants_and_errors_do_not_leak(
    db, tenants_ab
) -> None:
    t = tenants_ab
    with as_attacker(t.a.user) as conn:
        taken = error_of(
            conn, "INSERT INTO domains (user_id, domain) VALUES (%s, %s)", (t.a.user, t.b.domain)
        )
        free = error_of(
            conn,
            "INSERT INTO domains (user_id, domain) VALUES (%s, %s)",
            (t.a.user, "nobody-has-this.test"),
        )
        assert isinstance(taken, psycopg.errors.InsufficientPrivilege)
        assert str(taken) == str(free)
        for name in (t.b.domain, "nobody-has-this.test"):
            renamed = error_of(
                conn, "UPDATE domains SET domain = %s WHERE id = %s", (name, t.a.domain_id)
            )
            assert isinstance(renamed, psycopg.errors.InsufficientPrivilege)
            assert name not in str(renamed)
        # claiming is allowed (per tenant, no error either way) but changes nothing until proven
        for name in (t.b.domain, "nobody-has-this.test"):
            claim = conn.execute(
                "INSERT INTO domain_claims (user_id, domain, status, token) "
                "VALUES (%s, %s, 'verified', 'mine') RETURNING status, token",
                (t.a.user, name),
            ).fetchone()
            assert claim["status"] == "pending" and claim["token"] != "mine"
    owner = db.execute("SELECT user_id FROM domains WHERE domain = %s", (t.b.domain,)).fetchone()
    assert owner["user_id"] == t.b.user
    assert db.execute("SELECT count(*) AS n FROM domains").fetchone()["n"] == 2


def test_email_and_slug_are_unique_per_tenant_so_nothing_leaks(db, tenants_ab) -> None:
    t = tenants_ab
    db.execute(
        "INSERT INTO businesses (owner_user_id, name, slug) VALUES (%s, 'B', 'b-shop')", (t.b.user,)
    )
    with as_attacker(t.a.user) as conn:
        # no error: A cannot tell whether B uses the value
        conn.execute(
            "INSERT INTO customers (auth_user_id, email) VALUES (%s, 'owner@b.test')", (t.a.user,)
        )
        conn.execute(
            "INSERT INTO businesses (owner_user_id, name, slug) VALUES (%s, 'A', 'b-shop')",
            (t.a.user,),
        )
    # the operator's look-up by email still finds B's customer, not A's copy
    assert tenants.get_customer(db, "owner@b.test")["id"] == t.b.customer
