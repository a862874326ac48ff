-- Tenant policies of the domain's tables and of page_embeddings ask "is this row's domain
-- mine" once per statement instead of once per row (docs/schema.md#row-level-security).
--
-- `owns_domain(domain_id)` and `owns_page(page_id)` take the row's column, so the planner runs
-- the look-up for every row a tenant's query reads: an exact search of a small domain read as
-- the tenant spent 30.7 ms where the service role spent 5.8 ms (bench/serve_latency.py, 100k
-- chunks). `owned_domain_ids()` is the caller's domains as an array; wrapped in a sub-select it
-- is an InitPlan, evaluated once, and `domain_id = ANY(...)` is then an array test per row (and
-- an index condition on the domain btrees).
--
-- The same rows pass as before: a domain is owned when `domains.user_id = auth.uid()`, as in
-- owns_domain; page_embeddings.domain_id is its page's domain, set by a BEFORE trigger from the
-- row's page whatever a writer supplied (0030), so "its domain is mine" is "its page is mine",
-- and WITH CHECK sees the derived value. A row with no domain is nobody's, as before.
-- The ownership functions stay (other policies and functions use them).

CREATE OR REPLACE FUNCTION public.owned_domain_ids() RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$ SELECT COALESCE(array_agg(id), '{}'::uuid[]) FROM public.domains WHERE user_id = auth.uid() $$;

-- Supabase grants EXECUTE on new functions to anon by default; take it back.
REVOKE ALL ON FUNCTION public.owned_domain_ids() FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION public.owned_domain_ids() TO authenticated, service_role;

DO $$
DECLARE
    tbl text;
    pred constant text := 'domain_id = ANY ((SELECT public.owned_domain_ids())::uuid[])';
BEGIN
    FOREACH tbl IN ARRAY ARRAY['scraped_pages', 'website_content', 'structured_extractions',
                               'content_refresh_jobs', 'content_hashes',
                               'page_content_references', 'domain_patterns', 'page_embeddings']
    LOOP
        EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON public.%I', tbl);
        EXECUTE format('CREATE POLICY tenant_isolation ON public.%I AS PERMISSIVE FOR ALL '
                       'TO authenticated USING (%s) WITH CHECK (%s)', tbl, pred, pred);
    END LOOP;
END
$$;
