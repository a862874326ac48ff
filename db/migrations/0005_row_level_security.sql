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

-- ---------------------------------------------------------------- enable RLS everywhere
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT c.oid::regclass AS rel FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
    LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t.rel);
    END LOOP;
END
$$;

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

-- ---------------------------------------------------------------- privileges
-- Plain Postgres has none of Supabase's default grants; Supabase grants anon everything by
-- default. Both end up the same: anon nothing, authenticated DML behind the policies (the audit
-- log is append-only, usage/billing counters read-only), service_role everything.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM anon;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM authenticated;
GRANT USAGE ON SCHEMA public TO authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON
    public.customers, public.customer_configs, public.domains,
    public.scraped_pages, public.website_content, public.structured_extractions,
    public.content_refresh_jobs, public.content_hashes, public.page_content_references,
    public.domain_patterns, public.page_embeddings, public.ai_optimized_content,
    public.training_data, public.conversations, public.messages, public.chat_sessions,
    public.chat_messages, public.customer_verifications, public.customer_data_cache,
    public.privacy_requests, public.businesses, public.business_configs
TO authenticated;
GRANT SELECT, INSERT ON public.customer_access_logs TO authenticated;
GRANT SELECT ON public.business_usage TO authenticated;
GRANT ALL ON ALL TABLES IN SCHEMA public TO service_role;
REVOKE ALL ON public.schema_migrations FROM authenticated, service_role;
GRANT SELECT ON public.schema_migrations TO service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO service_role;
