-- search_embedding_ids takes its path from the catalog, not from the domain's size
-- (docs/workers.md#search-at-tenant-scale; replaces the body of 0032, same signature).
--
-- 0032 walked an HNSW graph for every domain above 500 chunks: the domain's own partial index
-- if it had one, else the shared idx_page_embeddings_vector with the domain as a filter. The
-- shared walk is where recall went: for a domain without its own index (vectors that arrived by
-- a bulk COPY, a restore or another application, before anything built one) the filtered walk
-- passes other tenants' neighbourhoods and returns match_count rows, just not the nearest ones
-- (recall@10 0.72 for small tenants at 100k chunks in 40), so the short-walk fallback never
-- fired. Now:
--   * the domain has a valid, ready partial index idx_page_embeddings_vector_d_<id hex> on
--     l2_normalize(embedding)::vector(1536) vector_ip_ops (built by db/vector_indexes.py: the scheduler's
--     maintenance pass, the embed job, or `omni db vector-indexes`): the pinned iterative walk
--     of that index, with the exact search when the walk comes back short (a rare model among
--     the domain's rows). The walk orders by l2_normalize(embedding)::vector(1536) <#>
--     l2_normalize(query),
--     the same order as the cosine distance, and an expression only the domain's own index
--     serves: with the plain `embedding <=> query` pgvector's cost estimate often chose the
--     shared index (measured at 4,000 chunks in 10 domains), i.e. the walk that loses recall;
--   * otherwise, whatever its size: exact search (the domain's rows by the domain_id btree,
--     sorted by distance). Slower for a large domain until its index exists, never wrong.
-- The shared index is no longer walked by search; it stays (the seed names it) and keeps any
-- other query that orders all rows by distance fast.
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
    -- omni.search_max_scan_tuples overrides the walk's bound (tests, tuning).
    max_walk constant integer :=
        coalesce(nullif(current_setting('omni.search_max_scan_tuples', true), '')::integer, 4000);
    v_ids uuid[];
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
    END IF;
    -- Exact: no index may order the rows (the HNSW indexes are the only ordering indexes).
    PERFORM set_config('enable_indexscan', 'off', true);
    EXECUTE format(q, 'e.embedding <=> $1') INTO v_ids USING query_embedding, v_domain_id, match_count, model;
    RETURN coalesce(v_ids, '{}');
END
$fn$;

-- Does the domain have its own usable HNSW index? The name is db/vector_indexes.py's
-- convention; only the table's owner can create indexes on it, so no tenant can fake one.
-- Invalid (a failed or interrupted CONCURRENTLY build), not yet ready, or not on an expression
-- with vector_ip_ops (an index of the name built before this migration): no.
CREATE OR REPLACE FUNCTION public.has_own_vector_index(p_domain_id uuid) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1 FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
        WHERE c.relname = 'idx_page_embeddings_vector_d_' || replace(p_domain_id::text, '-', '')
          AND c.relnamespace = 'public'::regnamespace
          AND i.indrelid = 'public.page_embeddings'::regclass
          AND i.indisvalid AND i.indisready AND i.indexprs IS NOT NULL
          AND i.indclass[0] IN (SELECT oc.oid FROM pg_catalog.pg_opclass oc
                                WHERE oc.opcname = 'vector_ip_ops'))
$$;
DO $$
BEGIN
    EXECUTE 'REVOKE ALL ON FUNCTION public.has_own_vector_index(uuid) FROM PUBLIC, anon';
END
$$;
GRANT EXECUTE ON FUNCTION public.has_own_vector_index(uuid) TO authenticated, service_role;
