"""What crosses the item pipelines: one typed dict per fetched URL, plain data only.

The spider (crawlers/spiders/site.py, crawlers/documents.py) yields an item per URL it met;
each step of `pipelines/` reads the keys it needs and adds its own, in the order of
`ITEM_PIPELINES` (crawlers/settings.py): extract -> documents -> hash -> links -> store ->
enqueue. An item holds no live object: no parsed tree (the extract step parses the HTML it
carries), no site template (the extract step judges a template-only change and says so in
`template_only_change`), no connection. Steps hand work on through the item (`awaits_jobs`,
set by the store step, read by the enqueue step) or the crawl stats, never through the
spider's state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypedDict

if TYPE_CHECKING:
    from content.fingerprint import Change
    from content.page_text import Extracted

Kind = Literal["page", "document", "unchanged", "failed", "gone", "duplicate", "redirect"]


class Link(TypedDict):
    """One `<a href>` of a page (crawlers.spiders.site.extract_links)."""

    target_url: str
    anchor_text: str | None
    nofollow: bool
    is_internal: bool
    reference_type: str


class PageItem(TypedDict, total=False):
    # the spider: the URL and its HTTP answer
    kind: Kind
    url: str
    requested_url: str
    depth: int
    http_status: int | None
    etag: str | None
    last_modified: str | None
    render_mode: str
    bytes: int
    download_s: float | None
    status: str | None  # an unchanged page's status to keep (scraped, duplicate, redirect)
    error: str  # why a failed / gone URL has no content
    canonical_of: str  # a duplicate's or redirect's target
    dead_count: int  # a 404/410's checks in a row (crawlers/recheck.py)
    next_check_at: str
    html: str | None  # a page's HTML (dropped by the store step once written)
    links: list[Link]  # a page's links (taken by the links step)
    # a document (crawlers/documents.py; pipelines/documents.py turns it into a page)
    format: str
    body: bytes
    media_type: str | None
    document: dict[str, Any]  # what scraped_pages.metadata records about a document
    # the extract step
    extracted: Extracted
    block_keys: list[str]
    fingerprint: str
    template_only_change: bool  # differs from the stored version only in template blocks
    # the hash step
    content_hash: str
    change: Change
    duplicate_of: str | None
    # the store step
    crawl_job_id: str | None
    page_kind: str
    excluded_by: str | None
    awaits_jobs: bool  # its new or changed version is stored: the enqueue step queues it
