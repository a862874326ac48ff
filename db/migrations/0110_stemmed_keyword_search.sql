-- Stemming on the keyword side of hybrid_search, chosen by the page's language
-- (docs/workers.md#search-at-tenant-scale; issue 25).
--
-- 0031 parsed every chunk with the 'simple' configuration: no stemming, so "exits" never
-- matched "exit", and no stop words. Now a chunk is parsed with the configuration of its
-- page's language (the embed worker copies scraped_pages.metadata.language into the chunk's
-- metadata.language): english, german, french ... as Postgres ships them, 'simple' for a
-- language without one or an unknown language. The question is parsed with the configuration
-- of the domain's chunks (one chunk's language decides: a site is written in one language;
-- a chunk of another language still matches the words both configurations keep).
--
-- text_search_config(language) is IMMUTABLE (a fixed table of Postgres' own configurations),
-- which a generated column requires. Changing chunk_tsv's expression rewrites page_embeddings
-- once (Postgres 15 has no ALTER COLUMN ... SET EXPRESSION); rows written before the worker
-- recorded the language keep 'simple' until their page is embedded again (the worker refreshes
-- a kept chunk's metadata, which recomputes the column, without embedding it again).
--
-- Replaces: hybrid_search (0032) - the question parsed with the domain's configuration instead
-- of 'simple' (three statements changed, nothing else). Adds text_search_config(text) and
-- any_word_tsquery(text, regconfig).
CREATE OR REPLACE FUNCTION public.text_search_config(language text) RETURNS regconfig
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (CASE lower(split_part(replace(coalesce(language, ''), '_', '-'), '-', 1))
        WHEN 'ar' THEN 'arabic' WHEN 'ca' THEN 'catalan' WHEN 'da' THEN 'danish'
        WHEN 'de' THEN 'german' WHEN 'el' THEN 'greek' WHEN 'en' THEN 'english'
        WHEN 'es' THEN 'spanish' WHEN 'eu' THEN 'basque' WHEN 'fi' THEN 'finnish'
        WHEN 'fr' THEN 'french' WHEN 'ga' THEN 'irish' WHEN 'hi' THEN 'hindi'
        WHEN 'hu' THEN 'hungarian' WHEN 'hy' THEN 'armenian' WHEN 'id' THEN 'indonesian'
        WHEN 'it' THEN 'italian' WHEN 'lt' THEN 'lithuanian' WHEN 'ne' THEN 'nepali'
        WHEN 'nl' THEN 'dutch' WHEN 'no' THEN 'norwegian' WHEN 'nb' THEN 'norwegian'
        WHEN 'nn' THEN 'norwegian' WHEN 'pt' THEN 'portuguese' WHEN 'ro' THEN 'romanian'
        WHEN 'ru' THEN 'russian' WHEN 'sr' THEN 'serbian' WHEN 'sv' THEN 'swedish'
        WHEN 'ta' THEN 'tamil' WHEN 'tr' THEN 'turkish' WHEN 'yi' THEN 'yiddish'
        ELSE 'simple' END)::regconfig
$$;

-- The words of `words` OR-ed as a tsquery parsed with `config`, NULL when there are none.
CREATE OR REPLACE FUNCTION public.any_word_tsquery(words text, config regconfig) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT nullif(replace(plainto_tsquery(config, coalesce(words, ''))::text,
                          ' & ', ' | '), '')::tsquery
$$;

ALTER TABLE public.page_embeddings DROP COLUMN IF EXISTS chunk_tsv;
ALTER TABLE public.page_embeddings ADD COLUMN chunk_tsv tsvector
    GENERATED ALWAYS AS (to_tsvector(public.text_search_config(metadata ->> 'language'),
                                     chunk_text)) STORED;
CREATE INDEX IF NOT EXISTS idx_page_embeddings_chunk_tsv
    ON public.page_embeddings USING gin (chunk_tsv);

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
    -- the keyword side parses the question as the domain's chunks were parsed (0110)
    SELECT public.text_search_config(e.metadata ->> 'language') INTO v_config
    FROM public.page_embeddings e WHERE e.domain_id = v_domain_id LIMIT 1;
    v_query := public.any_word_tsquery(query_text, coalesce(v_config, 'simple'::regconfig));
    IF query_embedding IS NOT NULL THEN
        v_vector := public.search_embedding_ids(query_embedding, v_domain_id, v_pool,
                                                hybrid_search.model);
    END IF;
    IF v_query IS NOT NULL THEN
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
