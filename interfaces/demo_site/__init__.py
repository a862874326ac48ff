"""The demo: a bundled sample site (a small coffee roastery with a shop, FAQ, contact page,
journal, a duplicate page under two URLs, sitemap.xml and robots.txt) and `omni demo`."""

from pathlib import Path

SITE_DIR = Path(__file__).resolve().parent / "site"
