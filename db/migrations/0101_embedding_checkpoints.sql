-- Per-request checkpoints of the embed worker (docs/workers.md): each embedding request's
-- vectors are written here, with the usage they cost, in one transaction as soon as the API has
-- answered, so a worker killed or cut off before its page groups are written has paid for
-- nothing it must pay for again (a redelivered run reuses them by chunk hash, of the same domain
-- and model only), and every token paid for is recorded. A page group's write removes the
-- checkpoints it used; the sweeper drops any left after a day. Service-role only.
CREATE TABLE IF NOT EXISTS public.embedding_checkpoints (
    domain_id   UUID NOT NULL REFERENCES public.domains(id) ON DELETE CASCADE,
    model       TEXT NOT NULL,
    chunk_hash  TEXT NOT NULL,
    embedding   vector(1536) NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (domain_id, model, chunk_hash)
);
CREATE INDEX IF NOT EXISTS idx_embedding_checkpoints_created ON public.embedding_checkpoints (created_at);

ALTER TABLE public.embedding_checkpoints ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.embedding_checkpoints FROM anon, authenticated;
GRANT ALL ON public.embedding_checkpoints TO service_role;
