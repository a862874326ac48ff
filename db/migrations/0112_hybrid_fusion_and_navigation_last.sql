-- Hybrid that never hurts, and navigation below content (issue 25, items 3;
-- docs/workers.md#retrieval-quality).
--
-- hybrid_search gains three parameters, settable per call (OMNI_HYBRID_* settings); their
-- defaults are today's behaviour (equal weights, greatest(4 * match_count, 20) candidates) until
-- bench/retrieval_quality.py's sweep on its tuning site (PostgreSQL's manual; Apache's is held
-- out) chooses others:
--   vector_weight, keyword_weight  weighted reciprocal rank fusion:
--                                  score = vector_weight / (rrf_k + vector rank)
--                                        + keyword_weight / (rrf_k + keyword rank)
--   candidates                     how many chunks each side contributes (NULL: the old
--                                  greatest(4 * match_count, 20))
-- The old six-argument function is dropped (a second overload would make calls with its
-- defaults ambiguous); every call of it keeps working against the new one.
--
-- Navigation below content: a chunk of a page that is not knowledge (scraped_pages.metadata
-- page_kind 'navigation' or 'excluded', core/knowledge.py) ranks after every chunk of a
-- content page, in search_embeddings (both signatures) and hybrid_search; the embed job does
-- not embed such pages, so this holds for chunks that reached the table otherwise (embedded
-- before the page's kind changed, written by another application). search_pages_by_keyword
-- (the chat app's keyword search over website_content, where every page is) ranks content
-- pages first. Signatures the chat app calls are unchanged.

CREATE OR REPLACE FUNCTION public.is_not_knowledge(page_metadata jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT coalesce(page_metadata ->> 'page_kind' IN ('navigation', 'excluded'), false) $$;

DROP FUNCTION IF EXISTS public.hybrid_search(text, vector, text, integer, text, integer);
CREATE FUNCTION public.hybrid_search(
    query_text text,
    query_embedding vector(1536),
    domain text,
    match_count integer DEFAULT 10,
    model text DEFAULT NULL,
    rrf_k integer DEFAULT 60,
    vector_weight double precision DEFAULT 1.0,
    keyword_weight double precision DEFAULT 1.0,
    candidates integer DEFAULT NULL
)
RETURNS TABLE (id uuid, page_id uuid, url text, title text, chunk_text text,
               similarity double precision, metadata jsonb, score double precision)
LANGUAGE plpgsql STABLE
SET search_path = public, extensions, pg_temp
AS $fn$
DECLARE
    v_domain_id uuid;
    v_pool integer := coalesce(nullif(candidates, 0), greatest(4 * match_count, 20));
    v_config regconfig;
    v_query tsquery;
    v_match tsquery;
    v_vector uuid[] := '{}';
    v_keyword uuid[] := '{}';
BEGIN
    SELECT d.id INTO v_domain_id FROM public.domains d WHERE d.domain = hybrid_search.domain;
    IF v_domain_id IS NULL OR coalesce(match_count, 0) <= 0 THEN
        RETURN;
    END IF;
    v_pool := greatest(v_pool, match_count);
    -- the keyword side parses the question as the domain's chunks were parsed (0110)
    SELECT public.text_search_config(e.metadata ->> 'language') INTO v_config
    FROM public.page_embeddings e WHERE e.domain_id = v_domain_id LIMIT 1;
    v_query := public.any_word_tsquery(query_text, coalesce(v_config, 'simple'::regconfig));
    IF query_embedding IS NOT NULL AND coalesce(vector_weight, 1) > 0 THEN
        v_vector := public.search_embedding_ids(query_embedding, v_domain_id, v_pool,
                                                hybrid_search.model);
    END IF;
    IF v_query IS NOT NULL AND coalesce(keyword_weight, 1) > 0 THEN
        -- the corpus' own stop words count only when the question has nothing else (0032)
        SELECT nullif(string_agg(quote_literal(w), ' | '), '')::tsquery INTO v_match
        FROM unnest(tsvector_to_array(to_tsvector(coalesce(v_config, 'simple'::regconfig),
                                                  query_text))) w
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
                        coalesce(coalesce(vector_weight, 1) / (rrf_k + vec.rnk), 0)
                        + coalesce(coalesce(keyword_weight, 1) / (rrf_k + kw.rnk), 0) AS score
                 FROM vec FULL JOIN kw ON kw.id = vec.id
             ),
             ranked AS (
                 -- navigation after content: the candidates' pages decide the first rows
                 SELECT f.id, f.score, public.is_not_knowledge(p.metadata) AS not_knowledge
                 FROM fused f
                 JOIN public.page_embeddings e0 ON e0.id = f.id
                 JOIN public.scraped_pages p ON p.id = e0.page_id
                 ORDER BY 3, f.score DESC, f.id
                 LIMIT match_count    -- only the answer's rows are read (and their vectors)
             )
        SELECT e.id, e.page_id, p.url, p.title, e.chunk_text,
               CASE WHEN query_embedding IS NULL OR e.embedding IS NULL THEN NULL
                    ELSE 1 - (e.embedding <=> query_embedding) END,
               e.metadata, r.score::double precision
        FROM ranked r
        JOIN public.page_embeddings e ON e.id = r.id
        JOIN public.scraped_pages p ON p.id = e.page_id
        ORDER BY r.not_knowledge, r.score DESC, e.id;
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
        ORDER BY public.is_not_knowledge(p.metadata), u.n;
END
$fn$;

CREATE OR REPLACE FUNCTION public.search_embeddings(
    p_domain_id uuid,
    query_embedding vector(1536),
    match_threshold double precision DEFAULT 0.78,
    match_count integer DEFAULT 10
)
RETURNS TABLE (id uuid, page_id uuid, url text, title text, chunk_text text,
               similarity double precision, metadata jsonb)
LANGUAGE plpgsql STABLE
SET search_path = public, extensions, pg_temp
AS $fn$
DECLARE
    v_domain_id uuid := public.resolve_domain_id(p_domain_id);
BEGIN
    IF v_domain_id IS NULL OR query_embedding IS NULL OR coalesce(match_count, 0) <= 0 THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT s.id, s.page_id, s.url, s.title, s.chunk_text, s.similarity, s.metadata
        FROM (SELECT e.id, e.page_id, p.url, p.title, e.chunk_text,
                     1 - (e.embedding <=> query_embedding) AS similarity, e.metadata, u.n,
                     public.is_not_knowledge(p.metadata) AS not_knowledge
              FROM unnest(public.search_embedding_ids(query_embedding, v_domain_id, match_count,
                                                      NULL)) WITH ORDINALITY u(id, n)
              JOIN public.page_embeddings e ON e.id = u.id
              JOIN public.scraped_pages p ON p.id = e.page_id) s
        WHERE match_threshold IS NULL OR s.similarity >= match_threshold
        ORDER BY s.not_knowledge, s.n;
END
$fn$;

CREATE OR REPLACE FUNCTION public.search_pages_by_keyword(
    p_domain_id uuid,
    p_keyword text,
    p_limit integer DEFAULT 200
)
RETURNS TABLE (url text, title text, content text, domain_id uuid)
LANGUAGE plpgsql STABLE
SET search_path = public, extensions, pg_temp
AS $fn$
DECLARE
    v_domain_id uuid := public.resolve_domain_id(p_domain_id);
    v_pattern text := '%' || replace(replace(replace(btrim(coalesce(p_keyword, '')), '\', '\\'),
                                             '%', '\%'), '_', '\_') || '%';
BEGIN
    IF v_domain_id IS NULL OR btrim(coalesce(p_keyword, '')) = '' OR coalesce(p_limit, 0) <= 0 THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT w.url, w.title, w.content, w.domain_id
        FROM public.website_content w
        LEFT JOIN public.scraped_pages p ON p.domain_id = w.domain_id AND p.url = w.url
        WHERE w.domain_id = v_domain_id
          AND (w.title ILIKE v_pattern OR w.content ILIKE v_pattern OR w.url ILIKE v_pattern)
        ORDER BY public.is_not_knowledge(p.metadata), (w.title ILIKE v_pattern) DESC, w.url
        LIMIT p_limit;
END
$fn$;

DO $$
BEGIN
    EXECUTE 'REVOKE ALL ON FUNCTION '
            'public.hybrid_search(text, vector, text, integer, text, integer, double precision, '
            'double precision, integer), public.is_not_knowledge(jsonb) FROM PUBLIC, anon';
END
$$;
GRANT EXECUTE ON FUNCTION
    public.hybrid_search(text, vector, text, integer, text, integer, double precision,
                         double precision, integer),
    public.is_not_knowledge(jsonb)
    TO authenticated, service_role;
