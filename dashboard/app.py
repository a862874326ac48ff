"""The dashboard's ASGI app: overview (queues, workers, charts), jobs, domains, /metrics,
/healthz. Pages are server-rendered; static/dashboard.js refreshes them and draws the charts."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from core.config import get_settings
from core.endpoints import redis_url
from core.errors import OmniError
from dashboard import queries
from dashboard.auth import TokenAuth, is_local_bind, same_origin
from dashboard.guards import HostCheck, SecurityHeaders, check_token
from dashboard.metrics import OmniCollector, render
from db import jobs as job_store
from db import knowledge, privacy
from db.connection import Work, get_pool
from db.job_kinds import QUEUES
from workers.dispatch import send_job
from workers.queues import queue_stats
from workers.status import read_pg_workers, read_workers
from workers.sweeper import flag_jobs

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
REFRESH_SECONDS = 5


class Backend:
    """Where the dashboard reads from: the process's Postgres pool and Redis."""

    def __init__(self) -> None:
        self._redis: redis.Redis | None = None

    @contextmanager
    def connection(self) -> Iterator[Any]:
        with get_pool(Work.INTERACTIVE).connection() as conn:
            yield conn

    def redis(self) -> Any:
        if self._redis is None:
            self._redis = redis.Redis.from_url(redis_url(), socket_timeout=5)
        return self._redis

    def queues(self) -> tuple[str, ...]:
        return tuple(QUEUES)

    def send_job(self, job_id: Any, job_type: str) -> Any:
        return send_job(job_id, job_type)


# A worker process whose Postgres heartbeat is older than this is gone (it beats every
# OMNI_JOB_SWEEP_INTERVAL_S, 10 s by default).
PG_WORKER_WITHIN_S = 45.0


