-- Search and monitoring (docs/schema.md#functions-and-views).
-- All search functions are SECURITY INVOKER: called by a tenant they see only its rows (RLS);
-- the pipeline (owner / service_role) sees everything.

-- ---------------------------------------------------------------- vector search
-- Nearest chunks of one domain's pages by cosine similarity (1 - cosine distance), best first.
-- With `model` only vectors of that model are compared (different models' spaces are unrelated).
--
-- The HNSW index is used under the domain/model filter through pgvector 0.8 iterative index
-- scans: `relaxed_order` keeps pulling candidates from the index until enough rows pass the
-- filter, instead of returning fewer than match_count (the pre-0.8 behaviour with ef_search
-- candidates). relaxed_order may return rows slightly out of order, so the outer query sorts
-- the candidates by their exact distance. Needs pgvector >= 0.8 (hnsw.iterative_scan); older
-- versions reject the unknown hnsw.* setting when this function is created.
--
-- PL/pgSQL + EXECUTE ... USING: the query is planned for each call with the actual domain id and
-- model, so the planner sees how big the domain is (column statistics). A large domain gets the
-- HNSW scan; a small domain gets the exact plan (its pages -> their chunks -> sort by distance),
-- which is both faster there and exact, and never depends on how far an iterative scan must walk
-- (hnsw.max_scan_tuples) to find a small domain's rows.
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
SET hnsw.iterative_scan = 'relaxed_order'
SET hnsw.ef_search = 100
AS $fn$
DECLARE
    v_domain_id uuid;
BEGIN
    SELECT d.id INTO v_domain_id FROM public.domains d WHERE d.domain = search_embeddings.domain;
    IF v_domain_id IS NULL OR query_embedding IS NULL OR coalesce(match_count, 0) <= 0 THEN
        RETURN;
    END IF;
    -- One-shot plan: the parameters are known constants, so `$4 IS NULL OR ...` folds away.
    RETURN QUERY EXECUTE $q$
        WITH candidates AS MATERIALIZED (
            SELECT e.id, e.page_id, p.url, p.title, e.chunk_text, e.metadata,
                   e.embedding <=> $1 AS distance
            FROM public.page_embeddings e
            JOIN public.scraped_pages p ON p.id = e.page_id
            WHERE p.domain_id = $2 AND e.embedding IS NOT NULL
              AND ($4::text IS NULL OR e.metadata ->> 'model' = $4::text)
            ORDER BY e.embedding <=> $1
            LIMIT $3
        )
        SELECT c.id, c.page_id, c.url, c.title, c.chunk_text, 1 - c.distance, c.metadata
        FROM candidates c ORDER BY c.distance, c.id
    $q$ USING query_embedding, v_domain_id, match_count, search_embeddings.model;
END
$fn$;

-- ---------------------------------------------------------------- hybrid search
-- Reciprocal rank fusion of the vector ranking and a full-text ranking of chunk_text
-- ('simple' configuration, terms OR-ed so a question matches chunks holding any of its words;
-- ts_rank_cd favours chunks holding more of them, close together):
--   score = 1/(rrf_k + vector_rank) + 1/(rrf_k + keyword_rank)   (a missing rank adds 0).
-- Each side contributes its best 4 * match_count (at least 20) candidates.
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
LANGUAGE sql STABLE
SET search_path = public, extensions, pg_temp
AS $$
    WITH params AS (
        SELECT greatest(4 * match_count, 20) AS pool,
               nullif(replace(plainto_tsquery('simple', coalesce(query_text, ''))::text, ' & ', ' | '), '')
                   ::tsquery AS q
    ),
    vec AS (
        SELECT s.id, row_number() OVER (ORDER BY s.similarity DESC, s.id) AS rnk
        FROM params, public.search_embeddings(query_embedding, hybrid_search.domain,
                                              (SELECT pool FROM params), hybrid_search.model) s
        WHERE query_embedding IS NOT NULL
    ),
    kw AS (
        SELECT k.id, row_number() OVER (ORDER BY k.rank DESC, k.id) AS rnk
        FROM (
            SELECT e.id, ts_rank_cd(to_tsvector('simple'::regconfig, e.chunk_text), params.q) AS rank
            FROM params, public.page_embeddings e
            JOIN public.scraped_pages p ON p.id = e.page_id
            WHERE params.q IS NOT NULL
              AND to_tsvector('simple'::regconfig, e.chunk_text) @@ params.q
              AND p.domain_id = (SELECT d.id FROM public.domains d WHERE d.domain = hybrid_search.domain)
              AND (hybrid_search.model IS NULL OR e.metadata ->> 'model' = hybrid_search.model)
            ORDER BY rank DESC, e.id
            LIMIT (SELECT pool FROM params)
        ) k
    ),
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
    LIMIT greatest(match_count, 0)
$$;

-- ---------------------------------------------------------------- stale content
-- The domain's pages never scraped or scraped before now() - older_than, never-scraped first.
CREATE OR REPLACE FUNCTION public.get_stale_content(domain text, older_than interval)
RETURNS TABLE (page_id uuid, url text, title text, scraped_at timestamptz, status text,
               last_modified timestamptz, domain_id uuid)
LANGUAGE sql STABLE
SET search_path = public, pg_temp
AS $$
    SELECT p.id, p.url, p.title, p.scraped_at, p.status, p.last_modified, p.domain_id
    FROM public.scraped_pages p
    WHERE p.domain_id = (SELECT d.id FROM public.domains d WHERE d.domain = get_stale_content.domain)
      AND (p.scraped_at IS NULL OR p.scraped_at < now() - older_than)
    ORDER BY p.scraped_at NULLS FIRST, p.url
$$;

DO $$
BEGIN
    EXECUTE 'REVOKE ALL ON FUNCTION public.search_embeddings(vector, text, integer, text), '
            'public.hybrid_search(text, vector, text, integer, text, integer), '
            'public.get_stale_content(text, interval) FROM PUBLIC, anon';
END
$$;
GRANT EXECUTE ON FUNCTION public.search_embeddings(vector, text, integer, text),
    public.hybrid_search(text, vector, text, integer, text, integer),
    public.get_stale_content(text, interval) TO authenticated, service_role;

-- ---------------------------------------------------------------- index monitoring
CREATE OR REPLACE VIEW public.index_usage_stats AS
SELECT s.schemaname      AS schema_name,
       s.relname         AS table_name,
       s.indexrelname    AS index_name,
       am.amname         AS index_type,
       s.idx_scan        AS scans,
       s.idx_tup_read    AS tuples_read,
       s.idx_tup_fetch   AS tuples_fetched,
       pg_relation_size(s.indexrelid) AS size_bytes,
       pg_size_pretty(pg_relation_size(s.indexrelid)) AS size,
       i.indisunique     AS is_unique,
       i.indisprimary    AS is_primary
FROM pg_stat_user_indexes s
JOIN pg_index i ON i.indexrelid = s.indexrelid
JOIN pg_class c ON c.oid = s.indexrelid
JOIN pg_am am ON am.oid = c.relam
WHERE s.schemaname = 'public';

-- Never scanned since the statistics were last reset, and not enforcing a constraint
-- (unique / primary key indexes are needed even when never scanned). Largest first.
CREATE OR REPLACE VIEW public.unused_indexes AS
SELECT schema_name, table_name, index_name, index_type, size_bytes, size
FROM public.index_usage_stats
WHERE scans = 0 AND NOT is_unique AND NOT is_primary
ORDER BY size_bytes DESC, index_name;

-- ---------------------------------------------------------------- content stats per domain
CREATE MATERIALIZED VIEW IF NOT EXISTS public.domain_content_stats AS
SELECT d.id AS domain_id,
       d.domain,
       coalesce(pg.pages_total, 0)                     AS pages_total,
       coalesce(pg.pages_by_status, '{}'::jsonb)       AS pages_by_status,
       (SELECT count(*) FROM public.website_content w WHERE w.domain_id = d.id)        AS website_content_rows,
       (SELECT count(*) FROM public.structured_extractions x WHERE x.domain_id = d.id) AS extractions,
       (SELECT count(*) FROM public.page_embeddings e
          JOIN public.scraped_pages p ON p.id = e.page_id WHERE p.domain_id = d.id)    AS embedding_chunks,
       greatest(d.last_scraped_at, pg.last_page_scraped_at) AS last_scraped_at,
       (SELECT coalesce(sum(u.tokens), 0) FROM public.business_usage u WHERE u.domain_id = d.id)::bigint
                                                       AS tokens_used,
       now()                                           AS refreshed_at
FROM public.domains d
LEFT JOIN LATERAL (
    SELECT sum(n)::bigint AS pages_total,
           jsonb_object_agg(coalesce(status, 'null'), n) AS pages_by_status,
           max(last_at) AS last_page_scraped_at
    FROM (SELECT p.status, count(*) AS n, max(p.scraped_at) AS last_at
          FROM public.scraped_pages p WHERE p.domain_id = d.id GROUP BY p.status) by_status
) pg ON true;

-- Unique index: required by REFRESH MATERIALIZED VIEW CONCURRENTLY.
CREATE UNIQUE INDEX IF NOT EXISTS idx_domain_content_stats_domain_id
    ON public.domain_content_stats (domain_id);

-- CONCURRENTLY: readers are never blocked while it recomputes. SECURITY DEFINER because
-- refreshing needs ownership of the view; only service_role may call it.
CREATE OR REPLACE FUNCTION public.refresh_domain_content_stats() RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$ REFRESH MATERIALIZED VIEW CONCURRENTLY public.domain_content_stats $$;

-- Monitoring and cross-tenant aggregates are not for tenants (views and materialized views
-- are not subject to the tables' RLS for their owner).
DO $$
BEGIN
    EXECUTE 'REVOKE ALL ON public.index_usage_stats, public.unused_indexes, public.domain_content_stats '
            'FROM PUBLIC, anon, authenticated';
    EXECUTE 'REVOKE ALL ON FUNCTION public.refresh_domain_content_stats() FROM PUBLIC, anon, authenticated';
END
$$;
GRANT SELECT ON public.index_usage_stats, public.unused_indexes, public.domain_content_stats TO service_role;
GRANT EXECUTE ON FUNCTION public.refresh_domain_content_stats() TO service_role;
