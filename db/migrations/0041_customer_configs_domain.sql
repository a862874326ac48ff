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
