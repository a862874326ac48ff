-- What the chat app (Omniops) reads on its chat and widget path (docs/schema.md#the-chat-apps-read-path).
--
-- Four columns it selects, each a copy of a fact this project already owns, kept by triggers so
-- that every writer (the pipeline, a tenant, another application, a restore) leaves them right:
--   domains.domain_name            = domains.domain                   (generated column)
--   domains.customer_config_id     = the customer_configs row whose domain_id is this domain
--                                    (owner: customer_configs.domain_id, unique since 0041)
--   customer_configs.shopify_shop  = host of the domain's active Shopify catalogue source
--                                    (owner: catalog_sources; its base_url, else the domain)
--   customer_configs.app_id        = the widget's public id, 'app_' + 16 hex, generated once and
--                                    never changed (the embed code carries it)
-- Derived, never trusted: whatever a writer puts in the three copied columns is replaced.
--
-- Two functions it calls by name (PostgREST: named arguments):
--   search_embeddings(query_embedding, p_domain_id, match_threshold, match_count)
--   search_pages_by_keyword(p_domain_id, p_keyword, p_limit)
-- p_domain_id may be a domains.id or a customer_configs.id (the app's domain cache holds the
-- latter); resolve_domain_id() maps both to the domain.

-- ---------------------------------------------------------------- the four columns
ALTER TABLE public.domains ADD COLUMN IF NOT EXISTS domain_name TEXT GENERATED ALWAYS AS (domain) STORED;
ALTER TABLE public.domains ADD COLUMN IF NOT EXISTS customer_config_id UUID;
ALTER TABLE public.customer_configs ADD COLUMN IF NOT EXISTS shopify_shop TEXT;
ALTER TABLE public.customer_configs ADD COLUMN IF NOT EXISTS app_id TEXT;

CREATE OR REPLACE FUNCTION public.new_app_id() RETURNS text
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT 'app_' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 16) $$;

-- A quarantined config (0041, db/domain_claims.py) keeps these too.
ALTER TABLE omni_quarantine.customer_configs ADD COLUMN IF NOT EXISTS shopify_shop TEXT;
ALTER TABLE omni_quarantine.customer_configs ADD COLUMN IF NOT EXISTS app_id TEXT;

UPDATE public.customer_configs SET app_id = public.new_app_id() WHERE app_id IS NULL;
ALTER TABLE public.customer_configs ALTER COLUMN app_id SET DEFAULT public.new_app_id();
ALTER TABLE public.customer_configs ALTER COLUMN app_id SET NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS customer_configs_app_id_key ON public.customer_configs (app_id);
CREATE INDEX IF NOT EXISTS idx_domains_domain_name ON public.domains (domain_name);

-- The shop of a domain's active Shopify source: the host of its base_url, else the domain.
-- SECURITY INVOKER: a tenant's config trigger reads only the tenant's own sources (RLS).
CREATE OR REPLACE FUNCTION public.shopify_shop_of(p_domain_id uuid) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT lower(coalesce(substring(s.base_url from '^[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^/@]*@)?([^/:?#]+)'),
                          d.domain))
      FROM public.catalog_sources s JOIN public.domains d ON d.id = s.domain_id
     WHERE s.domain_id = p_domain_id AND s.platform = 'shopify' AND s.active
$$;
REVOKE ALL ON FUNCTION public.shopify_shop_of(uuid) FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION public.shopify_shop_of(uuid) TO authenticated, service_role;

-- customer_configs BEFORE INSERT / UPDATE: shopify_shop from the catalogue source, app_id fixed.
-- Named to sort after trg_customer_configs_bind_domain (0041), which settles domain_id first.
CREATE OR REPLACE FUNCTION public.customer_config_derived_columns() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    NEW.shopify_shop := public.shopify_shop_of(NEW.domain_id);
    IF TG_OP = 'UPDATE' THEN
        NEW.app_id := OLD.app_id;
    ELSIF NEW.app_id IS NULL OR NOT public.is_pipeline_role() THEN
        -- Only the pipeline (a restore, an import) may bring an existing id; a tenant's would
        -- let it pick, or squat, the public id another site's embed code carries.
        NEW.app_id := public.new_app_id();
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION public.customer_config_derived_columns() FROM PUBLIC, anon, authenticated;
DROP TRIGGER IF EXISTS trg_customer_configs_derived ON public.customer_configs;
CREATE TRIGGER trg_customer_configs_derived BEFORE INSERT OR UPDATE ON public.customer_configs
    FOR EACH ROW EXECUTE FUNCTION public.customer_config_derived_columns();

