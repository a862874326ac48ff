-- search_embeddings and hybrid_search for many tenants in one table
-- (docs/workers.md#search-at-tenant-scale; replaces the bodies of 0006, same signatures).
--
-- Both filter on page_embeddings.domain_id (0030) instead of joining scraped_pages for every
-- candidate, and choose the plan themselves instead of leaving it to the planner, whose choice
-- was the problem: for a large domain it could sort every chunk of the domain by distance (27k
-- vectors), for a medium one walk the shared HNSW graph through other tenants' rows.
--
--   * A domain with at most 500 chunks (counted with an index-only scan that stops at 501)
--     is searched exactly: its chunks by the domain_id btree, sorted by distance.
--   * A larger domain is searched through an HNSW index with pgvector's iterative scan
--     (relaxed_order, ef_search = max(40, match_count)). The plan is pinned (sorts, bitmap and
--     sequential scans disabled for that one statement) so the planner cannot trade it for
--     sorting the whole domain. The index is the domain's own partial index
--     (idx_page_embeddings_vector_d_<id>, built by db/vector_indexes.py once the domain has
--     OMNI_SEARCH_DOMAIN_INDEX_ROWS chunks; the planner prefers it, being smaller), else the
--     shared idx_page_embeddings_vector with the domain as a filter.
--   * The walk is bounded (hnsw.max_scan_tuples = 4,000). If it ends before match_count rows
--     passed the filter (an off-topic question to a domain without its own index, whose
--     neighbourhood in the shared graph belongs to other tenants), the exact search runs
--     instead: the answer is never short, and never slower than walking + one exact search.
--   * The planner and hnsw settings are function attributes, so set_config(..., true) inside
--     the function is undone when it returns: callers' settings are never changed.
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
SET hnsw.max_scan_tuples = 4000
SET enable_seqscan = on
SET enable_bitmapscan = on
SET enable_indexscan = on
SET enable_sort = on
AS $fn$
DECLARE
    -- omni.search_exact_limit / omni.search_max_scan_tuples override the defaults (tests, tuning).
    exact_limit constant integer :=
        coalesce(nullif(current_setting('omni.search_exact_limit', true), '')::integer, 500);
    max_walk constant integer :=
        coalesce(nullif(current_setting('omni.search_max_scan_tuples', true), '')::integer, 4000);
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
    IF query_embedding IS NULL OR v_domain_id IS NULL OR coalesce(match_count, 0) <= 0 THEN
        RETURN '{}';
    END IF;
    SELECT count(*) INTO v_rows FROM (
        SELECT 1 FROM public.page_embeddings e WHERE e.domain_id = v_domain_id
        LIMIT exact_limit + 1) s;
    IF v_rows > exact_limit AND match_count <= 1000 THEN
        PERFORM set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true),
                set_config('enable_sort', 'off', true),
                set_config('hnsw.ef_search', greatest(40, match_count)::text, true),
                set_config('hnsw.max_scan_tuples', max_walk::text, true);
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
-- chunk_tsv (0031) with ts_rank_cd against all query words OR-ed, as before, but the candidates
-- it ranks are the domain's chunks holding one of the query's *distinctive* words: words found
-- in more than 10 % of all chunks (the column's most-common-element statistics, i.e. the
-- corpus' own stop words: "how", "do", "the" ...) only count when the query has nothing else.
-- Without that, one "how" made every chunk of a large domain a candidate and ranking them all
-- took ~270 ms at 27k chunks, against ~2 ms for the distinctive words. A tenant cannot read the
-- statistics (pg_stats hides RLS tables' statistics from those RLS applies to), so for a tenant
-- every word counts: slower, same rows.
-- The words of `words` OR-ed as a tsquery ('simple' configuration), NULL when there are none.
CREATE OR REPLACE FUNCTION public.any_word_tsquery(words text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT nullif(replace(plainto_tsquery('simple'::regconfig, coalesce(words, ''))::text,
                          ' & ', ' | '), '')::tsquery
$$;

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
    v_query tsquery := public.any_word_tsquery(query_text);
    v_match tsquery;
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
        SELECT public.any_word_tsquery(string_agg(w, ' ')) INTO v_match
        FROM unnest(tsvector_to_array(to_tsvector('simple'::regconfig, query_text))) w
        WHERE w NOT IN (
            SELECT c.elem FROM pg_catalog.pg_stats s,
                 unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS c(elem, freq)
            WHERE s.schemaname = 'public' AND s.tablename = 'page_embeddings'
              AND s.attname = 'chunk_tsv' AND c.freq > 0.1 AND c.elem IS NOT NULL);
        EXECUTE $q$
            SELECT coalesce(array_agg(k.id ORDER BY k.rank DESC, k.id), '{}') FROM (
                SELECT e.id, ts_rank_cd(e.chunk_tsv, $1) AS rank
                FROM public.page_embeddings e
                WHERE e.domain_id = $2 AND e.chunk_tsv @@ $5
                  AND ($3::text IS NULL OR e.metadata ->> 'model' = $3::text)
                ORDER BY rank DESC, e.id
                LIMIT $4
            ) k
        $q$ INTO v_keyword USING v_query, v_domain_id, hybrid_search.model, v_pool,
                                 coalesce(v_match, v_query);
    END IF;
    RETURN QUERY
        WITH vec AS (SELECT u.id, u.n AS rnk FROM unnest(v_vector) WITH ORDINALITY u(id, n)),
             kw AS (SELECT u.id, u.n AS rnk FROM unnest(v_keyword) WITH ORDINALITY u(id, n)),
             fused AS (
                 SELECT coalesce(vec.id, kw.id) AS id,
                        coalesce(1.0 / (rrf_k + vec.rnk), 0) + coalesce(1.0 / (rrf_k + kw.rnk), 0) AS score
                 FROM vec FULL JOIN kw ON kw.id = vec.id
                 ORDER BY score DESC, id
                 LIMIT match_count    -- only the answer's rows are read (and their vectors)
             )
        SELECT e.id, e.page_id, p.url, p.title, e.chunk_text,
               CASE WHEN query_embedding IS NULL OR e.embedding IS NULL THEN NULL
                    ELSE 1 - (e.embedding <=> query_embedding) END,
               e.metadata, f.score::double precision
        FROM fused f
        JOIN public.page_embeddings e ON e.id = f.id
        JOIN public.scraped_pages p ON p.id = e.page_id
        ORDER BY f.score DESC, e.id;
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
