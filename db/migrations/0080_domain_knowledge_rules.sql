-- A domain's include/exclude URL patterns for the knowledge base (docs/crawling.md,
-- "Navigation pages are not knowledge"): {"include": ["/docs/*"], "exclude": ["/genindex*"]}.
-- Pages they exclude are crawled and their links followed, but not embedded. Written by
-- `omni domain add --include/--exclude`; a value of another shape counts as no patterns.
ALTER TABLE public.domains
    ADD COLUMN IF NOT EXISTS knowledge_rules JSONB NOT NULL DEFAULT '{}'::jsonb
    CHECK (jsonb_typeof(knowledge_rules) = 'object');
