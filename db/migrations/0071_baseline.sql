-- The schema of migrations 0001..0070 in one file, for a database that has applied none of them
-- (db/migrate.py, docs/schema.md#migrations). Those files stay as they were applied: a database
-- that applied them keeps its checksums, runs the rest of the chain, and then this file is
-- recorded without being run.
--
-- It is the chain's text, each file under a `-- ==== <file>` line, unchanged except the four files
-- that could not apply on Supabase or reached past the project's own objects, which are written
-- anew (`-- ==== <file> (rewritten)`): 0001 (it created auth.users, granted on auth.uid() and put
-- the extensions in public), 0004 (an event trigger and a trigger on every public table), 0005
-- (RLS and grants on every public table, project-wide default privileges) and 0060 (the same
-- trigger-everything call). tests/db/test_migrate.py checks that the unchanged parts are the files.
--
-- replaces: 0001 0002 0003 0004 0005 0006 0020 0021 0030 0031 0032 0040 0041 0042 0050 0060 0070

-- ==== 0001_extensions_and_auth.sql (rewritten)
-- Runs inside the migration's transaction: unqualified names resolve to public, then to the
-- extensions schema where Supabase keeps vector and pg_trgm (ignored where it does not exist).
SET LOCAL search_path = public, extensions, pg_temp;

-- Supabase is recognised by its Auth service: auth.users belongs to supabase_auth_admin. There
-- nothing in `auth` is created, altered or granted; on plain Postgres a minimal stand-in for
-- auth.users, auth.uid() and the three API roles is created (docs/schema.md#supabase).
CREATE OR REPLACE FUNCTION public.omni_on_supabase() RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
                   WHERE c.oid = to_regclass('auth.users') AND r.rolname = 'supabase_auth_admin')
$$;

-- Extensions go to the `extensions` schema where it exists (Supabase), else to public. One
-- already created elsewhere stays where it is.
DO $$
DECLARE
    ext text;
BEGIN
    FOREACH ext IN ARRAY ARRAY['vector', 'pg_trgm'] LOOP
        IF to_regnamespace('extensions') IS NOT NULL THEN
            EXECUTE format('CREATE EXTENSION IF NOT EXISTS %I WITH SCHEMA extensions', ext);
        ELSE
            EXECUTE format('CREATE EXTENSION IF NOT EXISTS %I', ext);
        END IF;
    END LOOP;
END
$$;

DO $$
BEGIN
    IF public.omni_on_supabase() THEN
        RETURN;
    END IF;
    CREATE SCHEMA IF NOT EXISTS auth;
    CREATE TABLE IF NOT EXISTS auth.users (
        id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        email       TEXT UNIQUE,
        created_at  TIMESTAMPTZ DEFAULT NOW()
    );
    -- auth.uid(): the calling user's id from the request's JWT claims, as Supabase defines it.
    IF to_regprocedure('auth.uid()') IS NULL THEN
        CREATE FUNCTION auth.uid() RETURNS UUID
        LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
        AS $fn$
            SELECT COALESCE(
                NULLIF(current_setting('request.jwt.claim.sub', true), ''),
                NULLIF(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
            )::uuid
        $fn$;
    END IF;
    -- Supabase's roles: `anon` and `authenticated` are subject to RLS; `service_role` (the
    -- pipeline) bypasses it.
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
        CREATE ROLE anon NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
        CREATE ROLE authenticated NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
    END IF;
    GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
    GRANT EXECUTE ON FUNCTION auth.uid() TO anon, authenticated, service_role;
    GRANT USAGE ON SCHEMA public TO authenticated, service_role;
END
$$;

-- ==== 0002_tables.sql
-- All 24 tables of the seed schema (docs/schema.md). The 12 tables the seed lists column by
-- column keep exactly its names, types and defaults (gen_random_uuid() stands for
-- uuid_generate_v4()); `domains` has three documented extension columns for crawl settings.
-- Every foreign key cascades on delete.

-- ---------------------------------------------------------------- core business
CREATE TABLE customers (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    auth_user_id        UUID REFERENCES auth.users(id) ON DELETE CASCADE,
    email               TEXT UNIQUE NOT NULL,
    name                TEXT,
    company_name        TEXT,
    created_at          TIMESTAMPTZ DEFAULT NOW(),
    updated_at          TIMESTAMPTZ DEFAULT NOW()
);

CREATE TABLE customer_configs (
    id                          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id                 UUID REFERENCES customers(id) ON DELETE CASCADE,
    domain                      TEXT UNIQUE NOT NULL,
    business_name               TEXT,
    business_description        TEXT,
    primary_color               TEXT DEFAULT '#000000',
    welcome_message             TEXT,
    suggested_questions         JSONB DEFAULT '[]'::jsonb,
    woocommerce_url             TEXT,
    woocommerce_consumer_key    TEXT,
    woocommerce_consumer_secret TEXT,
    encrypted_credentials       JSONB,
    owned_domains               TEXT[] DEFAULT '{}',
    rate_limit                  INTEGER DEFAULT 10,
    allowed_origins             TEXT[] DEFAULT ARRAY['*'],
    active                      BOOLEAN DEFAULT true,
    created_at                  TIMESTAMPTZ DEFAULT NOW(),
    updated_at                  TIMESTAMPTZ DEFAULT NOW()
);

CREATE TABLE domains (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id             UUID REFERENCES auth.users(id) ON DELETE CASCADE,
    domain              TEXT UNIQUE NOT NULL,
    name                TEXT,
    description         TEXT,
    last_scraped_at     TIMESTAMPTZ,
    last_content_refresh TIMESTAMPTZ,
    scrape_frequency    TEXT DEFAULT 'weekly',
    active              BOOLEAN DEFAULT true,
    created_at          TIMESTAMPTZ DEFAULT NOW(),
    updated_at          TIMESTAMPTZ DEFAULT NOW(),
    -- extensions (docs/schema.md): per-domain crawl settings; NULL means the configured default
    max_pages           INTEGER CHECK (max_pages IS NULL OR max_pages > 0),
    max_depth           INTEGER CHECK (max_depth IS NULL OR max_depth >= 0),
    render_js           BOOLEAN NOT NULL DEFAULT false
);

-- ---------------------------------------------------------------- content and scraping
CREATE TABLE scraped_pages (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    domain_id           UUID REFERENCES domains(id) ON DELETE CASCADE,
    url                 TEXT NOT NULL,
    title               TEXT,
    content             TEXT,
    html                TEXT,
    metadata            JSONB DEFAULT '{}'::jsonb,
    status              TEXT DEFAULT 'pending',
    error_message       TEXT,
    scraped_at          TIMESTAMPTZ,
    last_modified       TIMESTAMPTZ,
    created_at          TIMESTAMPTZ DEFAULT NOW(),
    CONSTRAINT scraped_pages_domain_url_key UNIQUE (domain_id, url)
);

CREATE TABLE website_content (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    domain_id           UUID REFERENCES domains(id) ON DELETE CASCADE,
    url                 TEXT NOT NULL,
    title               TEXT,
    content             TEXT,
    summary             TEXT,
    content_type        TEXT,
    content_hash        TEXT,
    metadata            JSONB DEFAULT '{}'::jsonb,
    scraped_at          TIMESTAMPTZ,
    created_at          TIMESTAMPTZ DEFAULT NOW(),
    updated_at          TIMESTAMPTZ DEFAULT NOW(),
    CONSTRAINT website_content_domain_url_key UNIQUE (domain_id, url)
);

CREATE TABLE structured_extractions (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    domain_id           UUID REFERENCES domains(id) ON DELETE CASCADE,
    url                 TEXT NOT NULL,
    extract_type        TEXT NOT NULL,
    extracted_data      JSONB NOT NULL,
    schema_used         JSONB,
    confidence_score    FLOAT,
    extracted_at        TIMESTAMPTZ,
    created_at          TIMESTAMPTZ DEFAULT NOW()
);

CREATE TABLE content_refresh_jobs (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    domain_id           UUID REFERENCES domains(id) ON DELETE CASCADE,
    job_type            TEXT NOT NULL,
    status              TEXT DEFAULT 'pending',
    started_at          TIMESTAMPTZ,
    completed_at        TIMESTAMPTZ,
    error_message       TEXT,
    metadata            JSONB DEFAULT '{}'::jsonb,
    created_at          TIMESTAMPTZ DEFAULT NOW(),
    updated_at          TIMESTAMPTZ DEFAULT NOW()
);

CREATE TABLE content_hashes (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    domain_id           UUID REFERENCES domains(id) ON DELETE CASCADE,
    content_hash        TEXT NOT NULL,
    hash_algorithm      TEXT NOT NULL DEFAULT 'xxh3_128',
    canonical_url       TEXT,
    urls                TEXT[] NOT NULL DEFAULT '{}',
    occurrence_count    INTEGER NOT NULL DEFAULT 1,
    content_length      INTEGER,
    first_seen_at       TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    last_seen_at        TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    created_at          TIMESTAMPTZ DEFAULT NOW(),
    updated_at          TIMESTAMPTZ DEFAULT NOW(),
    CONSTRAINT content_hashes_domain_hash_key UNIQUE (domain_id, content_hash)
);

CREATE TABLE page_content_references (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    domain_id           UUID REFERENCES domains(id) ON DELETE CASCADE,
    source_url          TEXT NOT NULL,
    target_url          TEXT NOT NULL,
    anchor_text         TEXT,
    reference_type      TEXT NOT NULL DEFAULT 'link',   -- 'link' or 'document' (PDF, ...)
    is_internal         BOOLEAN NOT NULL DEFAULT true,
    nofollow            BOOLEAN NOT NULL DEFAULT false,
    is_broken           BOOLEAN NOT NULL DEFAULT false,
    target_status       INTEGER,
    first_seen_at       TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    last_seen_at        TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    created_at          TIMESTAMPTZ DEFAULT NOW(),
    updated_at          TIMESTAMPTZ DEFAULT NOW(),
    CONSTRAINT page_content_references_domain_source_target_key
        UNIQUE (domain_id, source_url, target_url)
);

CREATE TABLE domain_patterns (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    domain_id           UUID REFERENCES domains(id) ON DELETE CASCADE,
    pattern_type        TEXT NOT NULL,                  -- 'platform', 'product', 'faq', 'contact'
    platform            TEXT,                           -- 'woocommerce', 'shopify', 'generic', ...
    selectors           JSONB NOT NULL DEFAULT '{}'::jsonb,
    success_count       INTEGER NOT NULL DEFAULT 0,
    failure_count       INTEGER NOT NULL DEFAULT 0,
    confidence          REAL,
    last_used_at        TIMESTAMPTZ,
    created_at          TIMESTAMPTZ DEFAULT NOW(),
    updated_at          TIMESTAMPTZ DEFAULT NOW(),
    CONSTRAINT domain_patterns_domain_type_key UNIQUE (domain_id, pattern_type)
);

-- ---------------------------------------------------------------- AI and embeddings
CREATE TABLE page_embeddings (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    page_id             UUID REFERENCES scraped_pages(id) ON DELETE CASCADE,
    chunk_text          TEXT NOT NULL,
    embedding           vector(1536),
    metadata            JSONB DEFAULT '{}'::jsonb,
    created_at          TIMESTAMPTZ DEFAULT NOW()
);

CREATE TABLE ai_optimized_content (
    id                      UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    domain_id               UUID REFERENCES domains(id) ON DELETE CASCADE,
    source_content_id       UUID REFERENCES website_content(id) ON DELETE CASCADE,
    url                     TEXT NOT NULL,
    content_type            TEXT NOT NULL,
    raw_content             TEXT,
    raw_html                TEXT,
    optimized_title         TEXT,
    optimized_summary       TEXT,
    optimized_content       TEXT,
    key_points              JSONB DEFAULT '[]'::jsonb,
    topics                  JSONB DEFAULT '[]'::jsonb,
    meta_title              TEXT,
    meta_description        TEXT,
    keywords                TEXT[],
    structured_data         JSONB DEFAULT '{}'::jsonb,
    readability_score       REAL,
    content_quality_score   REAL,
    seo_score               REAL,
    ai_model_used           TEXT,
    processing_version      TEXT,
    processing_tokens       INTEGER,
    processing_cost         DECIMAL(10,4),
    processed_at            TIMESTAMPTZ,
    created_at              TIMESTAMPTZ DEFAULT NOW(),
    updated_at              TIMESTAMPTZ DEFAULT NOW(),
    CONSTRAINT ai_optimized_content_domain_url_key UNIQUE (domain_id, url)
);

CREATE TABLE training_data (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id             UUID REFERENCES auth.users(id) ON DELETE CASCADE,
    domain_id           UUID REFERENCES domains(id) ON DELETE CASCADE,
    type                TEXT NOT NULL,
    input_text          TEXT NOT NULL,
    output_text         TEXT NOT NULL,
    metadata            JSONB DEFAULT '{}'::jsonb,
    status              TEXT DEFAULT 'pending',
    created_at          TIMESTAMPTZ DEFAULT NOW(),
    updated_at          TIMESTAMPTZ DEFAULT NOW()
);

-- ---------------------------------------------------------------- chat
CREATE TABLE conversations (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id         UUID REFERENCES customers(id) ON DELETE CASCADE,
    domain_id           UUID REFERENCES domains(id) ON DELETE CASCADE,
    session_id          TEXT,
    started_at          TIMESTAMPTZ DEFAULT NOW(),
    ended_at            TIMESTAMPTZ,
    metadata            JSONB DEFAULT '{}'::jsonb,
    created_at          TIMESTAMPTZ DEFAULT NOW()
);

CREATE TABLE messages (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    conversation_id     UUID REFERENCES conversations(id) ON DELETE CASCADE,
    role                TEXT NOT NULL,
    content             TEXT NOT NULL,
    metadata            JSONB DEFAULT '{}'::jsonb,
    created_at          TIMESTAMPTZ DEFAULT NOW()
);

CREATE TABLE chat_sessions (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id         UUID REFERENCES customers(id) ON DELETE CASCADE,
    domain_id           UUID REFERENCES domains(id) ON DELETE CASCADE,
    session_token       TEXT UNIQUE NOT NULL DEFAULT gen_random_uuid()::text,
    visitor_id          TEXT,
    channel             TEXT NOT NULL DEFAULT 'web',
    status              TEXT NOT NULL DEFAULT 'active',
    metadata            JSONB NOT NULL DEFAULT '{}'::jsonb,
    started_at          TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    last_activity_at    TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    ended_at            TIMESTAMPTZ,
    created_at          TIMESTAMPTZ DEFAULT NOW(),
    updated_at          TIMESTAMPTZ DEFAULT NOW()
);

CREATE TABLE chat_messages (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id          UUID NOT NULL REFERENCES chat_sessions(id) ON DELETE CASCADE,
    role                TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
    content             TEXT NOT NULL,
    tokens              INTEGER,
    sources             JSONB NOT NULL DEFAULT '[]'::jsonb,  -- page_embeddings ids cited
    metadata            JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at          TIMESTAMPTZ DEFAULT NOW()
);

-- ---------------------------------------------------------------- privacy and compliance
CREATE TABLE customer_verifications (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id         UUID REFERENCES customers(id) ON DELETE CASCADE,
    domain_id           UUID REFERENCES domains(id) ON DELETE CASCADE,
    verification_type   TEXT NOT NULL,                  -- 'email', 'order_number', 'phone'
    identifier          TEXT NOT NULL,                  -- what the end user claimed to be
    code_hash           TEXT,                           -- never the code itself
    status              TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'verified', 'failed', 'expired')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    expires_at          TIMESTAMPTZ,
    verified_at         TIMESTAMPTZ,
    metadata            JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at          TIMESTAMPTZ DEFAULT NOW(),
    updated_at          TIMESTAMPTZ DEFAULT NOW()
);

