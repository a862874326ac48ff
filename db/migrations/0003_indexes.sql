-- Indexes (docs/schema.md#indexes). Names follow the seed's idx_<table>_<columns> pattern.
-- IF NOT EXISTS everywhere, so the file can be replayed on a project that already has some.
-- A foreign-key column is indexed when it is not already the leading column of a unique
-- constraint (those indexes serve FK look-ups and cascades too; duplicating them only costs writes).

-- ---------------------------------------------------------------- lookups
CREATE INDEX IF NOT EXISTS idx_scraped_pages_url ON public.scraped_pages (url);
CREATE INDEX IF NOT EXISTS idx_scraped_pages_domain ON public.scraped_pages (domain_id);
CREATE INDEX IF NOT EXISTS idx_website_content_url ON public.website_content (url);
CREATE INDEX IF NOT EXISTS idx_website_content_content_hash ON public.website_content (domain_id, content_hash);
-- Same key as the UNIQUE (domain) constraint's index; kept because the seed names it.
CREATE INDEX IF NOT EXISTS idx_customer_configs_domain ON public.customer_configs (domain);
CREATE INDEX IF NOT EXISTS idx_structured_extractions_domain_type
    ON public.structured_extractions (domain_id, extract_type);
CREATE INDEX IF NOT EXISTS idx_structured_extractions_url ON public.structured_extractions (url);

-- ---------------------------------------------------------------- time-based
-- NULLS FIRST: "never scraped, then oldest" is the refresh order; a backward scan serves DESC.
CREATE INDEX IF NOT EXISTS idx_scraped_pages_last_scraped
    ON public.scraped_pages (scraped_at NULLS FIRST);
CREATE INDEX IF NOT EXISTS idx_conversations_created_at ON public.conversations (created_at DESC);
CREATE INDEX IF NOT EXISTS idx_messages_created_at ON public.messages (created_at DESC);

-- ---------------------------------------------------------------- JSONB (GIN)
CREATE INDEX IF NOT EXISTS idx_scraped_pages_metadata_gin ON public.scraped_pages USING gin (metadata);
CREATE INDEX IF NOT EXISTS idx_page_embeddings_metadata_gin ON public.page_embeddings USING gin (metadata);

-- ---------------------------------------------------------------- composite
CREATE INDEX IF NOT EXISTS idx_scraped_pages_domain_scraped
    ON public.scraped_pages (domain_id, scraped_at DESC);
CREATE INDEX IF NOT EXISTS idx_messages_conversation_created
    ON public.messages (conversation_id, created_at);
-- The seed's name says "customer", but training_data has no customer_id: its owner is user_id
-- (the auth user, i.e. the tenant). The name is kept for the seed's sake.
CREATE INDEX IF NOT EXISTS idx_training_data_customer_type ON public.training_data (user_id, type);
CREATE INDEX IF NOT EXISTS idx_content_refresh_jobs_status_created
    ON public.content_refresh_jobs (status, created_at);
CREATE INDEX IF NOT EXISTS idx_content_refresh_jobs_domain_type_status
    ON public.content_refresh_jobs (domain_id, job_type, status);
CREATE INDEX IF NOT EXISTS idx_conversations_customer_created
    ON public.conversations (customer_id, created_at DESC);
CREATE INDEX IF NOT EXISTS idx_chat_messages_session_created
    ON public.chat_messages (session_id, created_at);
CREATE INDEX IF NOT EXISTS idx_customer_access_logs_customer_created
    ON public.customer_access_logs (customer_id, created_at DESC);
CREATE INDEX IF NOT EXISTS idx_customer_access_logs_domain_created
    ON public.customer_access_logs (domain_id, created_at DESC);
CREATE INDEX IF NOT EXISTS idx_business_usage_business_date
    ON public.business_usage (business_id, usage_date);
CREATE INDEX IF NOT EXISTS idx_page_content_references_domain_target
    ON public.page_content_references (domain_id, target_url);

-- ---------------------------------------------------------------- partial
-- "Recently active pages (last 7 days)". A partial-index predicate must be IMMUTABLE, so it
-- cannot say `scraped_at > now() - interval '7 days'`, and a fixed date would go stale. The
-- predicate is `scraped_at IS NOT NULL` instead: any range condition `scraped_at >= <anything>`
-- implies it, so the planner uses this index for the 7-day (or any) window without the query
-- restating the predicate, while never-fetched frontier rows (often most of a large crawl) stay
-- out of it. INCLUDE (domain_id, status) lets "recent pages by domain/status" run index-only.
CREATE INDEX IF NOT EXISTS idx_scraped_pages_active
    ON public.scraped_pages (scraped_at DESC) INCLUDE (domain_id, status)
    WHERE scraped_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_customer_configs_active_woo
    ON public.customer_configs (domain)
    WHERE active AND woocommerce_url IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_page_content_references_broken
    ON public.page_content_references (domain_id, target_url) WHERE is_broken;
CREATE INDEX IF NOT EXISTS idx_privacy_requests_open_due
    ON public.privacy_requests (due_at) WHERE status IN ('pending', 'in_progress');
CREATE INDEX IF NOT EXISTS idx_customer_data_cache_expires
    ON public.customer_data_cache (expires_at) WHERE expires_at IS NOT NULL;

-- ---------------------------------------------------------------- trigram (pg_trgm)
CREATE INDEX IF NOT EXISTS idx_scraped_pages_title_trgm
    ON public.scraped_pages USING gin (title gin_trgm_ops);
CREATE INDEX IF NOT EXISTS idx_scraped_pages_content_trgm
    ON public.scraped_pages USING gin (content gin_trgm_ops);

-- ---------------------------------------------------------------- embeddings
-- (page_id, chunk_hash): "is this chunk already embedded?" during re-embedding; it also serves
-- the page_id foreign key. The model index keeps vectors of different models apart cheaply.
CREATE INDEX IF NOT EXISTS idx_page_embeddings_page_chunk_hash
    ON public.page_embeddings (page_id, (metadata ->> 'chunk_hash'));
CREATE INDEX IF NOT EXISTS idx_page_embeddings_model
    ON public.page_embeddings ((metadata ->> 'model'));
-- Keyword side of hybrid_search: the 'simple' configuration (no stemming, no stop words)
-- works for every site language.
CREATE INDEX IF NOT EXISTS idx_page_embeddings_chunk_fts
    ON public.page_embeddings USING gin (to_tsvector('simple'::regconfig, chunk_text));
-- ANN index. The seed says IVFFlat; HNSW is used instead: it needs no training step (IVFFlat's
-- lists are computed from the rows present at build time, so an index built on an empty or small
-- table clusters badly and must be rebuilt as data grows) and gives a better speed/recall
-- trade-off. Cosine distance (<=>) matches how OpenAI-style embeddings are compared.
CREATE INDEX IF NOT EXISTS idx_page_embeddings_vector
    ON public.page_embeddings USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);

