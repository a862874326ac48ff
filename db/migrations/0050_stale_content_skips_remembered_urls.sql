-- The crawler now remembers every URL it meets (docs/crawling.md): besides stored pages,
-- scraped_pages holds duplicates and redirects (status 'duplicate' / 'redirect', no content,
-- `metadata.canonical_of`), URLs the trap bound skipped ('skipped') and dead links with a retry
-- schedule (`metadata.next_check_at`). None of them is stale content: a duplicate is not asked
-- while its canonical page is unchanged, a dead link waits for its back-off. Same signature
-- as 0006's function.
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
      AND COALESCE(p.status, 'pending') NOT IN ('duplicate', 'redirect', 'skipped', 'gone')
      AND (p.metadata->>'next_check_at' IS NULL
           OR (p.metadata->>'next_check_at')::timestamptz <= now())
    ORDER BY p.scraped_at NULLS FIRST, p.url
$$;
