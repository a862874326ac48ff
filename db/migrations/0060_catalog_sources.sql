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
-- domain. Enabled here too because the event trigger of 0004 needs a superuser.
ALTER TABLE public.catalog_sources ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON public.catalog_sources;
CREATE POLICY tenant_isolation ON public.catalog_sources AS PERMISSIVE FOR ALL TO authenticated
    USING (public.owns_domain(domain_id)) WITH CHECK (public.owns_domain(domain_id));
REVOKE ALL ON public.catalog_sources FROM anon;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.catalog_sources TO authenticated;
GRANT ALL ON public.catalog_sources TO service_role;

-- The updated_at trigger (0004), also without the event trigger.
SELECT public.ensure_updated_at_triggers();
