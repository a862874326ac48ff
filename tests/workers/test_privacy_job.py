"""The privacy job on real rows in every table that holds a subject's data: an erasure leaves
the subject's email and session id nowhere in the database, an export holds every row the
schema's foreign keys lead to from the subject, requests past their deadline show as overdue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from db import jobs, privacy
from tests.support.privacy_fixtures import (
    BYSTANDER,
    BYSTANDER_SESSION,
    EMAIL,
    SESSION,
    database_hits,
    run_privacy_job,
)
from workers.errors import PermanentError


def file_request(db, world, request_type: str, **subject) -> dict:
    with db.transaction():
        return privacy.create(db, world.domain_id, request_type, **subject)


def test_erasure_leaves_the_subject_nowhere_in_the_database(db, subject_world):
    world = subject_world
    assert set(database_hits(db, [EMAIL, SESSION])) >= {
        "public.customers.email",
        "public.messages.content",
        "public.conversations.session_id",
        "public.chat_sessions.session_token",
        "public.customer_data_cache.data",
        "public.customer_verifications.identifier",
        "public.customer_access_logs.resource",
        "public.privacy_requests.requester_email",
        "public.training_data.output_text",
        "public.scraped_pages.content",
        "public.page_embeddings.chunk_text",
        "public.page_embeddings.chunk_tsv",
    }
    request = file_request(db, world, "deletion", email=EMAIL, session_id=SESSION)
    job = run_privacy_job(request["job_id"])
    assert job["status"] == "completed", job["error_message"]

    assert database_hits(db, [EMAIL, SESSION]) == []
    done = privacy.get(db, request["id"])
    assert done["status"] == "completed" and done["completed_at"] is not None
    assert done["details"]["summary"]["action"] == "erase"
    assert done["details"]["summary"]["rows"]["customers"] == 1
    assert done["details"]["summary"]["rows"]["customer_access_logs_anonymised"] == 1
    # the bystander's rows, and the crawled page, are all still there
    for table, ids in world.bystander.items():
        left = db.execute(
            f"SELECT count(*) AS n FROM {table} WHERE id = ANY(%s)", (ids,)
        ).fetchone()
        assert left["n"] == len(ids), table
    assert set(database_hits(db, [BYSTANDER, BYSTANDER_SESSION])) >= {"public.customers.email"}
    # the audit trail: the old access row stays, anonymised, and the erasure is recorded
    kept = db.execute(
        "SELECT * FROM customer_access_logs WHERE id = %s", (world.ids["customer_access_logs"][0],)
    ).fetchone()
    assert kept["customer_id"] is None and kept["ip_address"] is None and kept["action"] == "read"
    [erased] = db.execute("SELECT * FROM customer_access_logs WHERE action = 'erase'").fetchall()
    assert erased["resource"] == f"privacy_requests:{request['id']}"
    assert erased["metadata"]["reason"] == "gdpr deletion request"
    assert erased["actor"]  # who: the process and its role
    # run twice (a redelivered message after a reset): nothing more happens
    db.execute("UPDATE content_refresh_jobs SET status = 'pending' WHERE id = %s", (job["id"],))
    again = run_privacy_job(job["id"])
    assert again["status"] == "completed" and again["metadata"]["already"] == "completed"


def test_an_erasure_by_session_id_alone_leaves_that_session_id_nowhere(db, subject_world):
    """The subject known only by a chat session id (an anonymous shopper): every row naming it
    goes, the audit trail's read of that session included (it has no customer id to follow);
    what only the email names, which the request did not give, stays."""
    request = file_request(db, subject_world, "deletion", session_id=SESSION)
    job = run_privacy_job(request["job_id"])
    assert job["status"] == "completed", job["error_message"]
    assert database_hits(db, [SESSION]) == []
    assert "public.customers.email" in database_hits(db, [EMAIL])
    rows = privacy.get(db, request["id"])["details"]["summary"]["rows"]
    assert rows["conversations"] == 2 and rows["customer_access_logs_anonymised"] == 1
    assert "customers" not in rows
    for table, ids in subject_world.bystander.items():
        left = db.execute(
            f"SELECT count(*) AS n FROM {table} WHERE id = ANY(%s)", (ids,)
        ).fetchone()
        assert left["n"] == len(ids), table


def test_an_erasure_interrupted_late_changes_nothing(db, subject_world):
    """One transaction: the erasure fails late, when it removes the derived knowledge (a
    curated answer's page, after the conversations, messages, cache and verifications are
    deleted and the audit rows anonymised), and every row of the subject is still there as it
    was, no audit row claims an erasure; run again, it completes."""
    before = sorted(database_hits(db, [EMAIL, SESSION]))
    request = file_request(db, subject_world, "deletion", email=EMAIL, session_id=SESSION)
    db.execute(
        "CREATE FUNCTION public.test_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'erasure interrupted'; END $$"
    )
    db.execute(
        "CREATE TRIGGER test_interrupt_erasure BEFORE DELETE ON scraped_pages FOR EACH ROW "
        "WHEN (OLD.url LIKE 'curated:%') EXECUTE FUNCTION public.test_refuse_delete()"
    )
    try:
        with pytest.raises(Exception, match="erasure interrupted"):
            run_privacy_job(request["job_id"])
    finally:
        db.execute("DROP TRIGGER test_interrupt_erasure ON scraped_pages")
        db.execute("DROP FUNCTION public.test_refuse_delete()")
    assert sorted(database_hits(db, [EMAIL, SESSION])) == before
    for table, ids in subject_world.ids.items():
        left = db.execute(
            f"SELECT count(*) AS n FROM {table} WHERE id = ANY(%s)", (ids,)
        ).fetchone()
        assert left["n"] == len(ids), table
    kept = db.execute(
        "SELECT customer_id FROM customer_access_logs WHERE id = %s",
        (subject_world.ids["customer_access_logs"][0],),
    ).fetchone()
    assert kept["customer_id"] is not None  # not anonymised either
    assert (
        db.execute(
            "SELECT count(*) AS n FROM customer_access_logs WHERE action = 'erase'"
        ).fetchone()["n"]
        == 0
    )
    failed = privacy.get(db, request["id"])
    assert failed["status"] == "in_progress" and failed["completed_at"] is None  # still open

    db.execute(
        "UPDATE content_refresh_jobs SET status = 'pending' WHERE id = %s", (request["job_id"],)
    )
    assert run_privacy_job(request["job_id"])["status"] == "completed"
    assert database_hits(db, [EMAIL, SESSION]) == []
    assert privacy.get(db, request["id"])["status"] == "completed"


def _fk_walk(db, roots: dict[str, set]) -> dict[str, set]:
    """Every row reachable from `roots` by following the schema's foreign keys to the rows that
    reference them (read from pg_constraint, so a new table referencing a subject's row is
    found without this test knowing its name)."""
    fks = db.execute(
        "SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent, "
        "a.attname AS col FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 "
        "AND c.connamespace = 'public'::regnamespace"
    ).fetchall()
    reached = {t: set(ids) for t, ids in roots.items()}
    changed = True
    while changed:
        changed = False
        for fk in fks:
            parent = fk["parent"].removeprefix("public.")
            child = fk["child"].removeprefix("public.")
            if not reached.get(parent):
                continue
            rows = {
                r["id"]
                for r in db.execute(
                    f'SELECT id FROM public."{child}" WHERE "{fk["col"]}" = ANY(%s)',
                    (list(reached[parent]),),
                )
            }
            if not rows <= reached.get(child, set()):
                reached.setdefault(child, set()).update(rows)
                changed = True
    return reached


def test_export_holds_every_row_the_foreign_keys_lead_to(db, subject_world):
    world = subject_world
    request = file_request(db, world, "access", email=EMAIL, session_id=SESSION)
    roots = {
        "customers": {
            r["id"] for r in db.execute("SELECT id FROM customers WHERE email = %s", (EMAIL,))
        },
        "conversations": {
            r["id"]
            for r in db.execute("SELECT id FROM conversations WHERE session_id = %s", (SESSION,))
        },
        "chat_sessions": {
            r["id"]
            for r in db.execute("SELECT id FROM chat_sessions WHERE session_token = %s", (SESSION,))
        },
    }
    expected = _fk_walk(db, roots)
    assert {
        "messages",
        "chat_messages",
        "customer_data_cache",
        "customer_verifications",
        "customer_access_logs",
        "privacy_requests",
    } <= set(expected)

    job = run_privacy_job(request["job_id"])
    assert job["status"] == "completed", job["error_message"]
    done = privacy.get(db, request["id"])
    document = done["details"]["export"]
    exported = {t: {r["id"] for r in rows} for t, rows in document["tables"].items()}
    for table, ids in expected.items():
        missing = {str(i) for i in ids} - exported.get(table, set())
        assert not missing, f"{table}: {len(missing)} row(s) about the subject not exported"
    # what only the subject's email or session names, beyond the keys: also in it
    assert len(exported["customer_verifications"]) == 2  # one without a customer_id
    assert len(exported["conversations"]) == 2  # one anonymous, by session id
    assert exported["training_data"] == {str(i) for i in world.ids["training_data"]}
    # nothing of the bystander's
    everything = {i for ids in world.bystander.values() for i in ids}
    assert not {str(i) for i in everything} & {i for ids in exported.values() for i in ids}
    assert done["status"] == "completed" and done["details"]["summary"]["action"] == "export"
    [logged] = db.execute("SELECT * FROM customer_access_logs WHERE action = 'export'").fetchall()
    assert logged["resource"] == f"privacy_requests:{request['id']}"
    # the job's own row carries ids and counts, never the subject
    assert database_hits(db, [EMAIL]) and EMAIL not in str(job)


def test_an_account_holder_is_not_erased_and_the_request_is_rejected(db, subject_world):
    customer = subject_world.ids["customers"][0]
    db.execute(
        "INSERT INTO customer_configs (customer_id, domain_id) VALUES (%s, %s)",
        (customer, subject_world.domain_id),
    )
    request = file_request(db, subject_world, "deletion", email=EMAIL)
    job = run_privacy_job(request["job_id"])
    assert job["status"] == "completed"
    done = privacy.get(db, request["id"])
    assert done["status"] == "rejected" and "account holder" in done["details"]["summary"]["reason"]
    assert (
        db.execute("SELECT count(*) AS n FROM customers WHERE id = %s", (customer,)).fetchone()["n"]
        == 1
    )


def test_a_request_open_past_its_deadline_is_overdue(db, subject_world):
    old = file_request(db, subject_world, "rectification", email=EMAIL, regulation="gdpr")
    fresh = file_request(db, subject_world, "access", email=BYSTANDER)
    received = datetime.now(UTC) - timedelta(days=31)
    db.execute(
        "UPDATE privacy_requests SET created_at = %s, due_at = %s WHERE id = %s",
        (received, privacy.deadline("gdpr", received), old["id"]),
    )
    listed = {r["id"]: r for r in privacy.list_requests(db, open_only=True)}
    assert listed[old["id"]]["overdue"] is True
    assert listed[fresh["id"]]["overdue"] is False
    assert list(listed)[0] == old["id"]  # overdue first
    assert privacy.counts(db)["overdue"] == 1
    assert old["job_id"] is None  # rectification: tracked, done by an operator
    with db.transaction():
        privacy.close(db, old["id"], privacy.RequestStatus.COMPLETED, "address corrected")
    assert privacy.get(db, old["id"])["overdue"] is False
    with pytest.raises(ValueError, match="completed already"), db.transaction():
        privacy.close(db, old["id"], privacy.RequestStatus.REJECTED, "late")


def test_a_job_of_another_domain_cannot_steer_the_request(db, subject_world):

    request = file_request(db, subject_world, "deletion", email=EMAIL)
    other = db.execute("INSERT INTO domains (domain) VALUES ('other.test') RETURNING id").fetchone()
    forged = jobs.create(db, other["id"], "privacy", {"privacy_request_id": str(request["id"])})
    with pytest.raises(PermanentError, match="job's domain"):
        run_privacy_job(forged)
    assert jobs.get(db, forged)["status"] == "failed"
    assert privacy.get(db, request["id"])["status"] == "pending"


NOW = datetime(2026, 1, 31, tzinfo=UTC)


@pytest.mark.parametrize(
    "status, due, overdue",
    [
        ("pending", NOW - timedelta(seconds=1), True),
        ("in_progress", NOW - timedelta(days=3), True),
        ("pending", NOW + timedelta(days=1), False),
        ("completed", NOW - timedelta(days=3), False),
        ("rejected", NOW - timedelta(days=3), False),
        ("pending", None, False),
    ],
)
def test_is_overdue(status, due, overdue):
    assert privacy.is_overdue(status, due, NOW) is overdue


@pytest.mark.parametrize("regulation, days", [("gdpr", 30), ("ccpa", 45), ("other", 30)])
def test_deadline(regulation, days):
    assert privacy.deadline(regulation, NOW) == NOW + timedelta(days=days)


@pytest.mark.parametrize(
    "args, message",
    [
        (("erase", "gdpr", EMAIL, None), "unknown request type"),
        (("access", "hipaa", EMAIL, None), "unknown regulation"),
        (("access", "gdpr", None, " "), "--email or --session"),
        (("access", "gdpr", "not-an-email", None), "not an email"),
    ],
)
def test_check_request(args, message):
    with pytest.raises(ValueError, match=message):
        privacy.check_request(*args)
