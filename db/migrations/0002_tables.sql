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