-- ---------------------------------------------------------------- remaining foreign keys
CREATE INDEX IF NOT EXISTS idx_customers_auth_user_id ON public.customers (auth_user_id);
CREATE INDEX IF NOT EXISTS idx_customer_configs_customer_id ON public.customer_configs (customer_id);
CREATE INDEX IF NOT EXISTS idx_domains_user_id ON public.domains (user_id);
CREATE INDEX IF NOT EXISTS idx_ai_optimized_content_source_content_id
    ON public.ai_optimized_content (source_content_id);
CREATE INDEX IF NOT EXISTS idx_training_data_domain_id ON public.training_data (domain_id);
CREATE INDEX IF NOT EXISTS idx_conversations_domain_id ON public.conversations (domain_id);
CREATE INDEX IF NOT EXISTS idx_chat_sessions_customer_id ON public.chat_sessions (customer_id);
CREATE INDEX IF NOT EXISTS idx_chat_sessions_domain_activity
    ON public.chat_sessions (domain_id, last_activity_at DESC);
CREATE INDEX IF NOT EXISTS idx_customer_verifications_customer_id
    ON public.customer_verifications (customer_id);
CREATE INDEX IF NOT EXISTS idx_customer_verifications_domain_identifier
    ON public.customer_verifications (domain_id, identifier);
CREATE INDEX IF NOT EXISTS idx_customer_data_cache_domain_id ON public.customer_data_cache (domain_id);
CREATE INDEX IF NOT EXISTS idx_privacy_requests_customer_id ON public.privacy_requests (customer_id);
CREATE INDEX IF NOT EXISTS idx_privacy_requests_domain_id ON public.privacy_requests (domain_id);
CREATE INDEX IF NOT EXISTS idx_businesses_owner_user_id ON public.businesses (owner_user_id);
CREATE INDEX IF NOT EXISTS idx_businesses_customer_id ON public.businesses (customer_id);
