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
