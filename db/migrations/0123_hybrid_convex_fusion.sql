-- Convex fusion for hybrid_search (issue 25, item 3; docs/workers.md#retrieval-quality).
--
-- Reciprocal rank fusion (0112) sees only ranks: a chunk the keyword side ranks first gains the
-- same however weak its match, and a keyword-only candidate gets no vector credit at all. With
-- fusion => 'convex' every candidate of either side is scored on both:
--   score = (vector_weight * cos' + keyword_weight * kw') / (vector_weight + keyword_weight)
--   cos'  its cosine similarity to the question, min-max scaled over the candidates
--   kw'   ts_rank_cd(chunk_tsv, question, 32) (rank / (rank + 1)) over the candidates' best;
--         0 when the chunk matches none of the question's words but the corpus' stop words
-- so a keyword match moves a chunk only as far as its strength and the weights allow. Best on
-- the tuning site (PostgreSQL's manual, at 9 : 1), it did worse than 0112's RRF on the sites
-- nothing was tuned on, so the project's settings keep RRF (OMNI_HYBRID_FUSION) and convex is
-- an option. fusion => 'rrf' and every other argument keep 0112's meaning, and the SQL
-- defaults stay 0112's for callers that pass none. rrf_k is read only by 'rrf'. Navigation and excluded pages still rank after content.
-- The old nine-argument function is dropped (an overload would make calls ambiguous); every
-- call of it works against the new one.

DROP FUNCTION IF EXISTS public.hybrid_search(text, vector, text, integer, text, integer,
                                             double precision, double precision, integer);
CREATE FUNCTION public.hybrid_search(
    query_text text,
    query_embedding vector(1536),
    domain text,
    match_count integer DEFAULT 10,
    model text DEFAULT NULL,
    rrf_k integer DEFAULT 60,
    vector_weight double precision DEFAULT 1.0,
    keyword_weight double precision DEFAULT 1.0,
    candidates integer DEFAULT NULL,
    fusion text DEFAULT 'rrf'
)
RETURNS TABLE (id uuid, page_id uuid, url text, title text, chunk_text text,
               similarity double precision, metadata jsonb, score double precision)
LANGUAGE plpgsql STABLE
SET search_path = public, extensions, pg_temp
AS $fn$
DECLARE
    v_domain_id uuid;
    v_pool integer := coalesce(nullif(candidates, 0), greatest(4 * match_count, 20));
    v_vw double precision := coalesce(vector_weight, 1);
    v_kw double precision := coalesce(keyword_weight, 1);
    v_config regconfig;
    v_query tsquery;
    v_match tsquery;
    v_vector uuid[] := '{}';
    v_keyword uuid[] := '{}';
BEGIN
    IF coalesce(fusion, 'rrf') NOT IN ('rrf', 'convex') THEN
        RAISE EXCEPTION 'hybrid_search: fusion must be ''rrf'' or ''convex'', not %', fusion
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT d.id INTO v_domain_id FROM public.domains d WHERE d.domain = hybrid_search.domain;
    IF v_domain_id IS NULL OR coalesce(match_count, 0) <= 0 THEN
        RETURN;
    END IF;
    v_pool := greatest(v_pool, match_count);
    -- the keyword side parses the question as the domain's chunks were parsed (0110)
    SELECT public.text_search_config(e.metadata ->> 'language') INTO v_config
    FROM public.page_embeddings e WHERE e.domain_id = v_domain_id LIMIT 1;
    v_query := public.any_word_tsquery(query_text, coalesce(v_config, 'simple'::regconfig));
    IF query_embedding IS NOT NULL AND v_vw > 0 THEN
        v_vector := public.search_embedding_ids(query_embedding, v_domain_id, v_pool,
                                                hybrid_search.model);
    END IF;
    IF v_query IS NOT NULL AND v_kw > 0 THEN
        -- the corpus' own stop words count only when the question has nothing else (0032)
        SELECT nullif(string_agg(quote_literal(w), ' | '), '')::tsquery INTO v_match
        FROM unnest(tsvector_to_array(to_tsvector(coalesce(v_config, 'simple'::regconfig),
                                                  query_text))) w
        WHERE w NOT IN (
            SELECT c.elem FROM pg_catalog.pg_stats s,
                 unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS c(elem, freq)
            WHERE s.schemaname = 'public' AND s.tablename = 'page_embeddings'
              AND s.attname = 'chunk_tsv' AND c.freq > 0.1 AND c.elem IS NOT NULL);
        v_match := coalesce(v_match, v_query);
        EXECUTE $q$
            SELECT coalesce(array_agg(k.id ORDER BY k.rank DESC, k.id), '{}') FROM (
                SELECT e.id, ts_rank_cd(e.chunk_tsv, $1) AS rank
                FROM public.page_embeddings e
                WHERE e.domain_id = $2 AND e.chunk_tsv @@ $5
                  AND ($3::text IS NULL OR e.metadata ->> 'model' = $3::text)
                ORDER BY rank DESC, e.id
                LIMIT $4
            ) k
        $q$ INTO v_keyword USING v_query, v_domain_id, hybrid_search.model, v_pool, v_match;
    END IF;
    RETURN QUERY
        WITH vec AS (SELECT u.id, u.n AS rnk FROM unnest(v_vector) WITH ORDINALITY u(id, n)),
             kw AS (SELECT u.id, u.n AS rnk FROM unnest(v_keyword) WITH ORDINALITY u(id, n)),
             candidate AS (
                 SELECT coalesce(vec.id, kw.id) AS id, vec.rnk AS vec_rank, kw.rnk AS kw_rank
                 FROM vec FULL JOIN kw ON kw.id = vec.id
             ),
             measured AS (
                 -- convex fusion's two scores of every candidate (read from its own row);
                 -- 'rrf' needs neither, so it reads no candidate's vector
                 SELECT c.*, public.is_not_knowledge(p.metadata) AS not_knowledge,
                        CASE WHEN fusion IS DISTINCT FROM 'convex' OR query_embedding IS NULL
                                  OR e0.embedding IS NULL THEN NULL
                             ELSE 1 - (e0.embedding <=> query_embedding) END AS cos,
                        CASE WHEN fusion = 'convex' AND v_query IS NOT NULL
                             THEN ts_rank_cd(e0.chunk_tsv, v_query, 32)::double precision
                             ELSE 0 END AS kw_score
                 FROM candidate c
                 JOIN public.page_embeddings e0 ON e0.id = c.id
                 JOIN public.scraped_pages p ON p.id = e0.page_id
             ),
             fused AS (
                 SELECT m.id, m.not_knowledge,
                        CASE WHEN fusion = 'convex' THEN
                            (v_vw * coalesce((m.cos - min(m.cos) OVER ())
                                             / nullif(max(m.cos) OVER () - min(m.cos) OVER (), 0),
                                             0)
                             + v_kw * coalesce(m.kw_score / nullif(max(m.kw_score) OVER (), 0), 0))
                            / nullif(v_vw + v_kw, 0)
                        ELSE coalesce(v_vw / (rrf_k + m.vec_rank), 0)
                             + coalesce(v_kw / (rrf_k + m.kw_rank), 0) END AS score
                 FROM measured m
             ),
             ranked AS (
                 -- navigation after content: the candidates' pages decide the first rows
                 SELECT f.id, f.score, f.not_knowledge FROM fused f
                 ORDER BY f.not_knowledge, f.score DESC NULLS LAST, f.id
                 LIMIT match_count
             )
        SELECT e.id, e.page_id, p.url, p.title, e.chunk_text,
               CASE WHEN query_embedding IS NULL OR e.embedding IS NULL THEN NULL
                    ELSE 1 - (e.embedding <=> query_embedding) END,
               e.metadata, r.score::double precision
        FROM ranked r
        JOIN public.page_embeddings e ON e.id = r.id
        JOIN public.scraped_pages p ON p.id = e.page_id
        ORDER BY r.not_knowledge, r.score DESC NULLS LAST, e.id;
END
$fn$;

DO $$
BEGIN
    EXECUTE 'REVOKE ALL ON FUNCTION '
            'public.hybrid_search(text, vector, text, integer, text, integer, double precision, '
            'double precision, integer, text) FROM PUBLIC, anon';
END
$$;
GRANT EXECUTE ON FUNCTION
    public.hybrid_search(text, vector, text, integer, text, integer, double precision,
                         double precision, integer, text)
    TO authenticated, service_role;
