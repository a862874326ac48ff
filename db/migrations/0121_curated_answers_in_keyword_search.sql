-- Curated answers in the chat app's keyword search too (issue 26, item 1; docs/privacy.md
-- #curated-answers).
--
-- A curated answer (training_data, type qa / text) is the page `curated:<training_data id>`
-- (db/knowledge.py): search_embeddings and hybrid_search read its chunks like any page's. The
-- keyword search the chat app calls, search_pages_by_keyword, reads website_content, where a
-- curated answer has no row, so it never found one. It now also matches the domain's curated
-- pages (title = the question, content = the answer) and lists them before crawled pages, as
-- the vector search ranks them above crawled text: the operator's answer comes first. A row set
-- to 'disabled' is left out at once (its page goes at the next sync). The signature and the
-- columns returned are unchanged; crawled pages keep their order (content before navigation,
-- title matches first, then by URL) and their trigram indexes.

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
        SELECT m.url, m.title, m.content, m.domain_id
        FROM (
            -- curated answers: through training_data's domain index, then the page's key
            SELECT p.url, p.title, p.content, p.domain_id, 0 AS tier,
                   (p.title ILIKE v_pattern) AS in_title
            FROM public.training_data t
            JOIN public.scraped_pages p
              ON p.domain_id = t.domain_id AND p.url = 'curated:' || t.id::text
            WHERE t.domain_id = v_domain_id AND t.type IN ('qa', 'text')
              AND coalesce(t.status, 'pending') <> 'disabled'
              AND (p.title ILIKE v_pattern OR p.content ILIKE v_pattern)
            UNION ALL
            SELECT w.url, w.title, w.content, w.domain_id,
                   CASE WHEN public.is_not_knowledge(p.metadata) THEN 2 ELSE 1 END,
                   (w.title ILIKE v_pattern)
            FROM public.website_content w
            LEFT JOIN public.scraped_pages p ON p.domain_id = w.domain_id AND p.url = w.url
            WHERE w.domain_id = v_domain_id
              AND (w.title ILIKE v_pattern OR w.content ILIKE v_pattern OR w.url ILIKE v_pattern)
        ) m
        ORDER BY m.tier, m.in_title DESC, m.url
        LIMIT p_limit;
END
$fn$;
