"""Omni ingest: crawl customer websites, detect change, extract, optimise and embed."""

__version__ = "0.1.0"
