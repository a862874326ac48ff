"""The one configuration object. Every setting comes from the environment (or `.env`).

Read it with `get_settings()`; nothing else in the project reads `os.environ` for configuration.
The README's configuration table documents each variable and its default.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import InvalidValue


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("omni-ingest"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # Services. Unset means "start or reuse the embedded one in OMNI_DATA_DIR".
    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    data_dir: Path = Field(default_factory=_default_data_dir, alias="OMNI_DATA_DIR")
    db_pool_size: int = Field(default=4, alias="OMNI_DB_POOL_SIZE")

    # Secrets. OMNI_ENCRYPTION_KEY is a comma-separated list of base64 32-byte keys:
    # the first encrypts, all of them decrypt (so a rotation can read the old values).
    encryption_key: SecretStr | None = Field(default=None, alias="OMNI_ENCRYPTION_KEY")

    # OpenAI-compatible endpoint. Unset key and base URL means the offline defaults.
    openai_api_key: SecretStr | None = Field(default=None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, alias="OPENAI_BASE_URL")
    openai_max_concurrency: int = Field(default=4, alias="OMNI_OPENAI_MAX_CONCURRENCY")
    openai_timeout: float = Field(default=60.0, alias="OMNI_OPENAI_TIMEOUT")
    # First pause between embedding API attempts (doubling, with jitter; Retry-After wins).
    openai_retry_backoff: float = Field(default=0.5, ge=0, alias="OMNI_OPENAI_RETRY_BACKOFF")
    chat_model: str = Field(default="gpt-4o-mini", alias="OMNI_CHAT_MODEL")
    optimizer: Literal["auto", "openai", "offline"] = Field(default="auto", alias="OMNI_OPTIMIZER")

    # Embeddings. `auto` is `openai` when an endpoint is configured, else `local`.
    embedding_backend: Literal["auto", "openai", "local"] = Field(
        default="auto", alias="OMNI_EMBEDDING_BACKEND"
    )
    embedding_model: str | None = Field(default=None, alias="OMNI_EMBEDDING_MODEL")
    # The local model's arithmetic: `auto` is bfloat16 autocast on a CPU with native bfloat16
    # (vectors within 1e-4 cosine of float32's, docs/workers.md#local-throughput), else float32.
    local_embed_precision: Literal["auto", "bf16", "fp32"] = Field(
        default="auto", alias="OMNI_LOCAL_EMBED_PRECISION"
    )
    # Batches the local model encodes at once, one core each (0: the CPUs this process may use).
    local_embed_threads: int = Field(default=0, ge=0, alias="OMNI_LOCAL_EMBED_THREADS")
    chunk_tokens: int = Field(default=500, alias="OMNI_CHUNK_TOKENS")
    chunk_overlap_tokens: int = Field(default=60, alias="OMNI_CHUNK_OVERLAP_TOKENS")
    # A domain with at least this many chunks gets its own partial HNSW index
    # (db/vector_indexes.py).
    search_domain_index_rows: int = Field(default=500, ge=1, alias="OMNI_SEARCH_DOMAIN_INDEX_ROWS")
    # Hybrid search's fusion (hybrid_search, migrations 0112, 0123 and 0124). 'rrf': weighted
    # reciprocal rank fusion with the constant `rrf_k`; 'convex': each candidate's cosine and
    # keyword score, scaled over the candidates, weighted vector : keyword. Each side contributes
    # `candidates` chunks. The defaults are the setting whose worst difference from vector search
    # over bench/retrieval_quality.py's tuning sites was best (bench/retrieval_fusion_choice.py),
    # checked on Git's documentation, which nothing was tuned on
    # (docs/workers.md#retrieval-quality). `rrf_k` is read only by 'rrf'.
    hybrid_fusion: Literal["rrf", "convex"] = Field(default="convex", alias="OMNI_HYBRID_FUSION")
    hybrid_vector_weight: float = Field(default=12.0, ge=0, alias="OMNI_HYBRID_VECTOR_WEIGHT")
    hybrid_keyword_weight: float = Field(default=1.0, ge=0, alias="OMNI_HYBRID_KEYWORD_WEIGHT")
    hybrid_candidates: int = Field(default=50, ge=1, alias="OMNI_HYBRID_CANDIDATES")
    hybrid_rrf_k: int = Field(default=5, ge=1, alias="OMNI_HYBRID_RRF_K")
    # Page support, an option measured and not adopted: vector search ranks each of its
    # `search_page_candidates` best chunks by its similarity plus `search_second_chunk_weight` x
    # the similarity of its page's best other chunk among them (workers/search.py,
    # page_supported). 0.1 gained on five tuning sites and lost on Varnish's documentation, one of
    # the two sites nothing was tuned on, so the default is 0: by similarity alone, the chat
    # app's search_embeddings order (docs/workers.md#retrieval-quality).
    search_second_chunk_weight: float = Field(
        default=0.0, ge=0, lt=1, alias="OMNI_SEARCH_SECOND_CHUNK_WEIGHT"
    )
    search_page_candidates: int = Field(default=100, ge=1, alias="OMNI_SEARCH_PAGE_CANDIDATES")
    # Per-request limits of the embedding API (OpenAI's are the defaults and the maximum).
    embedding_max_inputs: int = Field(default=2048, alias="OMNI_EMBEDDING_MAX_INPUTS")
    embedding_max_request_tokens: int = Field(
        default=300_000, alias="OMNI_EMBEDDING_MAX_REQUEST_TOKENS"
    )

    # Crawling defaults (a domain's own settings override max pages and JavaScript rendering).
    crawl_max_pages: int = Field(default=1000, alias="OMNI_CRAWL_MAX_PAGES")
    crawl_max_depth: int = Field(default=8, alias="OMNI_CRAWL_MAX_DEPTH")
    crawl_concurrency: int = Field(default=8, alias="OMNI_CRAWL_CONCURRENCY")
    crawl_download_timeout: float = Field(default=30.0, alias="OMNI_CRAWL_DOWNLOAD_TIMEOUT")
    crawl_max_download_bytes: int = Field(default=10 * 1024 * 1024, alias="OMNI_CRAWL_MAX_BYTES")
    crawl_pattern_limit: int = Field(default=50, alias="OMNI_CRAWL_PATTERN_LIMIT")
    crawl_frontier_memory: int = Field(default=10_000, ge=1, alias="OMNI_CRAWL_FRONTIER_MEMORY")
    crawl_url_memory: int = Field(default=10_000, ge=1, alias="OMNI_CRAWL_URL_MEMORY")
    user_agent: str = Field(
        default="OmniIngestBot/0.1 (+https://github.com/omni-ingest; site knowledge crawler)",
        alias="OMNI_USER_AGENT",
    )
    allow_private_networks: bool = Field(default=False, alias="OMNI_ALLOW_PRIVATE_NETWORKS")
    # Exactly these host:port pairs may be private with the guard on (e.g. a local test site).
    allowed_private_hosts_raw: str = Field(default="", alias="OMNI_ALLOWED_PRIVATE_HOSTS")
    chromium_path: str | None = Field(default=None, alias="OMNI_CHROMIUM_PATH")
    # Documents (PDF, DOCX, ODT, text): text of at most this many pages per document.
    document_max_pages: int = Field(default=500, alias="OMNI_DOCUMENT_MAX_PAGES")

    # Operating it.
    scheduler_interval: float = Field(default=60.0, alias="OMNI_SCHEDULER_INTERVAL")
    stale_after: str = Field(default="7 days", alias="OMNI_STALE_AFTER")
    dashboard_token: SecretStr | None = Field(default=None, alias="OMNI_DASHBOARD_TOKEN")
    # Host names the dashboard answers to besides its bind address and loopback (comma list).
    dashboard_hosts_raw: str = Field(default="", alias="OMNI_DASHBOARD_HOSTS")
    # Dramatiq's Prometheus middleware in the workers (port: dramatiq_prom_port, default 9191).
    worker_metrics: bool = Field(default=False, alias="OMNI_WORKER_METRICS")
    log_level: str = Field(default="INFO", alias="OMNI_LOG_LEVEL")
    # `omni search` through a running `omni serve` (docs/serve.md): this URL with this API key;
    # unset, the server `omni serve` advertises in OMNI_DATA_DIR/serve.json, else no server.
    serve_url: str | None = Field(default=None, alias="OMNI_SERVE_URL")
    serve_key: SecretStr | None = Field(default=None, alias="OMNI_SERVE_KEY")

    # Workers (docs/workers.md): retries with exponential backoff, time limits, and how soon the
    # broker hands a dead worker's unacknowledged messages to another one.
    worker_max_retries: int = Field(default=5, alias="OMNI_WORKER_MAX_RETRIES")
    worker_min_backoff_ms: int = Field(default=5_000, alias="OMNI_WORKER_MIN_BACKOFF_MS")
    worker_max_backoff_ms: int = Field(default=600_000, alias="OMNI_WORKER_MAX_BACKOFF_MS")
    worker_time_limit_s: int = Field(default=1800, alias="OMNI_WORKER_TIME_LIMIT_S")
    crawl_time_limit_s: int = Field(default=7200, alias="OMNI_CRAWL_TIME_LIMIT_S")
    # A dead worker's unacked messages come back once its heartbeat is this old and a
    # maintenance pass runs; 100,000 per million commands puts one within a few seconds of
    # polling (each pass is two cheap ZRANGEBYSCOREs when nothing is dead). docs/operations.md.
    broker_heartbeat_timeout_ms: int = Field(
        default=30_000, alias="OMNI_BROKER_HEARTBEAT_TIMEOUT_MS"
    )
    broker_maintenance_chance: int = Field(default=100_000, alias="OMNI_BROKER_MAINTENANCE_CHANCE")
    # Leases (db/jobs.py): a running job's runner renews its lease every third of it; a lease
    # not renewed for this long is released and retried by the sweeper of any worker or
    # scheduler, which runs every OMNI_JOB_SWEEP_INTERVAL_S and re-sends a pending job whose
    # message is gone once it has been pending OMNI_JOB_RESEND_AFTER_S.
    job_lease_s: int = Field(default=30, alias="OMNI_JOB_LEASE_S")
    job_sweep_interval_s: float = Field(default=10.0, alias="OMNI_JOB_SWEEP_INTERVAL_S")
    job_resend_after_s: int = Field(default=30, alias="OMNI_JOB_RESEND_AFTER_S")
    # Postgres session limits (db/connection.py), so a paused or dead process delays another
    # by at most these: every connection; a statement limit per kind of work (0 = none).
    db_idle_in_transaction_timeout_s: int = Field(
        default=60, alias="OMNI_DB_IDLE_IN_TRANSACTION_TIMEOUT_S"
    )
    db_lock_timeout_s: int = Field(default=10, alias="OMNI_DB_LOCK_TIMEOUT_S")
    db_job_statement_timeout_s: int = Field(default=300, alias="OMNI_DB_JOB_STATEMENT_TIMEOUT_S")
    db_interactive_statement_timeout_s: int = Field(
        default=30, alias="OMNI_DB_INTERACTIVE_STATEMENT_TIMEOUT_S"
    )

    @property
    def allowed_private_hosts(self) -> frozenset[str]:
        return frozenset(
            h.strip().lower() for h in self.allowed_private_hosts_raw.split(",") if h.strip()
        )

    @property
    def dashboard_hosts(self) -> frozenset[str]:
        return frozenset(
            h.strip().lower() for h in self.dashboard_hosts_raw.split(",") if h.strip()
        )

    @property
    def openai_configured(self) -> bool:
        return bool(self.openai_base_url or self.openai_api_key)

    @property
    def resolved_embedding_backend(self) -> Literal["openai", "local"]:
        if self.embedding_backend == "auto":
            return "openai" if self.openai_configured else "local"
        return self.embedding_backend

    @property
    def resolved_embedding_model(self) -> str:
        if self.embedding_model:
            return self.embedding_model
        if self.resolved_embedding_backend == "openai":
            return "text-embedding-3-small"
        return "all-MiniLM-L6-v2"


class InvalidSettings(InvalidValue):
    """A variable in the environment (or `.env`) does not hold a valid value."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise InvalidSettings(describe_invalid(exc)) from exc


def describe_invalid(exc: ValidationError) -> str:
    """One line naming each bad variable (pure)."""
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
    )
    return f"invalid setting(s): {problems}"


def reload_settings() -> Settings:
    """Forget the cached settings (tests and the CLI's `--env` style overrides use this)."""
    get_settings.cache_clear()
    return get_settings()
