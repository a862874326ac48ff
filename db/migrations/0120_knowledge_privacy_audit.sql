-- Curated answers, forget requests, privacy requests and the audit trail (issue 26;
-- docs/privacy.md, docs/schema.md).

-- domains.config: per-domain settings that are not crawl limits. Key "forget": the URL patterns
-- `omni domain forget` removed from the knowledge and keeps out of future crawls, each
-- {"pattern", "reason", "at", "pages"} (db/forget.py owns the shape).
ALTER TABLE public.domains ADD COLUMN IF NOT EXISTS config JSONB NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE public.domains DROP CONSTRAINT IF EXISTS domains_config_object;
ALTER TABLE public.domains ADD CONSTRAINT domains_config_object
    CHECK (jsonb_typeof(config) = 'object');

-- The audit trail is written by the pipeline only: tenants read their own rows (RLS) and can
-- neither add, change nor remove one (0005 granted INSERT; a tenant could forge entries).
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON public.customer_access_logs FROM authenticated;
GRANT SELECT ON public.customer_access_logs TO authenticated;

-- The privacy commands list a domain's requests newest first.
CREATE INDEX IF NOT EXISTS idx_privacy_requests_domain_created
    ON public.privacy_requests (domain_id, created_at DESC);
-- Erasure finds a subject's conversations by session id within the domain.
CREATE INDEX IF NOT EXISTS idx_conversations_domain_session
    ON public.conversations (domain_id, session_id);

-- A curated answer (training_data, type qa / text) is searchable through its page
-- `curated:<training_data id>` (db/knowledge.py). Deleting the row, by whatever client, removes
-- that page at once; its chunks go with it (ON DELETE CASCADE). Invoker's rights: a tenant
-- deleting its own row removes its own page, RLS applies as to any of its statements.
CREATE OR REPLACE FUNCTION public.remove_curated_page() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, extensions, pg_temp
AS $$
BEGIN
    DELETE FROM public.scraped_pages
     WHERE domain_id = OLD.domain_id AND url = 'curated:' || OLD.id::text;
    RETURN OLD;
END
$$;

DROP TRIGGER IF EXISTS trg_training_data_remove_page ON public.training_data;
CREATE TRIGGER trg_training_data_remove_page AFTER DELETE ON public.training_data
    FOR EACH ROW WHEN (OLD.domain_id IS NOT NULL) EXECUTE FUNCTION public.remove_curated_page();
