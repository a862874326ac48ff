-- updated_at maintenance: one trigger function, one BEFORE UPDATE trigger on every public table
-- that has an updated_at column. The set is computed from the catalog, so no table is missed;
-- public.ensure_updated_at_triggers() can be re-run by any later migration (and is, automatically,
-- by the event trigger at the end of this file where the role may create event triggers).

CREATE OR REPLACE FUNCTION public.set_updated_at() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- Returns how many triggers it created (0 when every table already has one).
CREATE OR REPLACE FUNCTION public.ensure_updated_at_triggers() RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    created integer := 0;
BEGIN
    FOR t IN
        SELECT c.table_name
        FROM information_schema.columns c
        JOIN information_schema.tables tb
          ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
        WHERE c.table_schema = 'public' AND c.column_name = 'updated_at'
          AND tb.table_type = 'BASE TABLE'
          AND NOT EXISTS (
              SELECT 1 FROM pg_trigger tg
              WHERE tg.tgrelid = format('public.%I', c.table_name)::regclass
                AND tg.tgname = 'trg_' || c.table_name || '_updated_at')
        ORDER BY c.table_name
    LOOP
        EXECUTE format(
            'CREATE TRIGGER %I BEFORE UPDATE ON public.%I '
            'FOR EACH ROW EXECUTE FUNCTION public.set_updated_at()',
            'trg_' || t.table_name || '_updated_at', t.table_name);
        created := created + 1;
    END LOOP;
    RETURN created;
END
$$;

DO $$
BEGIN
    PERFORM public.ensure_updated_at_triggers();
END
$$;

-- New public tables (later migrations by other parts of the system) get the same treatment, and
-- row level security enabled, without each migration having to remember: a ddl_command_end event
-- trigger. Creating an event trigger needs superuser (or Supabase's supautils); where it is not
-- allowed this step is skipped and tests/schema catches a table that was missed.
CREATE OR REPLACE FUNCTION public.on_public_table_ddl() RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cmd record;
BEGIN
    FOR cmd IN
        SELECT objid FROM pg_event_trigger_ddl_commands()
        WHERE object_type = 'table' AND schema_name = 'public'
    LOOP
        -- Idempotent actions: the ALTER below re-fires this trigger, which then finds nothing to do.
        IF EXISTS (SELECT 1 FROM pg_class WHERE oid = cmd.objid AND relkind IN ('r', 'p')
                   AND NOT relrowsecurity) THEN
            EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', cmd.objid::regclass);
        END IF;
    END LOOP;
    PERFORM public.ensure_updated_at_triggers();
END
$$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'omni_public_table_ddl') THEN
        CREATE EVENT TRIGGER omni_public_table_ddl ON ddl_command_end
            WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'CREATE TABLE AS')
            EXECUTE FUNCTION public.on_public_table_ddl();
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'event trigger omni_public_table_ddl not created (needs superuser); '
                 'later migrations should SELECT public.ensure_updated_at_triggers()';
END
$$;
