"""The crawl's URL memory past its bound (crawlers/url_memory.py): a map and a set that behave
like a dict and a set, iteration order included, whether they fit in memory or not; and URLs
the crawler remembers without content are not stale content and not refreshed."""

from __future__ import annotations

import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawlers.state import KnownPage
from crawlers.url_memory import FLUSH_EVERY, UrlMemory
from db import tenants
from tests.support.crawl_fixtures import crawl_ok
from tests.support.shop_site import Site, shop
from workers.broker import setup_broker
from workers.refresh import queue_refresh

PAGE = KnownPage(
    "id-1", "scraped", '"e1"', "Tue, 14 Nov 2023", "h1", 2, datetime(2026, 1, 1, tzinfo=UTC)
)

# (name, operations): each operation is applied to a dict and to a UrlMap; ("get", k) and
# friends record what they return, and the two records must be equal
MAP_CASES = [
    ("set and get", [("set", "a", 1), ("set", "b", 2), ("get", "a"), ("get", "zz")]),
    ("set again keeps its place", [("set", "a", 1), ("set", "b", 2), ("set", "a", 3)]),
    ("setdefault keeps the first", [("setdefault", "a", 1), ("setdefault", "a", 2), ("get", "a")]),
    ("delete", [("set", "a", 1), ("set", "b", 2), ("set", "c", 3), ("del", "b"), ("has", "b")]),
    ("a KnownPage comes back equal", [("set", "p", PAGE), ("get", "p"), ("set", "q", PAGE)]),
    ("lists of links", [("set", "s", ["t1", "t2"]), ("set", "u", []), ("get", "s"), ("get", "u")]),
    (
        "many past a flush",
        [("set", f"u{i}", i) for i in range(2 * FLUSH_EVERY + 7)]
        + [("get", "u3"), ("set", "u3", -1), ("get", "u3"), ("has", f"u{FLUSH_EVERY}")],
    ),
]


def apply(target, operations) -> list:
    seen = []
    for op, key, *value in operations:
        if op == "set":
            target[key] = value[0]
        elif op == "setdefault":
            seen.append(target.setdefault(key, value[0]))
        elif op == "get":
            seen.append(target.get(key, "missing"))
        elif op == "has":
            seen.append(key in target)
        elif op == "del":
            del target[key]
    return seen