CREATE TABLE customer_access_logs (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id         UUID REFERENCES customers(id) ON DELETE CASCADE,
    domain_id           UUID REFERENCES domains(id) ON DELETE CASCADE,
    actor               TEXT NOT NULL,                  -- who accessed: user id, 'assistant', 'service'
    action              TEXT NOT NULL,                  -- 'read', 'export', 'delete', ...
    resource            TEXT,
    ip_address          INET,
    user_agent          TEXT,
    metadata            JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at          TIMESTAMPTZ DEFAULT NOW()
);

CREATE TABLE customer_data_cache (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id         UUID REFERENCES customers(id) ON DELETE CASCADE,
    domain_id           UUID REFERENCES domains(id) ON DELETE CASCADE,
    cache_key           TEXT NOT NULL,
    data                JSONB NOT NULL,
    expires_at          TIMESTAMPTZ,
    created_at          TIMESTAMPTZ DEFAULT NOW(),
    updated_at          TIMESTAMPTZ DEFAULT NOW(),
    CONSTRAINT customer_data_cache_customer_key UNIQUE (customer_id, cache_key)
);

CREATE TABLE privacy_requests (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id         UUID REFERENCES customers(id) ON DELETE CASCADE,
    domain_id           UUID REFERENCES domains(id) ON DELETE CASCADE,
    request_type        TEXT NOT NULL
                        CHECK (request_type IN ('access', 'deletion', 'rectification', 'portability', 'opt_out')),
    regulation          TEXT NOT NULL DEFAULT 'gdpr' CHECK (regulation IN ('gdpr', 'ccpa', 'other')),
    requester_email     TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'in_progress', 'completed', 'rejected')),
    details             JSONB NOT NULL DEFAULT '{}'::jsonb,
    due_at              TIMESTAMPTZ,
    completed_at        TIMESTAMPTZ,
    created_at          TIMESTAMPTZ DEFAULT NOW(),
    updated_at          TIMESTAMPTZ DEFAULT NOW()
);

