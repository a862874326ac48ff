"""`omni knowledge` and `omni privacy` through the real `omni` entry point: what an operator types
reaches the rows, and a mistake ends with one line."""

from __future__ import annotations

import json
import re
import stat
from datetime import UTC, datetime, timedelta

from tests.support.privacy_fixtures import BYSTANDER, EMAIL, run_privacy_job


def test_knowledge_add_list_remove(db, omni_cli) -> None:
    assert omni_cli("domain", "add", "https://cli-kb.example").returncode == 0
    added = omni_cli(
        "knowledge",
        "add",
        "--domain",
        "cli-kb.example",
        "--question",
        "Do you ship to Norway?",
        "--answer",
        "Yes, in 3 days.",
    )
    assert added.returncode == 0, added.stderr
    answer_id = re.search(r"curated answer ([0-9a-f-]{36})", added.stdout).group(1)
    row = db.execute(
        "SELECT type, input_text, output_text FROM training_data WHERE id = %s", (answer_id,)
    ).fetchone()
    assert (row["type"], row["input_text"], row["output_text"]) == (
        "qa",
        "Do you ship to Norway?",
        "Yes, in 3 days.",
    )

    [listed] = json.loads(
        omni_cli("knowledge", "list", "--domain", "cli-kb.example", "--json").stdout
    )
    assert (listed["id"], listed["question"], listed["answer"]) == (
        answer_id,
        "Do you ship to Norway?",
        "Yes, in 3 days.",
    )

    edited = omni_cli("knowledge", "edit", answer_id, "--answer", "Yes, in 2 days now.")
    assert edited.returncode == 0 and f"curated answer {answer_id} changed" in edited.stdout
    [listed] = json.loads(
        omni_cli("knowledge", "list", "--domain", "cli-kb.example", "--json").stdout
    )
    assert (listed["question"], listed["answer"]) == (
        "Do you ship to Norway?",
        "Yes, in 2 days now.",
    )
    page = db.execute(
        "SELECT content FROM scraped_pages WHERE url = %s", (f"curated:{answer_id}",)
    ).fetchone()
    assert page["content"] == "Yes, in 2 days now."  # synced: the embed job gets only this page

    removed = omni_cli("knowledge", "remove", answer_id)
    assert removed.returncode == 0 and f"curated answer {answer_id} removed" in removed.stdout
    assert (
        json.loads(omni_cli("knowledge", "list", "--domain", "cli-kb.example", "--json").stdout)
        == []
    )
    assert db.execute("SELECT count(*) AS n FROM training_data").fetchone()["n"] == 0
    assert (
        db.execute("SELECT count(*) AS n FROM scraped_pages WHERE url LIKE 'curated:%'").fetchone()[
            "n"
        ]
        == 0
    )

    unknown = omni_cli(
        "knowledge", "add", "--domain", "nowhere.example", "--question", "Q", "--answer", "A"
    )
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: ")
    assert len(unknown.stderr.strip().splitlines()) == 1 and "Traceback" not in unknown.stderr


def test_privacy_request_list_show(db, omni_cli) -> None:
    assert omni_cli("domain", "add", "https://cli-privacy.example").returncode == 0
    made = omni_cli(
        "privacy",
        "request",
        "cli-privacy.example",
        "--type",
        "deletion",
        "--email",
        "shopper@cli-privacy.example",
    )
    assert made.returncode == 0, made.stderr
    request_id = re.search(r"privacy request ([0-9a-f-]{36}) deletion due ", made.stdout).group(1)
    row = db.execute(
        "SELECT request_type, requester_email, status, due_at FROM privacy_requests WHERE id = %s",
        (request_id,),
    ).fetchone()
    assert (row["request_type"], row["requester_email"], row["status"]) == (
        "deletion",
        "shopper@cli-privacy.example",
        "pending",
    )
    assert row["due_at"] is not None

    [listed] = json.loads(omni_cli("privacy", "list", "--open", "--json").stdout)
    assert listed["id"] == request_id
    shown = json.loads(omni_cli("privacy", "show", request_id).stdout)
    assert (shown["id"], shown["request_type"], shown["domain"]) == (
        request_id,
        "deletion",
        "cli-privacy.example",
    )

    bad = omni_cli(
        "privacy",
        "request",
        "cli-privacy.example",
        "--type",
        "nonsense",
        "--email",
        "x@cli-privacy.example",
    )
    assert bad.returncode in (1, 2) and "Traceback" not in bad.stderr
    assert db.execute("SELECT count(*) AS n FROM privacy_requests").fetchone()["n"] == 1


