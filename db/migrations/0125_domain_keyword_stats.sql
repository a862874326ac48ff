-- Hybrid search's corpus stop words are each domain's own (issue 25, item 3;
-- docs/workers.md#retrieval-quality, "Each domain's own stop words").
--
-- Since 0032 the keyword side left out the words found in more than 10 % of page_embeddings'
-- chunks, read from pg_stats: the statistics of the whole table, every tenant's chunks together.
-- So rows one tenant writes decided which of another tenant's question words counted (a large
-- shop whose every chunk says "price" made "price" a stop word for every tenant), a small
-- tenant's stop words were the largest tenant's, and a caller under RLS (a tenant's JWT, as
-- `omni serve` runs: pg_stats hides an RLS table's statistics from it) had none at all, so the
-- same question was ranked one way by `omni search --hybrid` (service role) and another by
-- `omni serve`.
--
-- Now a domain's common words (in more than 10 % of ITS chunks, counted exactly by ts_stat) are
-- kept in domain_keyword_stats, one row a domain, recounted by refresh_domain_keyword_stats:
-- after every embed job for its domain, and by the scheduler's maintenance pass for any domain
-- whose chunk count differs from the one counted (db/keyword_stats.py). A tenant reads its own
-- domains' rows (the same policy predicate as 0122), so the same question gets the same rows
-- under its JWT as under the service role; only the service role writes them. A domain not yet
-- counted has no stop words: every word counts (slower, as for a tenant before).
-- hybrid_search is 0124's with only the stop words' source changed.

CREATE TABLE IF NOT EXISTS public.domain_keyword_stats (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    domain_id    uuid NOT NULL UNIQUE REFERENCES public.domains(id) ON DELETE CASCADE,
    chunks       bigint NOT NULL,
    common_words text[] NOT NULL DEFAULT '{}',
    updated_at   timestamptz NOT NULL DEFAULT now()
);

DROP POLICY IF EXISTS tenant_isolation ON public.domain_keyword_stats;
CREATE POLICY tenant_isolation ON public.domain_keyword_stats AS PERMISSIVE FOR SELECT
    TO authenticated USING (domain_id = ANY ((SELECT public.owned_domain_ids())::uuid[]));
-- RLS, the updated_at trigger, nothing for anon; tenants read their own rows and write none.
SELECT public.omni_own_table('public.domain_keyword_stats', 'SELECT');

-- Recount one domain's common words from its chunks; returns its chunks (0: the row is removed).
CREATE OR REPLACE FUNCTION public.refresh_domain_keyword_stats(target uuid)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = public, pg_temp
AS $fn$
DECLARE
    v_chunks bigint;
    v_words text[];
BEGIN
    SELECT count(*) INTO v_chunks FROM public.page_embeddings e WHERE e.domain_id = target;
    IF v_chunks = 0 THEN
        DELETE FROM public.domain_keyword_stats s WHERE s.domain_id = target;
        RETURN 0;
    END IF;
    SELECT coalesce(array_agg(t.word ORDER BY t.word), '{}') INTO v_words
    FROM pg_catalog.ts_stat(format(
        'SELECT chunk_tsv FROM public.page_embeddings WHERE domain_id = %L::uuid '
        'AND chunk_tsv IS NOT NULL', target)) t
    WHERE t.ndoc > 0.1 * v_chunks;
    INSERT INTO public.domain_keyword_stats AS s (domain_id, chunks, common_words, updated_at)
    VALUES (target, v_chunks, v_words, now())
    ON CONFLICT (domain_id) DO UPDATE
        SET chunks = EXCLUDED.chunks, common_words = EXCLUDED.common_words,
            updated_at = EXCLUDED.updated_at;
    RETURN v_chunks;
END
$fn$;

REVOKE ALL ON FUNCTION public.refresh_domain_keyword_stats(uuid) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.refresh_domain_keyword_stats(uuid) TO service_role;

-- Counted once for the domains that have chunks now (afterwards the workers and the scheduler
-- keep them up to date).
SELECT public.refresh_domain_keyword_stats(d.id)
FROM (SELECT DISTINCT domain_id AS id FROM public.page_embeddings
      WHERE domain_id IS NOT NULL) d;

CREATE OR REPLACE FUNCTION public.hybrid_search(
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
    v_words text[];
    v_idf double precision[];
    v_chunks bigint;
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
        -- the domain's own common words count only when the question has nothing else
        SELECT array_agg(w) INTO v_words
        FROM unnest(tsvector_to_array(to_tsvector(coalesce(v_config, 'simple'::regconfig),
                                                  query_text))) w
        WHERE w <> ALL (coalesce((SELECT s.common_words FROM public.domain_keyword_stats s
                                  WHERE s.domain_id = v_domain_id), '{}'::text[]));
        IF v_words IS NULL THEN
            v_words := tsvector_to_array(to_tsvector(coalesce(v_config, 'simple'::regconfig),
                                                     query_text));
        END IF;
        v_match := (SELECT string_agg(quote_literal(w), ' | ')::tsquery FROM unnest(v_words) w);
        SELECT count(*) INTO v_chunks FROM public.page_embeddings e
        WHERE e.domain_id = v_domain_id;
        -- one pass over the matched chunks: each word's document frequency, then each chunk's
        -- score from it
        EXECUTE format($q$
            WITH word AS (
                SELECT u.w, u.n, quote_literal(u.w)::tsquery AS q
                FROM unnest($5::text[]) WITH ORDINALITY u(w, n)
            ),
            -- the domain's matched chunks found once, then each word's count among them
            matched AS MATERIALIZED (
                SELECT e.id, e.chunk_tsv FROM %s
                WHERE e.domain_id = $2 AND e.chunk_tsv @@ $1
                  AND ($3::text IS NULL OR e.metadata ->> 'model' = $3::text)
            ),
            hit AS (
                SELECT m.id, word.w, ts_rank(m.chunk_tsv, word.q)::double precision AS tf
                FROM matched m JOIN word ON m.chunk_tsv @@ word.q
            ),
            weighed AS (
                SELECT h.id, h.w, h.tf,
                       ln(1 + ($6 - count(*) OVER w + 0.5) / (count(*) OVER w + 0.5)) AS idf
                FROM hit h WINDOW w AS (PARTITION BY h.w)
            ),
            ranked AS (
                SELECT k.id, sum(k.tf * k.idf) AS score FROM weighed k GROUP BY k.id
                ORDER BY score DESC, k.id
                LIMIT $4
            )
            SELECT (SELECT coalesce(array_agg(r.id ORDER BY r.score DESC, r.id), '{}')
                    FROM ranked r),
                   (SELECT array_agg(coalesce(i.idf, 0) ORDER BY word.n)
                    FROM word LEFT JOIN (SELECT DISTINCT w, idf FROM weighed) i ON i.w = word.w)
        $q$,
            -- A word's GIN entry lists every tenant's chunks holding it: a word common in other
            -- tenants' pages costs a small domain more than reading its own chunks (measured,
            -- docs/workers.md: below ~3,000 chunks the domain's rows win, above it the index;
            -- omni.keyword_scan_chunks overrides 3,000). OFFSET 0 keeps the word match out of
            -- the domain scan.
            CASE WHEN v_chunks <= coalesce(nullif(current_setting('omni.keyword_scan_chunks',
                                                                  true), '')::bigint, 3000)
                 THEN '(SELECT e.id, e.chunk_tsv, e.metadata, e.domain_id '
                      'FROM public.page_embeddings e WHERE e.domain_id = $2 OFFSET 0) e'
                 ELSE 'public.page_embeddings e' END)
        INTO v_keyword, v_idf
        USING v_match, v_domain_id, hybrid_search.model, v_pool, v_words,
              greatest(v_chunks, 1)::double precision;
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
                        CASE WHEN fusion = 'convex' AND v_words IS NOT NULL
                             THEN public.keyword_score(e0.chunk_tsv, v_words, v_idf)
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
