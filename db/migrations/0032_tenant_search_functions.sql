-- search_embeddings and hybrid_search for many tenants in one table
-- (docs/workers.md#search-at-tenant-scale; replaces the bodies of 0006, same signatures).
--
-- Both filter on page_embeddings.domain_id (0030) instead of joining scraped_pages for every
-- candidate, and choose the plan themselves instead of leaving it to the planner, whose choice
-- was the problem: for a large domain it sorted every chunk of the domain by distance (27k
-- vectors, ~150 ms), for a medium one it walked the HNSW graph through other tenants' rows.
--
--   * A domain with at most 2,000 chunks (counted with an index-only scan, stopping at 2,001) is
--     searched exactly: its chunks by the domain_id btree, sorted by distance. Exact, and a few
--     milliseconds at that size.
--   * A larger domain is searched through the HNSW index with pgvector's iterative scan
--     (relaxed_order, ef_search = max(40, match_count)): the scan keeps pulling candidates until
--     match_count rows pass the domain/model filter. The plan is pinned (sorts, bitmap and
--     sequential scans are disabled for that one statement) so the planner cannot trade it for
--     sorting the whole domain. Should the walk end before match_count rows are found
--     (hnsw.max_scan_tuples: a domain whose chunks sit among other tenants' vectors), the exact
--     search runs instead, so a short answer is never returned.
--   * The planner settings are function attributes, so set_config(..., true) inside the
--     function is undone when it returns: callers' settings are never changed.
--
-- Still SECURITY INVOKER: a tenant calling them sees only its rows (RLS on page_embeddings and
-- scraped_pages applies to every statement inside).
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
SET enable_seqscan = on
SET enable_bitmapscan = on
SET enable_indexscan = on
SET enable_sort = on
AS $fn$
DECLARE
    exact_limit constant integer := 2000;
    v_rows integer;
    v_ids uuid[];
    -- One-shot plans (EXECUTE ... USING): the parameters are constants to the planner, so
    -- `$4 IS NULL OR ...` folds away and the domain's statistics are used.
    q text := $q$
        SELECT array_agg(s.id ORDER BY s.distance, s.id) FROM (
            SELECT e.id, e.embedding <=> $1 AS distance
            FROM public.page_embeddings e
            WHERE e.domain_id = $2 AND e.embedding IS NOT NULL
              AND ($4::text IS NULL OR e.metadata ->> 'model' = $4::text)
            ORDER BY e.embedding <=> $1
            LIMIT $3
        ) s
    $q$;
BEGIN
    SELECT count(*) INTO v_rows FROM (
        SELECT 1 FROM public.page_embeddings e WHERE e.domain_id = v_domain_id
        LIMIT exact_limit + 1) s;
    IF v_rows > exact_limit AND match_count <= 1000 THEN
        PERFORM set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true),
                set_config('enable_sort', 'off', true),
                set_config('hnsw.ef_search', greatest(40, match_count)::text, true);
        EXECUTE q INTO v_ids USING query_embedding, v_domain_id, match_count, model;
        IF coalesce(cardinality(v_ids), 0) >= match_count THEN
            RETURN v_ids;
        END IF;
        PERFORM set_config('enable_seqscan', 'on', true), set_config('enable_bitmapscan', 'on', true),
                set_config('enable_sort', 'on', true);
    END IF;
    -- Exact: no index can order the rows (the HNSW index is the only ordering index).
    PERFORM set_config('enable_indexscan', 'off', true);
    EXECUTE q INTO v_ids USING query_embedding, v_domain_id, match_count, model;
    RETURN coalesce(v_ids, '{}');
END
$fn$;

CREATE OR REPLACE FUNCTION public.search_embeddings(
    query_embedding vector(1536),
    domain text,
    match_count integer DEFAULT 10,
    model text DEFAULT NULL
)
RETURNS TABLE (id uuid, page_id uuid, url text, title text, chunk_text text,
               similarity double precision, metadata jsonb)
LANGUAGE plpgsql STABLE
SET search_path = public, extensions, pg_temp
AS $fn$
DECLARE
    v_domain_id uuid;
BEGIN
    SELECT d.id INTO v_domain_id FROM public.domains d WHERE d.domain = search_embeddings.domain;
    IF v_domain_id IS NULL OR query_embedding IS NULL OR coalesce(match_count, 0) <= 0 THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT e.id, e.page_id, p.url, p.title, e.chunk_text,
               1 - (e.embedding <=> query_embedding), e.metadata
        FROM unnest(public.search_embedding_ids(query_embedding, v_domain_id, match_count,
                                                search_embeddings.model)) WITH ORDINALITY u(id, n)
        JOIN public.page_embeddings e ON e.id = u.id
        JOIN public.scraped_pages p ON p.id = e.page_id
        ORDER BY u.n;
END
$fn$;

-- Reciprocal rank fusion as before (0006): score = 1/(rrf_k + vector_rank) + 1/(rrf_k + keyword_rank),
-- each side contributing its best max(4 * match_count, 20). The keyword side ranks the stored
-- chunk_tsv (0031) of the domain's chunks matching any query word (GIN on chunk_tsv, btree on
-- domain_id), planned per call with the real domain id.
CREATE OR REPLACE FUNCTION public.hybrid_search(
    query_text text,
    query_embedding vector(1536),
    domain text,
    match_count integer DEFAULT 10,
    model text DEFAULT NULL,
    rrf_k integer DEFAULT 60
)
RETURNS TABLE (id uuid, page_id uuid, url text, title text, chunk_text text,
               similarity double precision, metadata jsonb, score double precision)
