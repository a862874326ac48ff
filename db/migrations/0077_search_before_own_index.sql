-- Fast search for a domain that has no index of its own yet (issue 21 item 4;
-- docs/workers.md#search-at-tenant-scale; replaces the body of 0076, same signature).
--
-- 0076 searched such a domain exactly: never wrong, but every row read is a TOAST fetch of a
-- 6 KB vector, so right after a bulk COPY (a restore, another application's writer), before the
-- maintenance pass built the indexes, the largest domains took 200-700 ms per query. Now, while
-- a domain has no valid index of its own (a domain with one is searched as in 0076):
--   * at most `bq_depth` chunks (200; omni.search_bq_candidates overrides it): exact, as before
--     (the binary path would re-rank that many anyway);
--   * at least 5 % of all chunks: the shared idx_page_embeddings_vector, iterative scan
--     filtered by the domain, ef_search 100, its first 2 * match_count rows re-ranked by the
--     exact distance. The filtered walk lost recall (0.72, the issue) for small tenants, whose
--     chunks are missing from most neighbourhoods of the graph; a tenant of >= 5 % has some in
--     nearly every one. (ef_search 40 returned none of the true top 10 for one query of a 5.9 %
--     tenant: bench/tenant_search.py, tuning seed.) 5 % of all is estimated as the planner
--     does (reltuples per page at the last ANALYZE times the pages now); never analysed: 0, so
--     the binary path;
--   * any other: binary-quantised candidates. The stored generated column embedding_bq
--     (bit(1536): the sign of each dimension) is read index-only from
--     idx_page_embeddings_domain_bq (btree on domain_id INCLUDE id, embedding_bq: ~230 bytes a
--     row, no TOAST), ordered by Hamming distance `<~>`; the nearest greatest(bq_depth,
--     4 * match_count) are re-ranked by the exact cosine distance (only they are read from
--     TOAST). The model filter applies at the re-rank.
-- Either fast path that comes back short of match_count rows (a rare model among the domain's
-- rows) is replaced by the exact search, as the own-index walk's is, so answers are never
-- short. Adding embedding_bq rewrites page_embeddings once, and with it all its indexes
-- (docs/schema.md, upgrade note). binary_quantize needs pgvector >= 0.7 (the project needs 0.8).
SET LOCAL search_path = public, extensions, pg_temp;  -- binary_quantize: extensions on Supabase

ALTER TABLE public.page_embeddings ADD COLUMN IF NOT EXISTS embedding_bq bit(1536)
    GENERATED ALWAYS AS (binary_quantize(embedding)::bit(1536)) STORED;
CREATE INDEX IF NOT EXISTS idx_page_embeddings_domain_bq
    ON public.page_embeddings (domain_id) INCLUDE (id, embedding_bq);

CREATE OR REPLACE FUNCTION public.search_embedding_ids(
    query_embedding vector(1536),
    v_domain_id uuid,
    match_count integer,
    model text
)
RETURNS uuid[]
LANGUAGE plpgsql STABLE
SET search_path = public, extensions, pg_temp
SET hnsw.iterative_scan = 'relaxed_order'
SET hnsw.ef_search = 40
SET hnsw.max_scan_tuples = 4000
SET enable_seqscan = on
SET enable_bitmapscan = on
SET enable_indexscan = on
SET enable_sort = on
AS $fn$
DECLARE
    -- omni.search_max_scan_tuples overrides the walks' bound, omni.search_bq_candidates the
    -- binary path's re-rank depth (tests, tuning).
    max_walk constant integer :=
        coalesce(nullif(current_setting('omni.search_max_scan_tuples', true), '')::integer, 4000);
    bq_depth constant integer :=
        coalesce(nullif(current_setting('omni.search_bq_candidates', true), '')::integer, 200);
    -- the shared walk: its ef_search, and its rows re-ranked exactly per row asked for
    shared_ef constant integer := 100;
    shared_rows constant integer := 2;
    v_ids uuid[];
    v_share bigint;
    v_rows bigint;
    v_depth integer;
    v_candidates uuid[];
    -- %s: the order of the inner query (the walk's index expression, or the exact distance).
    q constant text := $q$
        SELECT array_agg(s.id ORDER BY s.distance, s.id) FROM (
            SELECT e.id, e.embedding <=> $1 AS distance
            FROM public.page_embeddings e
            WHERE e.domain_id = $2 AND e.embedding IS NOT NULL
              AND ($4::text IS NULL OR e.metadata ->> 'model' = $4::text)
            ORDER BY %s
            LIMIT $3
        ) s
    $q$;
    -- The walk of the shared graph: $3 rows in its (approximate) order, re-ranked exactly.
    shared constant text := $q$
        SELECT array_agg(s.id ORDER BY s.distance, s.id) FROM (
            SELECT w.id, w.distance FROM (
                SELECT e.id, e.embedding <=> $1 AS distance
                FROM public.page_embeddings e
                WHERE e.domain_id = $2 AND e.embedding IS NOT NULL
                  AND ($4::text IS NULL OR e.metadata ->> 'model' = $4::text)
                ORDER BY e.embedding <=> $1
                LIMIT $5
            ) w
            ORDER BY w.distance
            LIMIT $3
        ) s
    $q$;
    -- The binary path: $3 candidates by Hamming distance, read index-only ...
    bq_candidates constant text := $q$
        SELECT ARRAY(
            SELECT b.id FROM public.page_embeddings b
            WHERE b.domain_id = $2 AND b.embedding_bq IS NOT NULL
            ORDER BY b.embedding_bq <~> binary_quantize($1)::bit(1536)
            LIMIT $3)
    $q$;
    -- ... then re-ranked exactly, their rows read by the primary key.
    bq_rerank constant text := $q$
        SELECT array_agg(s.id ORDER BY s.distance, s.id) FROM (
            SELECT e.id, e.embedding <=> $1 AS distance
            FROM public.page_embeddings e
            WHERE e.id = ANY ($5) AND e.domain_id = $2
              AND ($4::text IS NULL OR e.metadata ->> 'model' = $4::text)
            ORDER BY distance
            LIMIT $3
        ) s
    $q$;
BEGIN
    IF query_embedding IS NULL OR v_domain_id IS NULL OR coalesce(match_count, 0) <= 0 THEN
        RETURN '{}';
    END IF;
    IF match_count <= 1000 AND public.has_own_vector_index(v_domain_id) THEN
        PERFORM set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true),
                set_config('enable_sort', 'off', true),
                set_config('hnsw.ef_search', greatest(40, match_count)::text, true),
                set_config('hnsw.max_scan_tuples', max_walk::text, true);
        EXECUTE format(q, 'l2_normalize(e.embedding)::vector(1536) <#> l2_normalize($1)')
            INTO v_ids USING query_embedding, v_domain_id, match_count, model;
        IF coalesce(cardinality(v_ids), 0) >= match_count THEN
            RETURN v_ids;
        END IF;
        PERFORM set_config('enable_seqscan', 'on', true), set_config('enable_bitmapscan', 'on', true),
                set_config('enable_sort', 'on', true);
    ELSIF match_count <= 1000 THEN
        v_depth := greatest(bq_depth, 4 * match_count);
        -- 5 % of all chunks, estimated as the planner does (rows per page at the last
        -- ANALYZE times the pages now: right after a bulk COPY too); 0 if never analysed
        SELECT ceil(0.05 * c.reltuples / c.relpages
                    * (pg_catalog.pg_relation_size(c.oid) / current_setting('block_size')::bigint))
        INTO v_share
        FROM pg_catalog.pg_class c
        WHERE c.oid = 'public.page_embeddings'::regclass AND c.relpages > 0 AND c.reltuples > 0;
        v_share := coalesce(v_share, 0);
        -- the domain's chunks, counted up to what decides the path (index-only, on the
        -- domain_id btree; a sequential scan would read the table up to the domain's rows)
        PERFORM set_config('enable_seqscan', 'off', true),
                set_config('enable_bitmapscan', 'off', true);
        SELECT count(*) INTO v_rows FROM (
            SELECT 1 FROM public.page_embeddings e WHERE e.domain_id = v_domain_id
            LIMIT greatest(v_share, v_depth + 1)
        ) n;
        IF v_rows > v_depth AND v_share > v_depth AND v_rows >= v_share THEN
            PERFORM set_config('enable_sort', 'off', true),
                    set_config('hnsw.ef_search', greatest(shared_ef, shared_rows * match_count)::text, true),
                    set_config('hnsw.max_scan_tuples', max_walk::text, true);
            EXECUTE shared INTO v_ids
                USING query_embedding, v_domain_id, match_count, model,
                      greatest(shared_rows * match_count, 20);
        ELSIF v_rows > v_depth THEN
            EXECUTE bq_candidates INTO v_candidates USING query_embedding, v_domain_id, v_depth;
            EXECUTE bq_rerank INTO v_ids
                USING query_embedding, v_domain_id, match_count, model, v_candidates;
        END IF;
        IF coalesce(cardinality(v_ids), 0) >= match_count THEN
            RETURN v_ids;
        END IF;
        PERFORM set_config('enable_seqscan', 'on', true), set_config('enable_bitmapscan', 'on', true),
                set_config('enable_sort', 'on', true);
    END IF;
    -- Exact: no index may order the rows (the HNSW indexes are the only ordering indexes).
    PERFORM set_config('enable_indexscan', 'off', true);
    EXECUTE format(q, 'e.embedding <=> $1') INTO v_ids USING query_embedding, v_domain_id, match_count, model;
    RETURN coalesce(v_ids, '{}');
END
$fn$;