-- ---------------------------------------------------------------- multi-tenant businesses
CREATE TABLE businesses (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_user_id       UUID REFERENCES auth.users(id) ON DELETE CASCADE,
    customer_id         UUID REFERENCES customers(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    slug                TEXT UNIQUE,
    plan                TEXT NOT NULL DEFAULT 'free',
    active              BOOLEAN NOT NULL DEFAULT true,
    metadata            JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at          TIMESTAMPTZ DEFAULT NOW(),
    updated_at          TIMESTAMPTZ DEFAULT NOW()
);

CREATE TABLE business_configs (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    business_id         UUID NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
    settings            JSONB NOT NULL DEFAULT '{}'::jsonb,
    encrypted_secrets   JSONB NOT NULL DEFAULT '{}'::jsonb,   -- name -> AES-256-GCM envelope
    monthly_token_limit BIGINT,
    created_at          TIMESTAMPTZ DEFAULT NOW(),
    updated_at          TIMESTAMPTZ DEFAULT NOW(),
    CONSTRAINT business_configs_business_key UNIQUE (business_id)
);

CREATE TABLE business_usage (
    id                  UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    business_id         UUID REFERENCES businesses(id) ON DELETE CASCADE,
    domain_id           UUID NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    usage_date          DATE NOT NULL DEFAULT CURRENT_DATE,
    usage_type          TEXT NOT NULL,                  -- 'embedding', 'optimization', 'crawl'
    model               TEXT NOT NULL DEFAULT '',
    requests            INTEGER NOT NULL DEFAULT 0,
    tokens              BIGINT NOT NULL DEFAULT 0,
    cost                NUMERIC(12,6) NOT NULL DEFAULT 0,
    created_at          TIMESTAMPTZ DEFAULT NOW(),
    updated_at          TIMESTAMPTZ DEFAULT NOW(),
    CONSTRAINT business_usage_domain_day_type_model_key UNIQUE (domain_id, usage_date, usage_type, model)
);

-- ==== 0003_indexes.sql
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

-- ==== 0004_updated_at_triggers.sql (rewritten)
-- updated_at maintenance: one trigger function; the triggers are created table by table, by name
-- (public.omni_own_table in the last section), never on every table in public: other
-- applications share that schema on Supabase.
CREATE OR REPLACE FUNCTION public.set_updated_at() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;


-- ==== 0005_row_level_security.sql (rewritten)
-- Row level security (docs/schema.md#row-level-security).
--
-- Tenant = the authenticated auth user, auth.uid(). A tenant owns its customers
-- (customers.auth_user_id), businesses (businesses.owner_user_id) and domains (domains.user_id);
-- every other row belongs to the tenant when EVERY parent reference it carries (domain_id,
-- customer_id, business_id, page_id, conversation_id, session_id, source_content_id, user_id)
-- points at something the tenant owns, and it carries at least one. The same predicate is
-- USING and WITH CHECK, so a tenant can neither see nor write a row that points at another
-- tenant's domain/customer/business, nor move its own row there.
--
-- The ownership look-ups are SECURITY DEFINER functions: they read the parent tables without
-- going through those tables' own policies (no recursion, one index probe each) and have a
-- fixed search_path. The pipeline connects as the owner or service_role, which bypass RLS.

CREATE OR REPLACE FUNCTION public.owns_domain(p_domain_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT EXISTS (SELECT 1 FROM public.domains WHERE id = p_domain_id AND user_id = auth.uid()) $$;

CREATE OR REPLACE FUNCTION public.owns_customer(p_customer_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT EXISTS (SELECT 1 FROM public.customers WHERE id = p_customer_id AND auth_user_id = auth.uid()) $$;

CREATE OR REPLACE FUNCTION public.owns_business(p_business_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT EXISTS (SELECT 1 FROM public.businesses WHERE id = p_business_id AND owner_user_id = auth.uid()) $$;

CREATE OR REPLACE FUNCTION public.owns_page(p_page_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM public.scraped_pages p JOIN public.domains d ON d.id = p.domain_id
                   WHERE p.id = p_page_id AND d.user_id = auth.uid())
$$;

CREATE OR REPLACE FUNCTION public.owns_website_content(p_content_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM public.website_content w JOIN public.domains d ON d.id = w.domain_id
                   WHERE w.id = p_content_id AND d.user_id = auth.uid())
$$;

-- A row with (customer_id, domain_id): every non-null reference owned, at least one present.
CREATE OR REPLACE FUNCTION public.owns_customer_domain(p_customer_id uuid, p_domain_id uuid)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT (p_customer_id IS NOT NULL OR p_domain_id IS NOT NULL)
       AND (p_customer_id IS NULL OR public.owns_customer(p_customer_id))
       AND (p_domain_id IS NULL OR public.owns_domain(p_domain_id))
$$;

CREATE OR REPLACE FUNCTION public.owns_conversation(p_conversation_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM public.conversations c WHERE c.id = p_conversation_id
                   AND public.owns_customer_domain(c.customer_id, c.domain_id))
$$;

CREATE OR REPLACE FUNCTION public.owns_chat_session(p_session_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM public.chat_sessions s WHERE s.id = p_session_id
                   AND public.owns_customer_domain(s.customer_id, s.domain_id))
$$;

REVOKE ALL ON FUNCTION public.owns_domain(uuid), public.owns_customer(uuid), public.owns_business(uuid),
    public.owns_page(uuid), public.owns_website_content(uuid), public.owns_customer_domain(uuid, uuid),
    public.owns_conversation(uuid), public.owns_chat_session(uuid) FROM PUBLIC;
DO $$
BEGIN
    -- Supabase grants EXECUTE on new functions to anon by default; take it back.
    EXECUTE 'REVOKE ALL ON FUNCTION public.owns_domain(uuid), public.owns_customer(uuid), '
            'public.owns_business(uuid), public.owns_page(uuid), public.owns_website_content(uuid), '
            'public.owns_customer_domain(uuid, uuid), public.owns_conversation(uuid), '
            'public.owns_chat_session(uuid) FROM anon';
END
$$;
GRANT EXECUTE ON FUNCTION public.owns_domain(uuid), public.owns_customer(uuid), public.owns_business(uuid),
    public.owns_page(uuid), public.owns_website_content(uuid), public.owns_customer_domain(uuid, uuid),
    public.owns_conversation(uuid), public.owns_chat_session(uuid) TO authenticated, service_role;

-- ---------------------------------------------------------------- policies (one FOR ALL each)
DO $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT * FROM (VALUES
        ('customers',               'auth_user_id = (SELECT auth.uid())'),
        ('customer_configs',        'public.owns_customer(customer_id)'),
        ('domains',                 'user_id = (SELECT auth.uid())'),
        ('scraped_pages',           'public.owns_domain(domain_id)'),
        ('website_content',         'public.owns_domain(domain_id)'),
        ('structured_extractions',  'public.owns_domain(domain_id)'),
        ('content_refresh_jobs',    'public.owns_domain(domain_id)'),
        ('content_hashes',          'public.owns_domain(domain_id)'),
        ('page_content_references', 'public.owns_domain(domain_id)'),
        ('domain_patterns',         'public.owns_domain(domain_id)'),
        ('page_embeddings',         'public.owns_page(page_id)'),
        ('ai_optimized_content',    'public.owns_domain(domain_id) AND (source_content_id IS NULL '
                                    'OR public.owns_website_content(source_content_id))'),
        ('training_data',           '(user_id IS NOT NULL OR domain_id IS NOT NULL) '
                                    'AND (user_id IS NULL OR user_id = (SELECT auth.uid())) '
                                    'AND (domain_id IS NULL OR public.owns_domain(domain_id))'),
        ('conversations',           'public.owns_customer_domain(customer_id, domain_id)'),
        ('messages',                'public.owns_conversation(conversation_id)'),
        ('chat_sessions',           'public.owns_customer_domain(customer_id, domain_id)'),
        ('chat_messages',           'public.owns_chat_session(session_id)'),
        ('customer_verifications',  'public.owns_customer_domain(customer_id, domain_id)'),
        ('customer_access_logs',    'public.owns_customer_domain(customer_id, domain_id)'),
        ('customer_data_cache',     'public.owns_customer_domain(customer_id, domain_id)'),
        ('privacy_requests',        'public.owns_customer_domain(customer_id, domain_id)'),
        ('businesses',              'owner_user_id = (SELECT auth.uid()) AND (customer_id IS NULL '
                                    'OR public.owns_customer(customer_id))'),
        ('business_configs',        'public.owns_business(business_id)'),
        ('business_usage',          'public.owns_domain(domain_id) AND (business_id IS NULL '
                                    'OR public.owns_business(business_id))')
    ) AS v(tbl, pred)
    LOOP
        EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON public.%I', p.tbl);
        EXECUTE format('CREATE POLICY tenant_isolation ON public.%I AS PERMISSIVE FOR ALL '
                       'TO authenticated USING (%s) WITH CHECK (%s)', p.tbl, p.pred, p.pred);
    END LOOP;
END
$$;

-- Row level security and the table privileges: the last section of this file, table by table.

-- ==== 0006_search_functions.sql
-- Search and monitoring (docs/schema.md#functions-and-views).
-- All search functions are SECURITY INVOKER: called by a tenant they see only its rows (RLS);
-- the pipeline (owner / service_role) sees everything.

-- ---------------------------------------------------------------- vector search
-- Nearest chunks of one domain's pages by cosine similarity (1 - cosine distance), best first.
-- With `model` only vectors of that model are compared (different models' spaces are unrelated).
--
-- The HNSW index is used under the domain/model filter through pgvector 0.8 iterative index
-- scans: `relaxed_order` keeps pulling candidates from the index until enough rows pass the
-- filter, instead of returning fewer than match_count (the pre-0.8 behaviour with ef_search
-- candidates). relaxed_order may return rows slightly out of order, so the outer query sorts
-- the candidates by their exact distance. Needs pgvector >= 0.8 (hnsw.iterative_scan); older
-- versions reject the unknown hnsw.* setting when this function is created.
--
-- PL/pgSQL + EXECUTE ... USING: the query is planned for each call with the actual domain id and
-- model, so the planner sees how big the domain is (column statistics). A large domain gets the
-- HNSW scan; a small domain gets the exact plan (its pages -> their chunks -> sort by distance),
-- which is both faster there and exact, and never depends on how far an iterative scan must walk
-- (hnsw.max_scan_tuples) to find a small domain's rows.
CREATE OR REPLACE FUNCTION public.search_embeddings(
    query_embedding vector(1536),
    domain text,
    match_count integer DEFAULT 10,
    model text DEFAULT NULL
)
RETURNS TABLE (id uuid, page_id uuid, url text, title text, chunk_text text,
               similarity double precision, metadata jsonb)
LANGUAGE plpgsql STABLE
SET search_path = public, extensions, pg_temp
SET hnsw.iterative_scan = 'relaxed_order'
SET hnsw.ef_search = 100
AS $fn$
DECLARE
    v_domain_id uuid;
BEGIN
    SELECT d.id INTO v_domain_id FROM public.domains d WHERE d.domain = search_embeddings.domain;
    IF v_domain_id IS NULL OR query_embedding IS NULL OR coalesce(match_count, 0) <= 0 THEN
        RETURN;
    END IF;
    -- One-shot plan: the parameters are known constants, so `$4 IS NULL OR ...` folds away.
    RETURN QUERY EXECUTE $q$
        WITH candidates AS MATERIALIZED (
            SELECT e.id, e.page_id, p.url, p.title, e.chunk_text, e.metadata,
                   e.embedding <=> $1 AS distance
            FROM public.page_embeddings e
            JOIN public.scraped_pages p ON p.id = e.page_id
            WHERE p.domain_id = $2 AND e.embedding IS NOT NULL
              AND ($4::text IS NULL OR e.metadata ->> 'model' = $4::text)
            ORDER BY e.embedding <=> $1
            LIMIT $3
        )
        SELECT c.id, c.page_id, c.url, c.title, c.chunk_text, 1 - c.distance, c.metadata
        FROM candidates c ORDER BY c.distance, c.id
    $q$ USING query_embedding, v_domain_id, match_count, search_embeddings.model;
END
$fn$;

-- ---------------------------------------------------------------- hybrid search
-- Reciprocal rank fusion of the vector ranking and a full-text ranking of chunk_text
-- ('simple' configuration, terms OR-ed so a question matches chunks holding any of its words;
-- ts_rank_cd favours chunks holding more of them, close together):
--   score = 1/(rrf_k + vector_rank) + 1/(rrf_k + keyword_rank)   (a missing rank adds 0).
-- Each side contributes its best 4 * match_count (at least 20) candidates.
CREATE OR REPLACE FUNCTION public.hybrid_search(
    query_text text,
    query_embedding vector(1536),
    domain text,
    match_count integer DEFAULT 10,
    model text DEFAULT NULL,
    rrf_k integer DEFAULT 60
)
RETURNS TABLE (id uuid, page_id uuid, url text, title text, chunk_text text,
               similarity double precision, metadata jsonb, score double precision)
LANGUAGE sql STABLE
SET search_path = public, extensions, pg_temp
AS $$
    WITH params AS (
        SELECT greatest(4 * match_count, 20) AS pool,
               nullif(replace(plainto_tsquery('simple', coalesce(query_text, ''))::text, ' & ', ' | '), '')
                   ::tsquery AS q
    ),
    vec AS (
        SELECT s.id, row_number() OVER (ORDER BY s.similarity DESC, s.id) AS rnk
        FROM params, public.search_embeddings(query_embedding, hybrid_search.domain,
                                              (SELECT pool FROM params), hybrid_search.model) s
        WHERE query_embedding IS NOT NULL
    ),
    kw AS (
        SELECT k.id, row_number() OVER (ORDER BY k.rank DESC, k.id) AS rnk
        FROM (
            SELECT e.id, ts_rank_cd(to_tsvector('simple'::regconfig, e.chunk_text), params.q) AS rank
            FROM params, public.page_embeddings e
            JOIN public.scraped_pages p ON p.id = e.page_id
            WHERE params.q IS NOT NULL
              AND to_tsvector('simple'::regconfig, e.chunk_text) @@ params.q
              AND p.domain_id = (SELECT d.id FROM public.domains d WHERE d.domain = hybrid_search.domain)
              AND (hybrid_search.model IS NULL OR e.metadata ->> 'model' = hybrid_search.model)
            ORDER BY rank DESC, e.id
            LIMIT (SELECT pool FROM params)
        ) k
    ),
    fused AS (
        SELECT coalesce(vec.id, kw.id) AS id,
               coalesce(1.0 / (rrf_k + vec.rnk), 0) + coalesce(1.0 / (rrf_k + kw.rnk), 0) AS score
        FROM vec FULL JOIN kw ON kw.id = vec.id
    )
    SELECT e.id, e.page_id, p.url, p.title, e.chunk_text,
           CASE WHEN query_embedding IS NULL OR e.embedding IS NULL THEN NULL
                ELSE 1 - (e.embedding <=> query_embedding) END,
           e.metadata, f.score::double precision
    FROM fused f
    JOIN public.page_embeddings e ON e.id = f.id
    JOIN public.scraped_pages p ON p.id = e.page_id
    ORDER BY f.score DESC, e.id
    LIMIT greatest(match_count, 0)
$$;

-- ---------------------------------------------------------------- stale content
-- The domain's pages never scraped or scraped before now() - older_than, never-scraped first.
CREATE OR REPLACE FUNCTION public.get_stale_content(domain text, older_than interval)
RETURNS TABLE (page_id uuid, url text, title text, scraped_at timestamptz, status text,
               last_modified timestamptz, domain_id uuid)
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $$
    SELECT p.id, p.url, p.title, p.scraped_at, p.status, p.last_modified, p.domain_id
    FROM public.scraped_pages p
    WHERE p.domain_id = (SELECT d.id FROM public.domains d WHERE d.domain = get_stale_content.domain)
      AND (p.scraped_at IS NULL OR p.scraped_at < now() - older_than)
    ORDER BY p.scraped_at NULLS FIRST, p.url
$$;

DO $$
BEGIN
    EXECUTE 'REVOKE ALL ON FUNCTION public.search_embeddings(vector, text, integer, text), '
            'public.hybrid_search(text, vector, text, integer, text, integer), '
            'public.get_stale_content(text, interval) FROM PUBLIC, anon';
END
$$;
GRANT EXECUTE ON FUNCTION public.search_embeddings(vector, text, integer, text),
    public.hybrid_search(text, vector, text, integer, text, integer),
    public.get_stale_content(text, interval) TO authenticated, service_role;

-- ---------------------------------------------------------------- index monitoring
CREATE OR REPLACE VIEW public.index_usage_stats AS
SELECT s.schemaname      AS schema_name,
       s.relname         AS table_name,
       s.indexrelname    AS index_name,
       am.amname         AS index_type,
       s.idx_scan        AS scans,
       s.idx_tup_read    AS tuples_read,
       s.idx_tup_fetch   AS tuples_fetched,
       pg_relation_size(s.indexrelid) AS size_bytes,
       pg_size_pretty(pg_relation_size(s.indexrelid)) AS size,
       i.indisunique     AS is_unique,
       i.indisprimary    AS is_primary
FROM pg_stat_user_indexes s
JOIN pg_index i ON i.indexrelid = s.indexrelid
JOIN pg_class c ON c.oid = s.indexrelid
JOIN pg_am am ON am.oid = c.relam
WHERE s.schemaname = 'public';

-- Never scanned since the statistics were last reset, and not enforcing a constraint
-- (unique / primary key indexes are needed even when never scanned). Largest first.
CREATE OR REPLACE VIEW public.unused_indexes AS
SELECT schema_name, table_name, index_name, index_type, size_bytes, size
FROM public.index_usage_stats
WHERE scans = 0 AND NOT is_unique AND NOT is_primary
ORDER BY size_bytes DESC, index_name;

-- ---------------------------------------------------------------- content stats per domain
CREATE MATERIALIZED VIEW IF NOT EXISTS public.domain_content_stats AS
SELECT d.id AS domain_id,
       d.domain,
       coalesce(pg.pages_total, 0)                     AS pages_total,
       coalesce(pg.pages_by_status, '{}'::jsonb)       AS pages_by_status,
       (SELECT count(*) FROM public.website_content w WHERE w.domain_id = d.id)        AS website_content_rows,
       (SELECT count(*) FROM public.structured_extractions x WHERE x.domain_id = d.id) AS extractions,
       (SELECT count(*) FROM public.page_embeddings e
          JOIN public.scraped_pages p ON p.id = e.page_id WHERE p.domain_id = d.id)    AS embedding_chunks,
       greatest(d.last_scraped_at, pg.last_page_scraped_at) AS last_scraped_at,
       (SELECT coalesce(sum(u.tokens), 0) FROM public.business_usage u WHERE u.domain_id = d.id)::bigint
                                                       AS tokens_used,
       now()                                           AS refreshed_at
FROM public.domains d
LEFT JOIN LATERAL (
    SELECT sum(n)::bigint AS pages_total,
           jsonb_object_agg(coalesce(status, 'null'), n) AS pages_by_status,
           max(last_at) AS last_page_scraped_at
    FROM (SELECT p.status, count(*) AS n, max(p.scraped_at) AS last_at
          FROM public.scraped_pages p WHERE p.domain_id = d.id GROUP BY p.status) by_status
) pg ON true;

-- Unique index: required by REFRESH MATERIALIZED VIEW CONCURRENTLY.
CREATE UNIQUE INDEX IF NOT EXISTS idx_domain_content_stats_domain_id
    ON public.domain_content_stats (domain_id);

-- CONCURRENTLY: readers are never blocked while it recomputes. SECURITY DEFINER because
-- refreshing needs ownership of the view; only service_role may call it.
CREATE OR REPLACE FUNCTION public.refresh_domain_content_stats() RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$ REFRESH MATERIALIZED VIEW CONCURRENTLY public.domain_content_stats $$;

-- Monitoring and cross-tenant aggregates are not for tenants (views and materialized views
-- are not subject to the tables' RLS for their owner).
DO $$
BEGIN
    EXECUTE 'REVOKE ALL ON public.index_usage_stats, public.unused_indexes, public.domain_content_stats '
            'FROM PUBLIC, anon, authenticated';
    EXECUTE 'REVOKE ALL ON FUNCTION public.refresh_domain_content_stats() FROM PUBLIC, anon, authenticated';
END
$$;
GRANT SELECT ON public.index_usage_stats, public.unused_indexes, public.domain_content_stats TO service_role;
GRANT EXECUTE ON FUNCTION public.refresh_domain_content_stats() TO service_role;

-- ==== 0020_page_embeddings_chunk_hash.sql
-- The embed worker reuses a vector already computed for an identical chunk text (same model) on
-- another page, e.g. boilerplate repeated across a site: it looks chunks up by hash alone.
CREATE INDEX IF NOT EXISTS idx_page_embeddings_chunk_hash
    ON public.page_embeddings ((metadata ->> 'chunk_hash'));

-- ==== 0021_trigram_on_website_content.sql
-- Trigram indexes belong on website_content, not scraped_pages.
-- Every crawl rewrites scraped_at on every page it checks, even an unchanged one. scraped_at is
-- indexed (the seed's time indexes), so each of those updates is non-HOT and re-inserts into
-- every index on the row. A GIN trigram index on the page text made that ~0.5 ms a row (2,000
-- unchanged pages: ~1 s of Postgres CPU per re-crawl). website_content holds the same title
-- and text and is written only when a page's content changes.
DROP INDEX IF EXISTS public.idx_scraped_pages_title_trgm;
DROP INDEX IF EXISTS public.idx_scraped_pages_content_trgm;
CREATE INDEX IF NOT EXISTS idx_website_content_title_trgm
    ON public.website_content USING gin (title gin_trgm_ops);
CREATE INDEX IF NOT EXISTS idx_website_content_content_trgm
    ON public.website_content USING gin (content gin_trgm_ops);

-- ==== 0030_page_embeddings_domain_id.sql
-- Tenant-shaped search (docs/workers.md#search-at-tenant-scale, docs/schema.md).
--
-- page_embeddings.domain_id: a denormalised copy of scraped_pages.domain_id (a documented
-- extension column), so "this domain's chunks" is one column of the row itself: the HNSW scan's
-- filter needs no join per candidate, the planner has per-domain statistics, and a btree serves
-- the exact search of small domains. It is derived, never trusted: a BEFORE trigger always sets
-- it from the row's page (whatever a writer, tenant or not, supplied), and a change of a page's
-- domain_id is carried to its chunks, so no tenant-writable value can point a chunk at another
-- tenant's domain.
ALTER TABLE public.page_embeddings ADD COLUMN IF NOT EXISTS domain_id UUID;

UPDATE public.page_embeddings e SET domain_id = p.domain_id
FROM public.scraped_pages p
WHERE p.id = e.page_id AND e.domain_id IS DISTINCT FROM p.domain_id;

CREATE OR REPLACE FUNCTION public.page_embeddings_derive_domain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    NEW.domain_id := (SELECT p.domain_id FROM public.scraped_pages p WHERE p.id = NEW.page_id);
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS page_embeddings_derive_domain ON public.page_embeddings;
CREATE TRIGGER page_embeddings_derive_domain
    BEFORE INSERT OR UPDATE OF page_id, domain_id ON public.page_embeddings
    FOR EACH ROW EXECUTE FUNCTION public.page_embeddings_derive_domain();

CREATE OR REPLACE FUNCTION public.scraped_pages_carry_domain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    UPDATE public.page_embeddings SET domain_id = NEW.domain_id WHERE page_id = NEW.id;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS scraped_pages_carry_domain ON public.scraped_pages;
CREATE TRIGGER scraped_pages_carry_domain
    AFTER UPDATE OF domain_id ON public.scraped_pages
    FOR EACH ROW WHEN (OLD.domain_id IS DISTINCT FROM NEW.domain_id)
    EXECUTE FUNCTION public.scraped_pages_carry_domain();

REVOKE ALL ON FUNCTION public.page_embeddings_derive_domain(), public.scraped_pages_carry_domain()
    FROM PUBLIC, anon, authenticated;

-- Exact search of a small domain and the size check: (domain_id) alone so the count is an
-- index-only scan.
CREATE INDEX IF NOT EXISTS idx_page_embeddings_domain ON public.page_embeddings (domain_id);

-- ==== 0031_page_embeddings_chunk_tsv.sql
-- Keyword side of hybrid_search (docs/workers.md#search-at-tenant-scale).
--
-- chunk_tsv: the chunk's tsvector ('simple' configuration: no stemming, no stop words, works for
-- every site language) as a stored generated column (a documented extension column), so ranking
-- reads it instead of parsing every matching chunk's text again on every query; GIN-indexed.
-- It replaces the expression index of 0003, which served the same @@ but left ts_rank_cd to
-- recompute to_tsvector for each match. Adding the column rewrites page_embeddings once.
ALTER TABLE public.page_embeddings ADD COLUMN IF NOT EXISTS chunk_tsv tsvector
    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, chunk_text)) STORED;

DROP INDEX IF EXISTS public.idx_page_embeddings_chunk_fts;
CREATE INDEX IF NOT EXISTS idx_page_embeddings_chunk_tsv
    ON public.page_embeddings USING gin (chunk_tsv);

-- ==== 0032_tenant_search_functions.sql
-- search_embeddings and hybrid_search for many tenants in one table
-- (docs/workers.md#search-at-tenant-scale; replaces the bodies of 0006, same signatures).
--
-- Both filter on page_embeddings.domain_id (0030) instead of joining scraped_pages for every
-- candidate, and choose the plan themselves instead of leaving it to the planner, whose choice
-- was the problem: for a large domain it could sort every chunk of the domain by distance (27k
-- vectors), for a medium one walk the shared HNSW graph through other tenants' rows.
--
--   * A domain with at most 500 chunks (counted with an index-only scan that stops at 501)
--     is searched exactly: its chunks by the domain_id btree, sorted by distance.
--   * A larger domain is searched through an HNSW index with pgvector's iterative scan
--     (relaxed_order, ef_search = max(40, match_count)). The plan is pinned (sorts, bitmap and
--     sequential scans disabled for that one statement) so the planner cannot trade it for
--     sorting the whole domain. The index is the domain's own partial index
--     (idx_page_embeddings_vector_d_<id>, built by db/vector_indexes.py once the domain has
--     OMNI_SEARCH_DOMAIN_INDEX_ROWS chunks; the planner prefers it, being smaller), else the
--     shared idx_page_embeddings_vector with the domain as a filter.
--   * The walk is bounded (hnsw.max_scan_tuples = 4,000). If it ends before match_count rows
--     passed the filter (an off-topic question to a domain without its own index, whose
--     neighbourhood in the shared graph belongs to other tenants), the exact search runs
--     instead: the answer is never short, and never slower than walking + one exact search.
--   * The planner and hnsw settings are function attributes, so set_config(..., true) inside
--     the function is undone when it returns: callers' settings are never changed.
--
-- Still SECURITY INVOKER: a tenant calling them sees only its rows (RLS on page_embeddings and
-- scraped_pages applies to every statement inside).
CREATE OR REPLACE FUNCTION public.search_embedding_ids(
    query_embedding vector(1536),
    v_domain_id uuid,
    match_count integer,
    model text
)
RETURNS uuid[]
LANGUAGE plpgsql STABLE
SET search_path = public, extensions, pg_temp
SET hnsw.iterative_scan = 'relaxed_order'
SET hnsw.ef_search = 40
SET hnsw.max_scan_tuples = 4000
SET enable_seqscan = on
SET enable_bitmapscan = on
SET enable_indexscan = on
SET enable_sort = on
AS $fn$
DECLARE
    -- omni.search_exact_limit / omni.search_max_scan_tuples override the defaults (tests, tuning).
    exact_limit constant integer :=
        coalesce(nullif(current_setting('omni.search_exact_limit', true), '')::integer, 500);
    max_walk constant integer :=
        coalesce(nullif(current_setting('omni.search_max_scan_tuples', true), '')::integer, 4000);
    v_rows integer;
    v_ids uuid[];
    -- One-shot plans (EXECUTE ... USING): the parameters are constants to the planner, so
    -- `$4 IS NULL OR ...` folds away and the domain's statistics are used.
    q text := $q$
        SELECT array_agg(s.id ORDER BY s.distance, s.id) FROM (
            SELECT e.id, e.embedding <=> $1 AS distance
            FROM public.page_embeddings e
            WHERE e.domain_id = $2 AND e.embedding IS NOT NULL
              AND ($4::text IS NULL OR e.metadata ->> 'model' = $4::text)
            ORDER BY e.embedding <=> $1
            LIMIT $3
        ) s
    $q$;
BEGIN
    IF query_embedding IS NULL OR v_domain_id IS NULL OR coalesce(match_count, 0) <= 0 THEN
        RETURN '{}';
    END IF;
    SELECT count(*) INTO v_rows FROM (
        SELECT 1 FROM public.page_embeddings e WHERE e.domain_id = v_domain_id
        LIMIT exact_limit + 1) s;
    IF v_rows > exact_limit AND match_count <= 1000 THEN
        PERFORM set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true),
                set_config('enable_sort', 'off', true),
                set_config('hnsw.ef_search', greatest(40, match_count)::text, true),
                set_config('hnsw.max_scan_tuples', max_walk::text, true);
        EXECUTE q INTO v_ids USING query_embedding, v_domain_id, match_count, model;
        IF coalesce(cardinality(v_ids), 0) >= match_count THEN
            RETURN v_ids;
        END IF;
        PERFORM set_config('enable_seqscan', 'on', true), set_config('enable_bitmapscan', 'on', true),
                set_config('enable_sort', 'on', true);
    END IF;
    -- Exact: no index can order the rows (the HNSW index is the only ordering index).
    PERFORM set_config('enable_indexscan', 'off', true);
    EXECUTE q INTO v_ids USING query_embedding, v_domain_id, match_count, model;
    RETURN coalesce(v_ids, '{}');
END
$fn$;

CREATE OR REPLACE FUNCTION public.search_embeddings(
    query_embedding vector(1536),
    domain text,
    match_count integer DEFAULT 10,
    model text DEFAULT NULL
)
RETURNS TABLE (id uuid, page_id uuid, url text, title text, chunk_text text,
               similarity double precision, metadata jsonb)
LANGUAGE plpgsql STABLE
SET search_path = public, extensions, pg_temp
AS $fn$
DECLARE
    v_domain_id uuid;
BEGIN
    SELECT d.id INTO v_domain_id FROM public.domains d WHERE d.domain = search_embeddings.domain;
    IF v_domain_id IS NULL OR query_embedding IS NULL OR coalesce(match_count, 0) <= 0 THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT e.id, e.page_id, p.url, p.title, e.chunk_text,
               1 - (e.embedding <=> query_embedding), e.metadata
        FROM unnest(public.search_embedding_ids(query_embedding, v_domain_id, match_count,
                                                search_embeddings.model)) WITH ORDINALITY u(id, n)
        JOIN public.page_embeddings e ON e.id = u.id
        JOIN public.scraped_pages p ON p.id = e.page_id
        ORDER BY u.n;
END
$fn$;

-- Reciprocal rank fusion as before (0006): score = 1/(rrf_k + vector_rank) + 1/(rrf_k + keyword_rank),
-- each side contributing its best max(4 * match_count, 20). The keyword side ranks the stored
-- chunk_tsv (0031) with ts_rank_cd against all query words OR-ed, as before, but the candidates
-- it ranks are the domain's chunks holding one of the query's *distinctive* words: words found
-- in more than 10 % of all chunks (the column's most-common-element statistics, i.e. the
-- corpus' own stop words: "how", "do", "the" ...) only count when the query has nothing else.
-- Without that, one "how" made every chunk of a large domain a candidate and ranking them all
-- took ~270 ms at 27k chunks, against ~2 ms for the distinctive words. A tenant cannot read the
-- statistics (pg_stats hides RLS tables' statistics from those RLS applies to), so for a tenant
-- every word counts: slower, same rows.
-- The words of `words` OR-ed as a tsquery ('simple' configuration), NULL when there are none.
CREATE OR REPLACE FUNCTION public.any_word_tsquery(words text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT nullif(replace(plainto_tsquery('simple'::regconfig, coalesce(words, ''))::text,
                          ' & ', ' | '), '')::tsquery
$$;

CREATE OR REPLACE FUNCTION public.hybrid_search(
    query_text text,
    query_embedding vector(1536),
    domain text,
    match_count integer DEFAULT 10,
    model text DEFAULT NULL,
    rrf_k integer DEFAULT 60
)
RETURNS TABLE (id uuid, page_id uuid, url text, title text, chunk_text text,
               similarity double precision, metadata jsonb, score double precision)
LANGUAGE plpgsql STABLE
SET search_path = public, extensions, pg_temp
AS $fn$
DECLARE
    v_domain_id uuid;
    v_pool integer := greatest(4 * match_count, 20);
    v_query tsquery := public.any_word_tsquery(query_text);
    v_match tsquery;
    v_vector uuid[] := '{}';
    v_keyword uuid[] := '{}';
BEGIN
    SELECT d.id INTO v_domain_id FROM public.domains d WHERE d.domain = hybrid_search.domain;
    IF v_domain_id IS NULL OR coalesce(match_count, 0) <= 0 THEN
        RETURN;
    END IF;
    IF query_embedding IS NOT NULL THEN
        v_vector := public.search_embedding_ids(query_embedding, v_domain_id, v_pool,
                                                hybrid_search.model);
    END IF;
    IF v_query IS NOT NULL THEN
        SELECT public.any_word_tsquery(string_agg(w, ' ')) INTO v_match
        FROM unnest(tsvector_to_array(to_tsvector('simple'::regconfig, query_text))) w
        WHERE w NOT IN (
            SELECT c.elem FROM pg_catalog.pg_stats s,
                 unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS c(elem, freq)
            WHERE s.schemaname = 'public' AND s.tablename = 'page_embeddings'
              AND s.attname = 'chunk_tsv' AND c.freq > 0.1 AND c.elem IS NOT NULL);
        EXECUTE $q$
            SELECT coalesce(array_agg(k.id ORDER BY k.rank DESC, k.id), '{}') FROM (
                SELECT e.id, ts_rank_cd(e.chunk_tsv, $1) AS rank
                FROM public.page_embeddings e
                WHERE e.domain_id = $2 AND e.chunk_tsv @@ $5
                  AND ($3::text IS NULL OR e.metadata ->> 'model' = $3::text)
                ORDER BY rank DESC, e.id
                LIMIT $4
            ) k
        $q$ INTO v_keyword USING v_query, v_domain_id, hybrid_search.model, v_pool,
                                 coalesce(v_match, v_query);
    END IF;
    RETURN QUERY
        WITH vec AS (SELECT u.id, u.n AS rnk FROM unnest(v_vector) WITH ORDINALITY u(id, n)),
             kw AS (SELECT u.id, u.n AS rnk FROM unnest(v_keyword) WITH ORDINALITY u(id, n)),
             fused AS (
                 SELECT coalesce(vec.id, kw.id) AS id,
                        coalesce(1.0 / (rrf_k + vec.rnk), 0) + coalesce(1.0 / (rrf_k + kw.rnk), 0) AS score
                 FROM vec FULL JOIN kw ON kw.id = vec.id
                 ORDER BY score DESC, id
                 LIMIT match_count    -- only the answer's rows are read (and their vectors)
             )
        SELECT e.id, e.page_id, p.url, p.title, e.chunk_text,
               CASE WHEN query_embedding IS NULL OR e.embedding IS NULL THEN NULL
                    ELSE 1 - (e.embedding <=> query_embedding) END,
               e.metadata, f.score::double precision
        FROM fused f
        JOIN public.page_embeddings e ON e.id = f.id
        JOIN public.scraped_pages p ON p.id = e.page_id
        ORDER BY f.score DESC, e.id;
END
$fn$;

DO $$
BEGIN
    EXECUTE 'REVOKE ALL ON FUNCTION public.search_embedding_ids(vector, uuid, integer, text) '
            'FROM PUBLIC, anon';
END
$$;
GRANT EXECUTE ON FUNCTION public.search_embedding_ids(vector, uuid, integer, text)
    TO authenticated, service_role;

-- ==== 0040_pipeline_origin.sql
-- Tenant boundaries in the pipeline (docs/security.md): rows tenants can write must not steer
-- service-role code. `public.is_pipeline_role()` tells the pipeline (the owner, service_role:
-- roles that bypass RLS) from a tenant (`authenticated`, `anon`); triggers use it to stamp or
-- protect columns that only the pipeline may set.
CREATE OR REPLACE FUNCTION public.is_pipeline_role() RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT COALESCE((SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user), false) $$;
GRANT EXECUTE ON FUNCTION public.is_pipeline_role() TO PUBLIC;

-- content_refresh_jobs.origin: 'pipeline' for jobs the pipeline created, 'tenant' for any row a
-- tenant inserted or touched. The scheduler re-sends and the embed worker merges only pipeline
-- jobs; a tenant cannot forge the value (the trigger overrides whatever it writes).
ALTER TABLE public.content_refresh_jobs
    ADD COLUMN IF NOT EXISTS origin TEXT NOT NULL DEFAULT 'pipeline'
    CHECK (origin IN ('pipeline', 'tenant'));

CREATE OR REPLACE FUNCTION public.stamp_job_origin() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF NOT public.is_pipeline_role() THEN
        NEW.origin := 'tenant';
    ELSIF TG_OP = 'UPDATE' AND OLD.origin = 'tenant' THEN
        NEW.origin := 'tenant';   -- once tainted, always tainted
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS trg_content_refresh_jobs_origin ON public.content_refresh_jobs;
CREATE TRIGGER trg_content_refresh_jobs_origin BEFORE INSERT OR UPDATE ON public.content_refresh_jobs
    FOR EACH ROW EXECUTE FUNCTION public.stamp_job_origin();

-- ==== 0041_customer_configs_domain.sql
-- customer_configs belongs to a domain and a customer (docs/security.md#customer-configs).
--
-- `domain_id` references the domain; a trigger keeps `domain` equal to that domain's name and
-- checks that the row's customer is the domain's owner (customers.auth_user_id = domains.user_id).
-- A tenant can only bind a config to one of its own domains, and gets the same error whether the
-- domain does not exist or belongs to someone else (nothing leaks).
--
-- Existing rows: `domain_id` is filled from `domains.domain`. A row whose domain is not registered,
-- or whose customer is not the domain's owner (the shape of the credential-theft attack), is moved
-- to omni_quarantine.customer_configs with the reason, not deleted; an operator can look at it
-- and re-create what is legitimate with `omni secrets set-woocommerce`.

ALTER TABLE public.customer_configs
    ADD COLUMN IF NOT EXISTS domain_id UUID REFERENCES public.domains(id) ON DELETE CASCADE;

UPDATE public.customer_configs c SET domain_id = d.id
  FROM public.domains d WHERE d.domain = c.domain AND c.domain_id IS NULL;

CREATE SCHEMA IF NOT EXISTS omni_quarantine;
REVOKE ALL ON SCHEMA omni_quarantine FROM PUBLIC;
CREATE TABLE IF NOT EXISTS omni_quarantine.customer_configs (
    LIKE public.customer_configs,
    quarantined_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    reason         TEXT NOT NULL
);

WITH moved AS (
    DELETE FROM public.customer_configs c
     WHERE c.domain_id IS NULL
        OR EXISTS (SELECT 1 FROM public.customers cu JOIN public.domains d ON d.id = c.domain_id
                    WHERE cu.id = c.customer_id
                      AND d.user_id IS NOT NULL AND cu.auth_user_id IS DISTINCT FROM d.user_id)
    RETURNING c.*
)
INSERT INTO omni_quarantine.customer_configs
SELECT m.*, now(), CASE WHEN m.domain_id IS NULL THEN 'domain not registered'
                        ELSE 'customer does not own the domain' END
  FROM moved m;

ALTER TABLE public.customer_configs ALTER COLUMN domain_id SET NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS customer_configs_domain_id_key ON public.customer_configs (domain_id);

CREATE OR REPLACE FUNCTION public.bind_customer_config() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    by_name boolean;
    d record;
    customer_owner uuid;
    tenant boolean := NOT public.is_pipeline_role();
BEGIN
    IF TG_OP = 'INSERT' THEN
        by_name := NEW.domain_id IS NULL;
    ELSE
        by_name := NEW.domain_id IS NOT DISTINCT FROM OLD.domain_id
                   AND NEW.domain IS DISTINCT FROM OLD.domain;
    END IF;
    -- As a tenant, RLS hides other tenants' domains: "not found" and "not yours" look the same.
    IF by_name THEN
        SELECT id, domain, user_id INTO d FROM public.domains WHERE domain = NEW.domain;
    ELSE
        SELECT id, domain, user_id INTO d FROM public.domains WHERE id = NEW.domain_id;
    END IF;
    IF d.id IS NULL OR (tenant AND d.user_id IS DISTINCT FROM auth.uid()) THEN
        IF tenant THEN
            RAISE EXCEPTION 'customer_configs: the domain is not one of your registered domains'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RAISE EXCEPTION 'customer_configs: domain % is not registered', COALESCE(NEW.domain, NEW.domain_id::text)
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    NEW.domain_id := d.id;
    NEW.domain := d.domain;
    IF NEW.customer_id IS NOT NULL AND d.user_id IS NOT NULL THEN
        SELECT auth_user_id INTO customer_owner FROM public.customers WHERE id = NEW.customer_id;
        IF customer_owner IS DISTINCT FROM d.user_id THEN
            IF tenant THEN
                RAISE EXCEPTION 'customer_configs: the domain is not one of your registered domains'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RAISE EXCEPTION 'customer_configs: customer % does not own domain %', NEW.customer_id, d.domain
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS trg_customer_configs_bind_domain ON public.customer_configs;
CREATE TRIGGER trg_customer_configs_bind_domain BEFORE INSERT OR UPDATE ON public.customer_configs
    FOR EACH ROW EXECUTE FUNCTION public.bind_customer_config();

DROP POLICY IF EXISTS tenant_isolation ON public.customer_configs;
CREATE POLICY tenant_isolation ON public.customer_configs AS PERMISSIVE FOR ALL TO authenticated
    USING (public.owns_customer(customer_id) AND public.owns_domain(domain_id))
    WITH CHECK (public.owns_customer(customer_id) AND public.owns_domain(domain_id));

-- ==== 0042_domain_claims_and_tenant_unique.sql
-- Unique values must neither leak across tenants nor be squattable (docs/security.md#uniqueness).
--
-- * domains: a tenant no longer inserts or renames domains. It files a claim in `domain_claims`
--   (unique per tenant, so a claim never reveals another tenant's); the pipeline registers or
--   transfers the domain once the claim is proven (`omni domain verify`, a token served at
--   /.well-known/omni-ingest-verification.txt). INSERT is simply not granted: the error is the
--   same for every value.
-- * customers.email and businesses.slug are unique per tenant, not globally.
-- * customer_configs.domain stays unique, but only the domain's owner can bind a config to it
--   (0041), and the error does not say whether the domain exists.

REVOKE INSERT ON public.domains FROM authenticated;

CREATE OR REPLACE FUNCTION public.protect_domain_name() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    IF NOT public.is_pipeline_role() AND NEW.domain IS DISTINCT FROM OLD.domain THEN
        RAISE EXCEPTION 'domains: a domain name cannot be changed; claim the new one instead'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS trg_domains_protect_name ON public.domains;
CREATE TRIGGER trg_domains_protect_name BEFORE UPDATE ON public.domains
    FOR EACH ROW EXECUTE FUNCTION public.protect_domain_name();

-- A rename by the pipeline carries over to the config's copy of the name (0041 keeps them equal).
CREATE OR REPLACE FUNCTION public.rename_customer_config() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    UPDATE public.customer_configs SET domain = NEW.domain WHERE domain_id = NEW.id;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS trg_domains_rename_config ON public.domains;
CREATE TRIGGER trg_domains_rename_config AFTER UPDATE OF domain ON public.domains
    FOR EACH ROW WHEN (NEW.domain IS DISTINCT FROM OLD.domain)
    EXECUTE FUNCTION public.rename_customer_config();

ALTER TABLE public.customers DROP CONSTRAINT IF EXISTS customers_email_key;
ALTER TABLE public.customers ADD CONSTRAINT customers_auth_user_email_key UNIQUE (auth_user_id, email);
ALTER TABLE public.businesses DROP CONSTRAINT IF EXISTS businesses_slug_key;
ALTER TABLE public.businesses ADD CONSTRAINT businesses_owner_slug_key UNIQUE (owner_user_id, slug);

CREATE TABLE IF NOT EXISTS public.domain_claims (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         UUID NOT NULL REFERENCES auth.users(id) ON DELETE CASCADE,
    domain          TEXT NOT NULL CHECK (length(domain) BETWEEN 1 AND 300
                                         AND domain !~ '[[:cntrl:][:space:]]'),
    token           TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified', 'failed')),
    checked_at      TIMESTAMPTZ,
    verified_at     TIMESTAMPTZ,
    error_message   TEXT,
    created_at      TIMESTAMPTZ DEFAULT NOW(),
    updated_at      TIMESTAMPTZ DEFAULT NOW(),
    CONSTRAINT domain_claims_user_domain_key UNIQUE (user_id, domain)
);
CREATE INDEX IF NOT EXISTS idx_domain_claims_domain ON public.domain_claims (domain);
ALTER TABLE public.domain_claims ENABLE ROW LEVEL SECURITY;

-- A tenant writes only user_id and domain: the token and the outcome are the pipeline's.
CREATE OR REPLACE FUNCTION public.stamp_domain_claim() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    -- the ASCII part of the canonical form (omni/domains.py does the rest: NFKC, IDNA)
    NEW.domain := lower(rtrim(btrim(NEW.domain), '.'));
    IF NOT public.is_pipeline_role() OR NEW.token IS NULL THEN
        NEW.token := replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '');
    END IF;
    IF NOT public.is_pipeline_role() THEN
        NEW.status := 'pending';
        NEW.checked_at := NULL;
        NEW.verified_at := NULL;
        NEW.error_message := NULL;
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS trg_domain_claims_stamp ON public.domain_claims;
CREATE TRIGGER trg_domain_claims_stamp BEFORE INSERT ON public.domain_claims
    FOR EACH ROW EXECUTE FUNCTION public.stamp_domain_claim();

DROP POLICY IF EXISTS tenant_isolation ON public.domain_claims;
CREATE POLICY tenant_isolation ON public.domain_claims AS PERMISSIVE FOR ALL TO authenticated
    USING (user_id = (SELECT auth.uid())) WITH CHECK (user_id = (SELECT auth.uid()));
GRANT SELECT, INSERT, DELETE ON public.domain_claims TO authenticated;
GRANT ALL ON public.domain_claims TO service_role;

-- The canonical form's limits in the table too (omni/domains.py is the first guard): a clear
-- check violation instead of a btree "index row size" error, and no control bytes.
ALTER TABLE public.domains ADD CONSTRAINT domains_domain_form
    CHECK (length(domain) BETWEEN 1 AND 300 AND domain !~ '[[:cntrl:][:space:]]') NOT VALID;

-- ==== 0050_stale_content_skips_remembered_urls.sql
-- The crawler now remembers every URL it meets (docs/crawling.md): besides stored pages,
-- scraped_pages holds duplicates and redirects (status 'duplicate' / 'redirect', no content,
-- `metadata.canonical_of`), URLs the trap bound skipped ('skipped') and dead links with a retry
-- schedule (`metadata.next_check_at`). None of them is stale content: a duplicate is not asked
-- while its canonical page is unchanged, a dead link waits for its back-off. Same signature
-- as 0006's function.
CREATE OR REPLACE FUNCTION public.get_stale_content(domain text, older_than interval)
RETURNS TABLE (page_id uuid, url text, title text, scraped_at timestamptz, status text,
               last_modified timestamptz, domain_id uuid)
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $$
    SELECT p.id, p.url, p.title, p.scraped_at, p.status, p.last_modified, p.domain_id
    FROM public.scraped_pages p
    WHERE p.domain_id = (SELECT d.id FROM public.domains d WHERE d.domain = get_stale_content.domain)
      AND (p.scraped_at IS NULL OR p.scraped_at < now() - older_than)
      AND COALESCE(p.status, 'pending') NOT IN ('duplicate', 'redirect', 'skipped', 'gone')
      AND (p.metadata->>'next_check_at' IS NULL
           OR (p.metadata->>'next_check_at')::timestamptz <= now())
    ORDER BY p.scraped_at NULLS FIRST, p.url
$$;

-- ==== 0060_catalog_sources.sql (rewritten)
-- Catalogue sync from a shop's own API (docs/catalog.md): which API a domain's products come
-- from and where each sync left off. One row per domain and platform.
--   woocommerce: REST API v3 at base_url (or customer_configs.woocommerce_url) with the
--                encrypted consumer key/secret of customer_configs (`omni secrets set-woocommerce`);
--   shopify:     the storefront's public /products.json (no credentials).
-- sync_cursor is the latest modification time the API reported (WooCommerce modified_after).
CREATE TABLE IF NOT EXISTS public.catalog_sources (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    domain_id       UUID NOT NULL REFERENCES public.domains(id) ON DELETE CASCADE,
    platform        TEXT NOT NULL CHECK (platform IN ('woocommerce', 'shopify')),
    base_url        TEXT,
    active          BOOLEAN NOT NULL DEFAULT true,
    sync_cursor     TIMESTAMPTZ,
    last_synced_at  TIMESTAMPTZ,
    last_status     TEXT,
    last_error      TEXT,
    products        INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ DEFAULT NOW(),
    updated_at      TIMESTAMPTZ DEFAULT NOW(),
    UNIQUE (domain_id, platform)
);

-- Catalogue rows are found by their API id (a product's permalink may change).
CREATE INDEX IF NOT EXISTS idx_structured_extractions_catalog
    ON public.structured_extractions (domain_id, (schema_used ->> 'source'), (schema_used ->> 'product_id'))
    WHERE extract_type = 'product';

-- Tenancy as for every domain-owned table (0005): visible and writable only through an owned
-- domain; RLS, the updated_at trigger and the privileges are set in the last section.
DROP POLICY IF EXISTS tenant_isolation ON public.catalog_sources;
CREATE POLICY tenant_isolation ON public.catalog_sources AS PERMISSIVE FOR ALL TO authenticated
    USING (public.owns_domain(domain_id)) WITH CHECK (public.owns_domain(domain_id));

-- ==== 0070_only_the_projects_objects.sql
-- Only the project's own objects (docs/schema.md#supabase). Until now, on a database shared with
-- other applications (a Supabase project), the migrations reached further:
--   * 0004's event trigger switched RLS on and added an updated_at trigger to every table any
--     application later created in public, and ensure_updated_at_triggers() (0004, 0060) added
--     that trigger to every public table with an updated_at column;
--   * 0005 enabled RLS on, and revoked/granted on, every table in public;
--   * tables created after 0005 (domain_claims, catalog_sources) kept the project's default
--     privileges: on Supabase anon and authenticated could TRUNCATE them (TRUNCATE ignores RLS),
--     and on projects created before 2026-10-30 a tenant could UPDATE its own claim to 'verified'.
--   * the monitoring views kept every privilege for service_role from 0005's default privileges;
--     they are read-only for it now, as 0006 meant.
-- From here each project table is set up by name (public.omni_own_table). This migration is also
-- the last section of the baseline (0071), so it is idempotent.
--
-- Left as they are, because nothing tells this project's changes from the owner's: RLS that 0005
-- or the event trigger enabled on other applications' tables, and 0005's
-- `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO service_role`
-- (docs/operations.md#supabase says how to undo them by hand).
SET LOCAL search_path = public, extensions, pg_temp;

CREATE OR REPLACE FUNCTION public.omni_on_supabase() RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
                   WHERE c.oid = to_regclass('auth.users') AND r.rolname = 'supabase_auth_admin')
$$;

DROP EVENT TRIGGER IF EXISTS omni_public_table_ddl;
DROP FUNCTION IF EXISTS public.on_public_table_ddl();
DROP FUNCTION IF EXISTS public.ensure_updated_at_triggers();

-- The updated_at triggers ensure_updated_at_triggers() put on tables that are not the project's.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT tg.tgname, tg.tgrelid::regclass AS rel FROM pg_trigger tg
        WHERE tg.tgfoid = 'public.set_updated_at()'::regprocedure AND NOT tg.tgisinternal
          AND tg.tgrelid::regclass::text NOT IN (
              'customers', 'customer_configs', 'domains', 'domain_claims', 'scraped_pages',
              'website_content', 'structured_extractions', 'content_refresh_jobs', 'content_hashes',
              'page_content_references', 'domain_patterns', 'page_embeddings', 'ai_optimized_content',
              'training_data', 'conversations', 'messages', 'chat_sessions', 'chat_messages',
              'customer_verifications', 'customer_access_logs', 'customer_data_cache',
              'privacy_requests', 'businesses', 'business_configs', 'business_usage', 'catalog_sources')
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', t.tgname, t.rel);
    END LOOP;
END
$$;

-- 0001 granted EXECUTE on auth.uid() to the three API roles. On Supabase the function is Supabase
-- Auth's (PUBLIC may execute it); where this role could make those grants (projects from before
-- 2025-04, when postgres was a member of supabase_auth_admin), they are taken back.
DO $$
BEGIN
    IF public.omni_on_supabase() AND EXISTS (
        SELECT 1 FROM pg_proc p, aclexplode(p.proacl) a
        WHERE p.oid = 'auth.uid()'::regprocedure
          AND a.grantee IN (SELECT oid FROM pg_roles WHERE rolname IN ('anon', 'authenticated', 'service_role'))
          AND pg_has_role(a.grantor, 'USAGE')) THEN
        REVOKE EXECUTE ON FUNCTION auth.uid() FROM anon, authenticated, service_role;
    END IF;
END
$$;

-- On plain Postgres auth.uid() is this project's stand-in (0001): it gets a fixed search_path too.
DO $$
BEGIN
    IF NOT public.omni_on_supabase() AND EXISTS (
        SELECT 1 FROM pg_proc WHERE oid = 'auth.uid()'::regprocedure AND pg_has_role(proowner, 'USAGE')) THEN
        ALTER FUNCTION auth.uid() SET search_path = pg_catalog, pg_temp;
    END IF;
END
$$;

REVOKE ALL ON public.index_usage_stats, public.unused_indexes, public.domain_content_stats
    FROM service_role;
GRANT SELECT ON public.index_usage_stats, public.unused_indexes, public.domain_content_stats TO service_role;

-- What every project table gets, whoever's default privileges apply (Supabase's grant-all, its
-- 2026 secure-by-default, plain Postgres' none): row level security, the updated_at trigger when
-- it has the column, nothing for anon, exactly `tenant_privileges` (a comma-separated list of
-- SELECT/INSERT/UPDATE/DELETE, or '') for authenticated, so never TRUNCATE, REFERENCES or
-- TRIGGER (the first ignores RLS), and everything for service_role. A migration that adds a
-- table calls this for it (and tests/support/tenants.py gets a row spec for it).
CREATE OR REPLACE FUNCTION public.omni_own_table(tbl regclass, tenant_privileges text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    trigger_name text := 'trg_' || (SELECT relname FROM pg_class WHERE oid = tbl) || '_updated_at';
    privilege text;
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = tbl AND attname = 'updated_at'
               AND NOT attisdropped)
       AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = tbl AND tgname = trigger_name) THEN
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %s '
                       'FOR EACH ROW EXECUTE FUNCTION public.set_updated_at()', trigger_name, tbl);
    END IF;
    EXECUTE format('REVOKE ALL ON %s FROM anon, authenticated', tbl);
    FOREACH privilege IN ARRAY string_to_array(replace(tenant_privileges, ' ', ''), ',') LOOP
        IF upper(privilege) NOT IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE') THEN
            RAISE EXCEPTION 'omni_own_table: % is not a tenant privilege', privilege;
        END IF;
        EXECUTE format('GRANT %s ON %s TO authenticated', upper(privilege), tbl);
    END LOOP;
    EXECUTE format('GRANT ALL ON %s TO service_role', tbl);
END
$$;
REVOKE ALL ON FUNCTION public.omni_own_table(regclass, text) FROM PUBLIC, anon, authenticated;

-- Every project table, by name, with what a tenant (authenticated, behind the policies) may do:
-- the audit log is append-only, usage/billing counters read-only, domains are registered by the
-- pipeline (0042), a claim's outcome is the pipeline's (a tenant may file and withdraw one).
SELECT public.omni_own_table(t.tbl::regclass, t.tenant_privileges) FROM (VALUES
    ('public.customers',               'SELECT, INSERT, UPDATE, DELETE'),
    ('public.customer_configs',        'SELECT, INSERT, UPDATE, DELETE'),
    ('public.domains',                 'SELECT, UPDATE, DELETE'),
    ('public.domain_claims',           'SELECT, INSERT, DELETE'),
    ('public.scraped_pages',           'SELECT, INSERT, UPDATE, DELETE'),
    ('public.website_content',         'SELECT, INSERT, UPDATE, DELETE'),
    ('public.structured_extractions',  'SELECT, INSERT, UPDATE, DELETE'),
    ('public.content_refresh_jobs',    'SELECT, INSERT, UPDATE, DELETE'),
    ('public.content_hashes',          'SELECT, INSERT, UPDATE, DELETE'),
    ('public.page_content_references', 'SELECT, INSERT, UPDATE, DELETE'),
    ('public.domain_patterns',         'SELECT, INSERT, UPDATE, DELETE'),
    ('public.page_embeddings',         'SELECT, INSERT, UPDATE, DELETE'),
    ('public.ai_optimized_content',    'SELECT, INSERT, UPDATE, DELETE'),
    ('public.training_data',           'SELECT, INSERT, UPDATE, DELETE'),
    ('public.conversations',           'SELECT, INSERT, UPDATE, DELETE'),
    ('public.messages',                'SELECT, INSERT, UPDATE, DELETE'),
    ('public.chat_sessions',           'SELECT, INSERT, UPDATE, DELETE'),
    ('public.chat_messages',           'SELECT, INSERT, UPDATE, DELETE'),
    ('public.customer_verifications',  'SELECT, INSERT, UPDATE, DELETE'),
    ('public.customer_access_logs',    'SELECT, INSERT'),
    ('public.customer_data_cache',     'SELECT, INSERT, UPDATE, DELETE'),
    ('public.privacy_requests',        'SELECT, INSERT, UPDATE, DELETE'),
    ('public.businesses',              'SELECT, INSERT, UPDATE, DELETE'),
    ('public.business_configs',        'SELECT, INSERT, UPDATE, DELETE'),
    ('public.business_usage',          'SELECT'),
    ('public.catalog_sources',         'SELECT, INSERT, UPDATE, DELETE')
) AS t(tbl, tenant_privileges);

-- The runner's bookkeeping: read-only for service_role, closed to tenants.
REVOKE ALL ON public.schema_migrations FROM anon, authenticated, service_role;
GRANT SELECT ON public.schema_migrations TO service_role;