LANGUAGE plpgsql STABLE
SET search_path = public, extensions, pg_temp
AS $fn$
DECLARE
    v_domain_id uuid;
    v_pool integer := greatest(4 * match_count, 20);
    v_query tsquery := nullif(replace(plainto_tsquery('simple', coalesce(query_text, ''))::text,
                                      ' & ', ' | '), '')::tsquery;
    v_vector uuid[] := '{}';
    v_keyword uuid[] := '{}';
BEGIN
    SELECT d.id INTO v_domain_id FROM public.domains d WHERE d.domain = hybrid_search.domain;
    IF v_domain_id IS NULL OR coalesce(match_count, 0) <= 0 THEN
        RETURN;
    END IF;
    IF query_embedding IS NOT NULL THEN
        v_vector := public.search_embedding_ids(query_embedding, v_domain_id, v_pool,
                                                hybrid_search.model);
    END IF;
    IF v_query IS NOT NULL THEN
        EXECUTE $q$
            SELECT coalesce(array_agg(k.id ORDER BY k.rank DESC, k.id), '{}') FROM (
                SELECT e.id, ts_rank_cd(e.chunk_tsv, $1) AS rank
                FROM public.page_embeddings e
                WHERE e.domain_id = $2 AND e.chunk_tsv @@ $1
                  AND ($3::text IS NULL OR e.metadata ->> 'model' = $3::text)
                ORDER BY rank DESC, e.id
                LIMIT $4
            ) k
        $q$ INTO v_keyword USING v_query, v_domain_id, hybrid_search.model, v_pool;
    END IF;
    RETURN QUERY
        WITH vec AS (SELECT u.id, u.n AS rnk FROM unnest(v_vector) WITH ORDINALITY u(id, n)),
             kw AS (SELECT u.id, u.n AS rnk FROM unnest(v_keyword) WITH ORDINALITY u(id, n)),
             fused AS (
                 SELECT coalesce(vec.id, kw.id) AS id,
                        coalesce(1.0 / (rrf_k + vec.rnk), 0) + coalesce(1.0 / (rrf_k + kw.rnk), 0) AS score
                 FROM vec FULL JOIN kw ON kw.id = vec.id
             )
        SELECT e.id, e.page_id, p.url, p.title, e.chunk_text,
               CASE WHEN query_embedding IS NULL OR e.embedding IS NULL THEN NULL
                    ELSE 1 - (e.embedding <=> query_embedding) END,
               e.metadata, f.score::double precision
        FROM fused f
        JOIN public.page_embeddings e ON e.id = f.id
        JOIN public.scraped_pages p ON p.id = e.page_id
        ORDER BY f.score DESC, e.id
        LIMIT match_count;
END
$fn$;

DO $$
BEGIN
    EXECUTE 'REVOKE ALL ON FUNCTION public.search_embedding_ids(vector, uuid, integer, text) '
            'FROM PUBLIC, anon';
END
$$;
GRANT EXECUTE ON FUNCTION public.search_embedding_ids(vector, uuid, integer, text)
    TO authenticated, service_role;
