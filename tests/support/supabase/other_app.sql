-- Another application's table in the same project, made before this project's migrations (as
-- supa_postgres, so it has the project's default privileges): the migrations must leave it alone.
CREATE TABLE public.other_app_notes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    body        text,
    updated_at  timestamptz DEFAULT now()
);
