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