def worker_view(
    redis_workers: list[dict[str, Any]] | None, pg_workers: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """Workers counted by their heartbeats in Redis and in Postgres (None: that store is
    unreachable from here), and those cut off from one of them."""
    in_redis = {f"{w['hostname']}:{w['pid']}" for w in redis_workers or []}
    in_pg = {w["worker"]: w for w in pg_workers or []}
    return {
        "redis": None if redis_workers is None else len(in_redis),
        "postgres": None if pg_workers is None else len(in_pg),
        # beating in Postgres, saying it cannot reach Redis (or absent from Redis)
        "cut_off_from_redis": sorted(
            name
            for name, w in in_pg.items()
            if w["redis_ok"] is False or (redis_workers is not None and name not in in_redis)
        ),
        # beating in Redis, absent from Postgres
        "cut_off_from_postgres": sorted(in_redis - set(in_pg)) if pg_workers is not None else [],
    }


def _fmt_age(moment: Any) -> str:
    if not moment:
        return "never"
    seconds = (queries.now() - moment).total_seconds()
    if seconds < 0:
        return "in " + _fmt_span(-seconds)
    return _fmt_span(seconds) + " ago"


def _fmt_span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def create_app(
    bind_host: str = "127.0.0.1",
    token: str | None = None,
    backend: Backend | None = None,
    host_names: frozenset[str] = frozenset(),
) -> Starlette:
    """The app; a non-loopback `bind_host` requires `token` (refused without one). Requests must
    name the bind address, a loopback name or one of `host_names` in their Host header."""
    backend = backend or Backend()
    token = check_token(token)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["age"] = _fmt_age
    templates.env.globals["refresh_seconds"] = REFRESH_SECONDS

    def page(request: Request, name: str, **context: Any) -> Response:
        return templates.TemplateResponse(request, name, context)

    def overview(request: Request) -> Response:
        client = backend.redis()
        workers = read_workers(client)
        for worker in workers:
            worker["age"] = max(0.0, time.time() - worker["last_seen"])
        with backend.connection() as conn:
            unfinished = queries.jobs_list(conn, unfinished=True, limit=1000)
            flag_jobs(unfinished, client, get_settings())
            return page(
                request,
                "overview.html",
                nav="overview",
                pg_workers=read_pg_workers(conn, PG_WORKER_WITHIN_S),
                orphans=sum(1 for j in unfinished if j["flag"]),
                queues=queue_stats(client, backend.queues()),
                workers=workers,
                totals=queries.totals(conn),
                jobs_by_status=queries.jobs_by_status(conn),
                crawls=queries.running_crawls(conn),
                charts=queries.charts(conn),
            )

    def jobs_page(request: Request) -> Response:
        params = request.query_params
        filters = {k: params.get(k) or None for k in ("status", "job_type", "domain")}
        try:
            with backend.connection() as conn:
                rows = queries.jobs_list(
                    conn,
                    status=filters["status"],
                    job_type=filters["job_type"],
                    domain=filters["domain"],
                )
                flag_jobs(rows, backend.redis(), get_settings())
                domains = [d["domain"] for d in queries.domain_overview(conn)]
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        return page(
            request,
            "jobs.html",
            nav="jobs",
            jobs=rows,
            filters=filters,
            domains=domains,
            statuses=job_store.STATUSES,
            job_types=job_store.JOB_TYPES,
        )

    def job_page(request: Request) -> Response:
        with backend.connection() as conn:
            job = _job_or_404(conn, request.path_params["job_id"])
        return page(
            request,
            "job.html",
            nav="jobs",
            job=job,
            metadata=job_store.dumps(job["metadata"] or {}),
            retried=request.query_params.get("retried"),
        )

    def retry(request: Request) -> Response:
        if not same_origin(request):
            raise HTTPException(403, "cross-origin request refused")
        job_id = request.path_params["job_id"]
        with backend.connection() as conn:
            try:
                job = job_store.retry(conn, job_id, backend.send_job)
            except job_store.RetryRefused as exc:
                raise (
                    HTTPException(404, str(exc))
                    if exc.status is None
                    else HTTPException(409, "only a failed job can be retried")
                ) from exc
            except job_store.RetryNotSent as exc:
                raise HTTPException(503, f"could not queue the retry: {exc}") from exc
        log.info("dashboard: job %s re-queued", job["id"])
        return RedirectResponse(f"/jobs/{job['id']}?retried=1", status_code=303)

    def domains_page(request: Request) -> Response:
        with backend.connection() as conn:
            rows = queries.domain_overview(conn)
        return page(request, "domains.html", nav="domains", domains=rows)

    def domain_page(request: Request) -> Response:
        name = request.path_params["domain"]
        with backend.connection() as conn:
            rows = [r for r in queries.domain_overview(conn) if r["domain"] == name]
            if not rows:
                raise HTTPException(404, f"no domain {name}")
            domain = rows[0]
            context = {
                "last_crawl": queries.last_crawl(conn, domain["id"]),
                "last_failure": queries.last_crawl(conn, domain["id"], "failed"),
                "extractions": queries.extraction_counts(conn, domain["id"]),
                "usage": queries.usage_by_type(conn, domain["id"]),
                "jobs": queries.jobs_list(conn, domain=name, limit=20),
                "charts": queries.charts(conn, domain["id"]),
            }
        return page(request, "domain.html", nav="domains", domain=domain, **context)

    def knowledge_page(request: Request) -> Response:
        with backend.connection() as conn:
            rows = knowledge.list_answers(conn)
        return page(request, "knowledge.html", nav="knowledge", answers=rows)

    def privacy_page(request: Request) -> Response:
        with backend.connection() as conn:
            rows = privacy.list_requests(conn, open_only=request.query_params.get("all") != "1")
            totals = privacy.counts(conn)
        return page(
            request,
            "privacy.html",
            nav="privacy",
            requests=rows,
            totals=totals,
            show_all=request.query_params.get("all") == "1",
        )

    def metrics(request: Request) -> Response:
        body = render(OmniCollector(backend.connection, backend.redis, backend.queues()))
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    def healthz(request: Request) -> Response:
        """The dashboard's own connections, and what the workers see: each worker process beats
        in Redis and in Postgres, and records in Postgres whether it reaches Redis; a worker
        seen in one but not the other is cut off from it. Stuck jobs (lease expired, no
        message) are counted. 503 unless all is well."""
        checks: dict[str, Any] = {}
        pg_workers: list[dict[str, Any]] | None = None
        redis_workers: list[dict[str, Any]] | None = None
        unfinished: list[dict[str, Any]] = []
        try:
            with backend.connection() as conn:
                pg_workers = read_pg_workers(conn, PG_WORKER_WITHIN_S)
                unfinished = queries.jobs_list(conn, unfinished=True, limit=1000)
            checks["postgres"] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            checks["postgres"] = f"error: {type(exc).__name__}"
        try:
            backend.redis().ping()
            redis_workers = read_workers(backend.redis())
            checks["redis"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["redis"] = f"error: {type(exc).__name__}"
        flag_jobs(unfinished, backend.redis() if checks["redis"] == "ok" else None, get_settings())
        workers = worker_view(redis_workers, pg_workers)
        stuck = {
            "lease_expired": sum(j["flag"] == "lease expired" for j in unfinished),
            "without_message": sum(j["flag"] == "no message" for j in unfinished),
        }
        healthy = (
            checks["postgres"] == "ok"
            and checks["redis"] == "ok"
            and not workers["cut_off_from_redis"]
            and not workers["cut_off_from_postgres"]
        )
        return JSONResponse(
            {
                "status": "ok" if healthy else "unhealthy",
                **checks,
                "workers": workers,
                "jobs": stuck,
            },
            status_code=200 if healthy else 503,
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException), "registered for HTTPException only"
        return PlainTextResponse(f"{exc.status_code}: {exc.detail}", status_code=exc.status_code)

    app = Starlette(
        routes=[
            Route("/", overview),
            Route("/jobs", jobs_page),
            Route("/jobs/{job_id:uuid}", job_page),
            Route("/jobs/{job_id:uuid}/retry", retry, methods=["POST"]),
            Route("/domains", domains_page),
            Route("/domains/{domain}", domain_page),
            Route("/knowledge", knowledge_page),
            Route("/privacy", privacy_page),
            Route("/metrics", metrics),
            Route("/healthz", healthz),
            Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        ],
        exception_handlers={HTTPException: http_error},
    )
    if not is_local_bind(bind_host):
        if not token:
            raise OmniError(
                f"the dashboard bound to {bind_host} needs a token: "
                "set OMNI_DASHBOARD_TOKEN (or bind to 127.0.0.1)"
            )
        app.add_middleware(TokenAuth, token=token)
    app.add_middleware(HostCheck, bind_host=bind_host, names=frozenset(host_names))
    app.add_middleware(SecurityHeaders)
    app.state.backend = backend
    return app


def _job_or_404(conn: Any, job_id: Any) -> dict[str, Any]:
    job = job_store.get(conn, job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id}")
    return job


def serve(host: str, port: int) -> None:
    settings = get_settings()
    secret = settings.dashboard_token
    app = create_app(
        host, secret.get_secret_value() if secret else None, host_names=settings.dashboard_hosts
    )
    print(f"dashboard: http://{'[' + host + ']' if ':' in host else host}:{port}/", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