def test_privacy_list_and_show_mark_a_request_open_past_its_deadline_as_overdue(
    db, omni_cli
) -> None:
    assert omni_cli("domain", "add", "https://cli-late.example").returncode == 0
    ids = {}
    for kind, email in (("rectification", "late@cli-late.example"), ("access", "new@x.test")):
        made = omni_cli("privacy", "request", "cli-late.example", "--type", kind, "--email", email)
        assert made.returncode == 0, made.stderr
        ids[kind] = re.search(r"privacy request ([0-9a-f-]{36})", made.stdout).group(1)
    received = datetime.now(UTC) - timedelta(days=31)
    db.execute(
        "UPDATE privacy_requests SET created_at = %s, due_at = %s WHERE id = %s",
        (received, received + timedelta(days=30), ids["rectification"]),
    )

    listed = json.loads(omni_cli("privacy", "list", "--json").stdout)
    assert [(r["id"], r["overdue"]) for r in listed] == [
        (ids["rectification"], True),  # overdue first
        (ids["access"], False),
    ]
    table = omni_cli("privacy", "list", "--open", env={"COLUMNS": "200"}).stdout
    [late_line] = [line for line in table.splitlines() if ids["rectification"] in line]
    [fresh_line] = [line for line in table.splitlines() if ids["access"] in line]
    assert "OVERDUE" in late_line and "OVERDUE" not in fresh_line
    assert json.loads(omni_cli("privacy", "show", ids["rectification"]).stdout)["overdue"] is True

    closed = omni_cli(
        "privacy", "close", ids["rectification"], "--summary", "address corrected by hand"
    )
    assert closed.returncode == 0, closed.stderr
    shown = json.loads(omni_cli("privacy", "show", ids["rectification"]).stdout)
    assert shown["overdue"] is False and shown["status"] == "completed"
    assert shown["completed_at"] and shown["details"]["summary"] == {
        "operator": "address corrected by hand"
    }
    assert "OVERDUE" not in omni_cli("privacy", "list", env={"COLUMNS": "200"}).stdout


def test_privacy_show_writes_the_export_document_to_a_private_file(
    db, omni_cli, subject_world, tmp_path
) -> None:
    made = omni_cli(
        "privacy", "request", subject_world.domain, "--type", "access", "--email", EMAIL.upper()
    )
    assert made.returncode == 0, made.stderr
    request_id, job_id = re.search(
        r"privacy request ([0-9a-f-]{36}) access due \S+ job ([0-9a-f-]{36})", made.stdout
    ).groups()
    assert run_privacy_job(job_id)["status"] == "completed"

    target = tmp_path / "export.json"
    shown = omni_cli("privacy", "show", request_id, "--export", str(target))
    assert shown.returncode == 0, shown.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["privacy_request"] == request_id and document["subject"]["email"] == EMAIL
    assert [c["email"] for c in document["tables"]["customers"]] == [EMAIL]
    # by email: the customer's conversation (the anonymous one needs the session id too)
    assert len(document["tables"]["messages"]) == 2 and BYSTANDER not in target.read_text()
    # the command's own output names the document, never prints it
    summary = json.loads(shown.stdout)
    assert summary["status"] == "completed" and summary["completed_at"]
    assert summary["details"]["export"].endswith("(show --export FILE)")
    assert EMAIL not in json.dumps(summary["details"]["summary"])

    pending = omni_cli(
        "privacy", "request", subject_world.domain, "--type", "rectification", "--email", EMAIL
    )
    other = re.search(r"privacy request ([0-9a-f-]{36})", pending.stdout).group(1)
    missing = omni_cli("privacy", "show", other, "--export", str(tmp_path / "none.json"))
    assert missing.returncode == 1 and "has no export document" in missing.stderr
    assert not (tmp_path / "none.json").exists()
