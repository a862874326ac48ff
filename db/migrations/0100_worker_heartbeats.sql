-- Worker processes as Postgres sees them (docs/operations.md): each worker process writes its
-- row every OMNI_JOB_SWEEP_INTERVAL_S, so the dashboard counts workers by their heartbeats in
-- Postgres as well as in Redis (a worker cut off from Redis keeps beating here, and the other
-- way round). Service-role only: tenants neither read nor write it.
CREATE TABLE IF NOT EXISTS public.worker_heartbeats (
    worker      TEXT PRIMARY KEY,                 -- <host>:<pid>, as in Redis
    hostname    TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    queues      TEXT[] NOT NULL DEFAULT '{}',
    threads     INTEGER,
    current     JSONB NOT NULL DEFAULT '[]'::jsonb, -- the messages being processed
    redis_ok    BOOLEAN,                          -- could it reach Redis at its last beat
    started_at  TIMESTAMPTZ,
    last_seen   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_worker_heartbeats_last_seen ON public.worker_heartbeats (last_seen);

ALTER TABLE public.worker_heartbeats ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.worker_heartbeats FROM anon, authenticated;
GRANT ALL ON public.worker_heartbeats TO service_role;