-- domains BEFORE INSERT / UPDATE: customer_config_id is read from customer_configs.
CREATE OR REPLACE FUNCTION public.domain_derived_columns() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    NEW.customer_config_id := (SELECT c.id FROM public.customer_configs c WHERE c.domain_id = NEW.id);
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION public.domain_derived_columns() FROM PUBLIC, anon, authenticated;
DROP TRIGGER IF EXISTS trg_domains_derived ON public.domains;
CREATE TRIGGER trg_domains_derived BEFORE INSERT OR UPDATE ON public.domains
    FOR EACH ROW EXECUTE FUNCTION public.domain_derived_columns();

-- customer_configs AFTER INSERT / UPDATE OF domain_id / DELETE: refresh the domains' copy. The
-- UPDATE fires trg_domains_derived, which reads the value; SECURITY DEFINER because a tenant may
-- not update domains rows itself (0042) and must not need to.
CREATE OR REPLACE FUNCTION public.refresh_domain_customer_config(p_domain_ids uuid[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    UPDATE public.domains d SET customer_config_id = NULL
     WHERE d.id = ANY(p_domain_ids)
       AND d.customer_config_id IS DISTINCT FROM
           (SELECT c.id FROM public.customer_configs c WHERE c.domain_id = d.id)
$$;
-- Transition tables cannot be named for a trigger with more than one event: one per event.
CREATE OR REPLACE FUNCTION public.refresh_domain_customer_config_ins() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM public.refresh_domain_customer_config(ARRAY(SELECT n.domain_id FROM new_rows n));
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION public.refresh_domain_customer_config_upd() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM public.refresh_domain_customer_config(
        ARRAY(SELECT n.domain_id FROM new_rows n UNION SELECT o.domain_id FROM old_rows o));
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION public.refresh_domain_customer_config_del() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM public.refresh_domain_customer_config(ARRAY(SELECT o.domain_id FROM old_rows o));
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION public.refresh_domain_customer_config(uuid[]),
    public.refresh_domain_customer_config_ins(), public.refresh_domain_customer_config_upd(),
    public.refresh_domain_customer_config_del() FROM PUBLIC, anon, authenticated;
DROP TRIGGER IF EXISTS trg_customer_configs_domain_ins ON public.customer_configs;
DROP TRIGGER IF EXISTS trg_customer_configs_domain_upd ON public.customer_configs;
DROP TRIGGER IF EXISTS trg_customer_configs_domain_del ON public.customer_configs;
CREATE TRIGGER trg_customer_configs_domain_ins AFTER INSERT ON public.customer_configs
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.refresh_domain_customer_config_ins();
CREATE TRIGGER trg_customer_configs_domain_upd AFTER UPDATE ON public.customer_configs
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.refresh_domain_customer_config_upd();
CREATE TRIGGER trg_customer_configs_domain_del AFTER DELETE ON public.customer_configs
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.refresh_domain_customer_config_del();

-- catalog_sources AFTER any change: refresh the configs' shopify_shop (the BEFORE trigger of
-- customer_configs computes it; app_id is kept by the same trigger).
CREATE OR REPLACE FUNCTION public.refresh_customer_config_shop(p_domain_ids uuid[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
    UPDATE public.customer_configs c SET shopify_shop = NULL
     WHERE c.domain_id = ANY(p_domain_ids)
       AND c.shopify_shop IS DISTINCT FROM public.shopify_shop_of(c.domain_id)
$$;
CREATE OR REPLACE FUNCTION public.refresh_customer_config_shop_new() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM public.refresh_customer_config_shop(ARRAY(SELECT n.domain_id FROM new_rows n));
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION public.refresh_customer_config_shop_old() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    PERFORM public.refresh_customer_config_shop(ARRAY(SELECT o.domain_id FROM old_rows o));
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION public.refresh_customer_config_shop(uuid[]),
    public.refresh_customer_config_shop_new(), public.refresh_customer_config_shop_old()
    FROM PUBLIC, anon, authenticated;
DROP TRIGGER IF EXISTS trg_catalog_sources_shop_ins ON public.catalog_sources;
DROP TRIGGER IF EXISTS trg_catalog_sources_shop_upd_new ON public.catalog_sources;
DROP TRIGGER IF EXISTS trg_catalog_sources_shop_upd_old ON public.catalog_sources;
DROP TRIGGER IF EXISTS trg_catalog_sources_shop_del ON public.catalog_sources;
CREATE TRIGGER trg_catalog_sources_shop_ins AFTER INSERT ON public.catalog_sources
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.refresh_customer_config_shop_new();
CREATE TRIGGER trg_catalog_sources_shop_upd_new AFTER UPDATE ON public.catalog_sources
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.refresh_customer_config_shop_new();
CREATE TRIGGER trg_catalog_sources_shop_upd_old AFTER UPDATE ON public.catalog_sources
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.refresh_customer_config_shop_old();
CREATE TRIGGER trg_catalog_sources_shop_del AFTER DELETE ON public.catalog_sources
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.refresh_customer_config_shop_old();

-- Existing rows (the BEFORE triggers compute the values).
UPDATE public.customer_configs SET shopify_shop = NULL;
UPDATE public.domains SET customer_config_id = NULL;

-- ---------------------------------------------------------------- the two functions
-- A domains.id, or a customer_configs.id standing for its domain; NULL when neither (or, for a
-- tenant, when RLS hides it: SECURITY INVOKER).
CREATE OR REPLACE FUNCTION public.resolve_domain_id(p_domain_id uuid) RETURNS uuid
LANGUAGE sql STABLE SET search_path = pg_catalog, public, pg_temp
AS $$
    SELECT coalesce((SELECT d.id FROM public.domains d WHERE d.id = p_domain_id),
                    (SELECT c.domain_id FROM public.customer_configs c WHERE c.id = p_domain_id))
$$;

-- The chat app's vector search. Same rows and columns as search_embeddings(vector, text, ...)
-- (both come from search_embedding_ids), those below match_threshold left out. The parameters
-- are not in the app's order: PostgREST names them, and a call by position with a text domain,
-- search_embeddings(v, 'shop.test', 10, 'model'), must keep resolving to the text signature
-- (with the app's order Postgres would prefer this one: integer -> double precision is a
-- conversion to a preferred type). Both defaults are the app's own.
CREATE OR REPLACE FUNCTION public.search_embeddings(
    p_domain_id uuid,
    query_embedding vector(1536),
    match_threshold double precision DEFAULT 0.78,
    match_count integer DEFAULT 10
)
RETURNS TABLE (id uuid, page_id uuid, url text, title text, chunk_text text,
               similarity double precision, metadata jsonb)
LANGUAGE plpgsql STABLE
SET search_path = public, extensions, pg_temp
AS $fn$
DECLARE
    v_domain_id uuid := public.resolve_domain_id(p_domain_id);
BEGIN
    IF v_domain_id IS NULL OR query_embedding IS NULL OR coalesce(match_count, 0) <= 0 THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT s.id, s.page_id, s.url, s.title, s.chunk_text, s.similarity, s.metadata
        FROM (SELECT e.id, e.page_id, p.url, p.title, e.chunk_text,
                     1 - (e.embedding <=> query_embedding) AS similarity, e.metadata, u.n
              FROM unnest(public.search_embedding_ids(query_embedding, v_domain_id, match_count,
                                                      NULL)) WITH ORDINALITY u(id, n)
              JOIN public.page_embeddings e ON e.id = u.id
              JOIN public.scraped_pages p ON p.id = e.page_id) s
        WHERE match_threshold IS NULL OR s.similarity >= match_threshold
        ORDER BY s.n;
END
$fn$;

-- The app's keyword search: pages whose title, text or URL holds the keyword (case-insensitive
-- substring), from website_content (the cleaned page text the pipeline writes when a page
-- changes), through its trigram indexes. The keyword is matched literally (% and _ are not
-- wildcards). Pages with the keyword in the title first, then by URL.
CREATE INDEX IF NOT EXISTS idx_website_content_url_trgm
    ON public.website_content USING gin (url gin_trgm_ops);

CREATE OR REPLACE FUNCTION public.search_pages_by_keyword(
    p_domain_id uuid,
    p_keyword text,
    p_limit integer DEFAULT 200
)
RETURNS TABLE (url text, title text, content text, domain_id uuid)
LANGUAGE plpgsql STABLE
SET search_path = public, extensions, pg_temp
AS $fn$
DECLARE
    v_domain_id uuid := public.resolve_domain_id(p_domain_id);
    v_pattern text := '%' || replace(replace(replace(btrim(coalesce(p_keyword, '')), '\', '\\'),
                                             '%', '\%'), '_', '\_') || '%';
BEGIN
    IF v_domain_id IS NULL OR btrim(coalesce(p_keyword, '')) = '' OR coalesce(p_limit, 0) <= 0 THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT w.url, w.title, w.content, w.domain_id
        FROM public.website_content w
        WHERE w.domain_id = v_domain_id
          AND (w.title ILIKE v_pattern OR w.content ILIKE v_pattern OR w.url ILIKE v_pattern)
        ORDER BY (w.title ILIKE v_pattern) DESC, w.url
        LIMIT p_limit;
END
$fn$;

DO $$
BEGIN
    EXECUTE 'REVOKE ALL ON FUNCTION public.search_embeddings(uuid, vector, double precision, integer), '
            'public.search_pages_by_keyword(uuid, text, integer), public.resolve_domain_id(uuid) '
            'FROM PUBLIC, anon';
END
$$;
GRANT EXECUTE ON FUNCTION public.search_embeddings(uuid, vector, double precision, integer),
    public.search_pages_by_keyword(uuid, text, integer), public.resolve_domain_id(uuid)
    TO authenticated, service_role;
