-- One Supabase project's database, as Supabase initialises it before the user's first migration
-- (supabase/postgres init scripts and migrations, Supabase Auth's migrations, the 2025-04 revoke
-- of CREATE on `auth` from postgres), run by the superuser in a fresh database that supa_postgres
-- owns. Only what this project's migrations and the RLS tests meet is reproduced.

-- ---------------------------------------------------------------- auth: Supabase Auth's, not ours
CREATE SCHEMA auth AUTHORIZATION supabase_auth_admin;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role, supa_postgres;   -- USAGE, not CREATE
SET ROLE supabase_auth_admin;
-- auth.users after all 70 GoTrue migrations (35 columns, `id` without a default; an email is
-- unique only among non-SSO users), as pg_dump shows it on the kit's `current` profile.
CREATE TABLE auth.users (
    instance_id uuid,
    id uuid NOT NULL PRIMARY KEY,
    aud character varying(255),
    role character varying(255),
    email character varying(255),
    encrypted_password character varying(255),
    email_confirmed_at timestamp with time zone,
    invited_at timestamp with time zone,
    confirmation_token character varying(255),
    confirmation_sent_at timestamp with time zone,
    recovery_token character varying(255),
    recovery_sent_at timestamp with time zone,
    email_change_token_new character varying(255),
    email_change character varying(255),
    email_change_sent_at timestamp with time zone,
    last_sign_in_at timestamp with time zone,
    raw_app_meta_data jsonb,
    raw_user_meta_data jsonb,
    is_super_admin boolean,
    created_at timestamp with time zone,
    updated_at timestamp with time zone,
    phone text DEFAULT NULL::character varying UNIQUE,
    phone_confirmed_at timestamp with time zone,
    phone_change text DEFAULT ''::character varying,
    phone_change_token character varying(255) DEFAULT ''::character varying,
    phone_change_sent_at timestamp with time zone,
    confirmed_at timestamp with time zone GENERATED ALWAYS AS (LEAST(email_confirmed_at, phone_confirmed_at)) STORED,
    email_change_token_current character varying(255) DEFAULT ''::character varying,
    email_change_confirm_status smallint DEFAULT 0
        CHECK (email_change_confirm_status >= 0 AND email_change_confirm_status <= 2),
    banned_until timestamp with time zone,
    reauthentication_token character varying(255) DEFAULT ''::character varying,
    reauthentication_sent_at timestamp with time zone,
    is_sso_user boolean DEFAULT false NOT NULL,
    deleted_at timestamp with time zone,
    is_anonymous boolean DEFAULT false NOT NULL
);
CREATE UNIQUE INDEX users_email_partial_key ON auth.users (email) WHERE (is_sso_user = false);
CREATE INDEX users_instance_id_email_idx ON auth.users (instance_id, lower((email)::text));
ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;

-- GoTrue's request functions: the claims PostgREST sets per request.
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  select coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid
$$;
CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
  select coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'))::text
$$;
CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
  select coalesce(nullif(current_setting('request.jwt.claim', true), ''),
                  nullif(current_setting('request.jwt.claims', true), ''))::jsonb
$$;
RESET ROLE;
-- supabase_auth_admin's default privileges in auth: postgres gets everything on its tables
GRANT ALL ON auth.users TO supa_postgres;

-- ---------------------------------------------------------------- extensions
CREATE SCHEMA extensions AUTHORIZATION supa_postgres;
GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role;
-- vector is not a trusted extension; on Supabase supautils creates it for postgres (as the
-- superuser); pg_trgm is trusted: the migrations create it themselves.
CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA extensions;

-- ---------------------------------------------------------------- public and the API roles
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
-- The image's defaults for what postgres creates in public: everything for the three API roles.
ALTER DEFAULT PRIVILEGES FOR ROLE supa_postgres IN SCHEMA public
    GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supa_postgres IN SCHEMA public
    GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supa_postgres IN SCHEMA public
    GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
