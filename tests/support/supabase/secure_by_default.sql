-- Supabase's 2026 "secure by default" (new projects from 2026-05-30, all from 2026-10-30; Studio's
-- buildDefaultPrivilegesSql('revoke')): only SELECT, INSERT, UPDATE, DELETE are revoked, so
-- TRUNCATE, REFERENCES and TRIGGER stay in the defaults for new tables.
ALTER DEFAULT PRIVILEGES FOR ROLE supa_postgres IN SCHEMA public
    REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supa_postgres IN SCHEMA public
    REVOKE EXECUTE ON FUNCTIONS FROM anon, authenticated, service_role, PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE supa_postgres IN SCHEMA public
    REVOKE USAGE, SELECT ON SEQUENCES FROM anon, authenticated, service_role;
