-- Keyword side of hybrid_search (docs/workers.md#search-at-tenant-scale).
--
-- chunk_tsv: the chunk's tsvector ('simple' configuration: no stemming, no stop words, works for
-- every site language) as a stored generated column (a documented extension column), so ranking
-- reads it instead of parsing every matching chunk's text again on every query; GIN-indexed.
-- It replaces the expression index of 0003, which served the same @@ but left ts_rank_cd to
-- recompute to_tsvector for each match. Adding the column rewrites page_embeddings once.
ALTER TABLE public.page_embeddings ADD COLUMN IF NOT EXISTS chunk_tsv tsvector
    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, chunk_text)) STORED;

DROP INDEX IF EXISTS public.idx_page_embeddings_chunk_fts;
CREATE INDEX IF NOT EXISTS idx_page_embeddings_chunk_tsv
    ON public.page_embeddings USING gin (chunk_tsv);