@pytest.mark.parametrize("bound", [1, 2, 3, 10_000])
@pytest.mark.parametrize(("name", "operations"), MAP_CASES, ids=[c[0] for c in MAP_CASES])
def test_a_url_map_behaves_like_a_dict(name, operations, bound, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    memory = UrlMemory(bound)
    urls, plain = memory.map(), {}
    assert apply(urls, operations) == apply(plain, operations)
    assert list(urls.items()) == list(plain.items())
    assert list(urls) == list(plain) and len(urls) == len(plain) and bool(urls) == bool(plain)
    stored = {key for op, key, *_ in operations if op in ("set", "setdefault")}
    assert urls.spilled == (len(stored) > bound)
    memory.close()
    assert list(tmp_path.glob("omni-urls-*")) == []


SET_CASES = [
    ("add and ask", ["a", "b", "c"], ["a", "c", "zz"]),
    ("added twice", ["a", "b", "a", "c", "b"], ["b"]),
    ("many", [f"https://x.test/p/{i}" for i in range(3 * FLUSH_EVERY)], ["https://x.test/p/5"]),
    ("pushed out of the front before it was written", list("abcdef"), list("abcdefg")),
    ("empty", [], ["a"]),
]


@pytest.mark.parametrize("bound", [1, 2, 10_000])
@pytest.mark.parametrize(("name", "added", "asked"), SET_CASES, ids=[c[0] for c in SET_CASES])
def test_a_url_set_behaves_like_a_set(name, added, asked, bound, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    memory = UrlMemory(bound)
    urls, plain = memory.set(), set()
    for url in added:
        urls.add(url)
        plain.add(url)
    assert [u in urls for u in asked] == [u in plain for u in asked]
    assert list(urls) == list(dict.fromkeys(added))  # the order of first insertion
    assert len(urls) == len(plain) and bool(urls) == bool(plain)
    assert urls & {*asked} == plain & {*asked}
    urls.discard(asked[0])
    plain.discard(asked[0])
    assert set(urls) == plain
    assert urls.spilled == (len(set(added)) > bound)
    memory.close()
    assert list(tmp_path.glob("omni-urls-*")) == []


def test_a_spilled_value_is_a_copy_so_a_change_in_place_is_lost():
    """Why nothing in the crawl changes a stored value in place (the module's one difference):
    the change is seen while the value is in the front, and lost once it is pushed out."""
    memory = UrlMemory(1)
    urls = memory.map()
    urls["a"], urls["b"] = ["x"], ["y"]  # "a" spilled, and pushed out of the front by "b"
    for i in range(FLUSH_EVERY):
        urls[f"other{i}"] = []
    urls["a"].append("lost")  # changes the copy in the front only...
    assert urls["a"] == ["x", "lost"]
    urls["c"] = []  # ...which "c" pushes out
    assert urls["a"] == ["x"]
    memory.close()


def test_iterating_a_spilled_map_while_the_crawl_writes_to_others():
    memory = UrlMemory(2)
    known, seen = memory.map(), memory.set()
    for i in range(2500):
        known[f"u{i}"] = i
    for url, value in known.items():
        seen.add(url)
        assert known[url] == value
    assert len(seen) == 2500 and "u2499" in seen
    memory.close()


TOKEN = re.compile(r"token=[0-9a-f]{16}")
PID = re.compile(r"pid=\d+")  # a browser that failed to start names its process
# the stats that are not about what was crawled: time, memory, the job
UNCOMPARED = {"duration_s", "url_memory_spilled", "frontier_spilled", "cpu_s", "peak_rss_mb"}
UNCOMPARED |= {"domain", "job_id", "status"}  # the job, not the crawl (status: both completed)


def stored(db, site: Site) -> dict[str, list[tuple]]:
    """What a crawl stored for a site, by path; the session-id trap's random tokens (and the
    hashes of the pages that carry them) left out, so its URLs share one path."""
    prefix = f"http://{site.domain}"
    out = {}
    for r in db.execute(
        "SELECT p.url, p.status, p.error_message, p.metadata->>'content_hash' AS h, "
        "p.metadata->>'etag' AS etag, p.metadata->>'change' AS change, "
        "p.metadata->>'canonical_of' AS canonical_of, p.metadata->>'dead_count' AS dead_count, "
        "p.metadata->>'depth' AS depth, (w.id IS NOT NULL) AS content "
        "FROM scraped_pages p JOIN domains d ON d.id = p.domain_id "
        "LEFT JOIN website_content w ON w.domain_id = p.domain_id AND w.url = p.url "
        "WHERE d.domain = %s",
        (site.domain,),
    ):
        path = TOKEN.sub("token=*", r["url"].removeprefix(prefix))
        random = "token=" in path
        out.setdefault(path, []).append(
            (
                r["status"],
                PID.sub("pid=*", r["error_message"] or ""),
                None if random else r["h"],
                None if random else r["etag"],
                r["change"],
                (r["canonical_of"] or "").removeprefix(prefix),
                r["dead_count"],
                r["depth"],
                r["content"],
            )
        )
    return {path: sorted(rows, key=repr) for path, rows in out.items()}


def test_a_crawl_past_the_bound_stores_exactly_what_the_crawl_in_memory_stores(
    db, serve_site, monkeypatch
):
    """The same shop (duplicates, dead links, both traps, a sitemap) crawled twice in memory
    and twice with the URL memory bounded at 2 entries: the same rows and the same counters,
    first crawl and unchanged re-crawl. One request at a time: with several in flight a
    duplicate asked while its canonical page's 304 is still on its way is asked (conditionally)
    instead of skipped, in either path (pages_seen +1, duplicate_skipped -1; see
    docs/crawling.md), so counters of concurrent crawls differ from run to run."""
    monkeypatch.setenv("OMNI_CRAWL_PATTERN_LIMIT", "5")
    monkeypatch.setenv("OMNI_CRAWL_MAX_DEPTH", "100")
    monkeypatch.setenv("OMNI_CRAWL_CONCURRENCY", "1")
    monkeypatch.setenv("OMNI_LOG_LEVEL", "WARNING")
    # where the URL memory's file lives; a short path, as Chromium (which renders /about) puts
    # its profile and sockets there too and fails to start when a socket path passes 107 bytes
    memory_dir = Path(tempfile.mkdtemp(prefix="um-", dir="/tmp"))
    monkeypatch.setenv("TMPDIR", str(memory_dir))
    results = {}
    for bound in ("100000", "2"):
        monkeypatch.setenv("OMNI_CRAWL_URL_MEMORY", bound)
        site = serve_site(shop(40, sitemap=True, traps=True))
        first = crawl_ok(site.domain)
        after_first = stored(db, site)
        again = crawl_ok(site.domain)
        results[bound] = (first, after_first, again, stored(db, site))
    (m_first, m_rows, m_again, m_rows_again) = results["100000"]
    (s_first, s_rows, s_again, s_rows_again) = results["2"]
    assert m_first["url_memory_spilled"] == m_again["url_memory_spilled"] == 0
    assert s_first["url_memory_spilled"] >= 4 and s_again["url_memory_spilled"] >= 6
    assert s_rows == m_rows and s_rows_again == m_rows_again
    assert len(m_rows) >= 70 and m_again["duplicate_skipped"] >= 10  # the case is not empty
    # a page that failed the same way in both (the browser not starting, say) hides a difference
    errors = {row[1].split(":")[0] for rows in m_rows.values() for row in rows if row[1]}
    assert errors <= {"HTTP 404", "HTTP 410", "crawler trap"}, errors

    def counters(stats: dict) -> dict:
        return {k: v for k, v in stats.items() if k not in UNCOMPARED}

    assert counters(s_first) == counters(m_first)
    assert counters(s_again) == counters(m_again)
    assert list(memory_dir.glob("omni-urls-*")) == []  # the file went with each crawl
    memory_dir.rmdir()


def test_remembered_urls_are_not_stale_content_nor_refreshed(db, redis_client):

    setup_broker(os.environ["REDIS_URL"])
    shop = tenants.add_domain(db, "memory.test")["id"]
    rows = [
        ("page", "scraped", "{}"),
        ("print", "duplicate", '{"canonical_of": "https://memory.test/page"}'),
        ("old", "redirect", '{"canonical_of": "https://memory.test/page"}'),
        ("cal", "skipped", "{}"),
        ("dead", "failed", '{"next_check_at": "2999-01-01T00:00:00+00:00"}'),
        ("dead-due", "failed", '{"next_check_at": "2000-01-01T00:00:00+00:00"}'),
    ]
    for path, status, meta in rows:
        db.execute(
            "INSERT INTO scraped_pages (domain_id, url, status, metadata, scraped_at) "
            "VALUES (%s, %s, %s, %s::jsonb, now() - interval '30 days')",
            (shop, f"https://memory.test/{path}", status, meta),
        )
    stale = db.execute(
        "SELECT url FROM get_stale_content('memory.test', interval '7 days')"
    ).fetchall()
    assert sorted(r["url"].rsplit("/", 1)[1] for r in stale) == ["dead-due", "page"]
    (job_id,) = queue_refresh(db, "memory.test", "extract")
    page_ids = db.execute(
        "SELECT metadata->'page_ids' AS ids FROM content_refresh_jobs WHERE id = %s", (job_id,)
    ).fetchone()["ids"]
    urls = {
        r["url"].rsplit("/", 1)[1]
        for r in db.execute("SELECT url FROM scraped_pages WHERE id = ANY(%s::uuid[])", (page_ids,))
    }
    assert urls == {"page", "dead", "dead-due"}
