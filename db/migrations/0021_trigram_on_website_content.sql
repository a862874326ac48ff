-- Trigram indexes belong on website_content, not scraped_pages.
-- Every crawl rewrites scraped_at on every page it checks, even an unchanged one. scraped_at is
-- indexed (the seed's time indexes), so each of those updates is non-HOT and re-inserts into
-- every index on the row. A GIN trigram index on the page text made that ~0.5 ms a row (2,000
-- unchanged pages: ~1 s of Postgres CPU per re-crawl). website_content holds the same title
-- and text and is written only when a page's content changes.
DROP INDEX IF EXISTS public.idx_scraped_pages_title_trgm;
DROP INDEX IF EXISTS public.idx_scraped_pages_content_trgm;
CREATE INDEX IF NOT EXISTS idx_website_content_title_trgm
    ON public.website_content USING gin (title gin_trgm_ops);
CREATE INDEX IF NOT EXISTS idx_website_content_content_trgm
    ON public.website_content USING gin (content gin_trgm_ops);
