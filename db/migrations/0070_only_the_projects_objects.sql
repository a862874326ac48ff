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
