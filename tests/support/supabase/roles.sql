-- Supabase's roles, cluster-wide (run once per server, in the maintenance database), as the
-- supabase/postgres image and the platform leave them (../shared/supabase-kit's NOTES.md and its
-- supabase_objects.sql snapshot): `postgres` is here `supa_postgres`, because the embedded
-- server's bootstrap superuser already has the name. :'password' is set by tests/support/supabase.py.
SELECT pg_advisory_xact_lock(7402113);
DO $$
BEGIN
    IF to_regrole('anon') IS NULL THEN CREATE ROLE anon NOLOGIN; END IF;
    IF to_regrole('authenticated') IS NULL THEN CREATE ROLE authenticated NOLOGIN; END IF;
    IF to_regrole('service_role') IS NULL THEN CREATE ROLE service_role NOLOGIN BYPASSRLS; END IF;
    -- PostgREST logs in as authenticator and switches to one of the three per request
    IF to_regrole('authenticator') IS NULL THEN CREATE ROLE authenticator LOGIN NOINHERIT; END IF;
    -- Supabase Auth (GoTrue) runs as supabase_auth_admin, which owns auth.users
    IF to_regrole('supabase_auth_admin') IS NULL THEN
        CREATE ROLE supabase_auth_admin LOGIN NOINHERIT CREATEROLE;
    END IF;
    -- the role a project's owner connects as: demoted from superuser (10000000000000_demote-postgres)
    IF to_regrole('supa_postgres') IS NULL THEN
        CREATE ROLE supa_postgres LOGIN NOSUPERUSER CREATEDB CREATEROLE BYPASSRLS;
    END IF;
END
$$;
GRANT anon, authenticated, service_role TO authenticator;
GRANT anon, authenticated, service_role TO supa_postgres;
