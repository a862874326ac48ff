-- Tenant-shaped search (docs/workers.md#search-at-tenant-scale, docs/schema.md).
--
-- page_embeddings.domain_id: a denormalised copy of scraped_pages.domain_id (a documented
-- extension column), so "this domain's chunks" is one column of the row itself: the HNSW scan's
-- filter needs no join per candidate, the planner has per-domain statistics, and a btree serves
-- the exact search of small domains. It is derived, never trusted: a BEFORE trigger always sets
-- it from the row's page (whatever a writer, tenant or not, supplied), and a change of a page's
-- domain_id is carried to its chunks, so no tenant-writable value can point a chunk at another
-- tenant's domain.
ALTER TABLE public.page_embeddings ADD COLUMN IF NOT EXISTS domain_id UUID;

UPDATE public.page_embeddings e SET domain_id = p.domain_id
FROM public.scraped_pages p
WHERE p.id = e.page_id AND e.domain_id IS DISTINCT FROM p.domain_id;

CREATE OR REPLACE FUNCTION public.page_embeddings_derive_domain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    NEW.domain_id := (SELECT p.domain_id FROM public.scraped_pages p WHERE p.id = NEW.page_id);
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS page_embeddings_derive_domain ON public.page_embeddings;
CREATE TRIGGER page_embeddings_derive_domain
    BEFORE INSERT OR UPDATE OF page_id, domain_id ON public.page_embeddings
    FOR EACH ROW EXECUTE FUNCTION public.page_embeddings_derive_domain();

CREATE OR REPLACE FUNCTION public.scraped_pages_carry_domain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    UPDATE public.page_embeddings SET domain_id = NEW.domain_id WHERE page_id = NEW.id;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS scraped_pages_carry_domain ON public.scraped_pages;
CREATE TRIGGER scraped_pages_carry_domain
    AFTER UPDATE OF domain_id ON public.scraped_pages
    FOR EACH ROW WHEN (OLD.domain_id IS DISTINCT FROM NEW.domain_id)
    EXECUTE FUNCTION public.scraped_pages_carry_domain();

REVOKE ALL ON FUNCTION public.page_embeddings_derive_domain(), public.scraped_pages_carry_domain()
    FROM PUBLIC, anon, authenticated;

-- Exact search of a small domain and the size check: (domain_id) alone so the count is an
-- index-only scan.
CREATE INDEX IF NOT EXISTS idx_page_embeddings_domain ON public.page_embeddings (domain_id);
