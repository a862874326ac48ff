-- API keys of `omni serve` (docs/serve.md): one row per key, owned by a customer. Only the
-- SHA-256 of the key is stored (the key is 256 random bits, so a plain hash is enough; no salt
-- or slow hash is needed against guessing). key_id is the key's public part, by which the server
-- finds the row before comparing the hash in constant time.
CREATE TABLE IF NOT EXISTS public.api_keys (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id   UUID NOT NULL REFERENCES public.customers(id) ON DELETE CASCADE,
    key_id        TEXT NOT NULL UNIQUE CHECK (key_id ~ '^[0-9a-f]{16}$'),
    key_hash      TEXT NOT NULL CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    label         TEXT,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ,
    created_at    TIMESTAMPTZ DEFAULT NOW(),
    updated_at    TIMESTAMPTZ DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS idx_api_keys_customer ON public.api_keys (customer_id);

-- Tenancy as for every customer-owned table (0005): a tenant sees and may revoke or delete its
-- own keys; it cannot insert one (keys are made by `omni serve key create`, with real entropy).
DROP POLICY IF EXISTS tenant_isolation ON public.api_keys;
CREATE POLICY tenant_isolation ON public.api_keys AS PERMISSIVE FOR ALL TO authenticated
    USING (public.owns_customer(customer_id)) WITH CHECK (public.owns_customer(customer_id));
-- RLS, the updated_at trigger, nothing for anon, no TRUNCATE/REFERENCES/TRIGGER (0070).
SELECT public.omni_own_table('public.api_keys', 'SELECT, DELETE');
GRANT UPDATE (revoked_at, label) ON public.api_keys TO authenticated;
