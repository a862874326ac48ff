-- The embed worker reuses a vector already computed for an identical chunk text (same model) on
-- another page, e.g. boilerplate repeated across a site: it looks chunks up by hash alone.
CREATE INDEX IF NOT EXISTS idx_page_embeddings_chunk_hash
    ON public.page_embeddings ((metadata ->> 'chunk_hash'));
