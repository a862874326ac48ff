"""What is knowledge (pure, shared by the crawl, the workers and the CLI): the kinds a stored
page can be (`scraped_pages.metadata.page_kind`) and the domain's include/exclude URL patterns
(`domains.knowledge_rules`, set by `omni domain add --include/--exclude`).

- `content`: embedded;
- `navigation`: recognised from its structure (`content/page_structure.py`): crawled, its
  links followed, not embedded;
- `excluded`: by the domain's patterns: crawled, its links followed, not embedded.
"""

from __future__ import annotations

import fnmatch
from typing import Any
from urllib.parse import urlsplit

from core.errors import InvalidValue

CONTENT, NAVIGATION, EXCLUDED = "content", "navigation", "excluded"
NOT_KNOWLEDGE = (NAVIGATION, EXCLUDED)
MAX_PATTERNS = 50
MAX_PATTERN_LENGTH = 200


def valid_patterns(patterns: Any) -> list[str]:
    """A list of include or exclude patterns, checked (InvalidValue says why not)."""
    if patterns is None:
        return []
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise InvalidValue("URL patterns must be a list of strings")
    if len(patterns) > MAX_PATTERNS:
        raise InvalidValue(f"at most {MAX_PATTERNS} URL patterns")
    for pattern in patterns:
        if not pattern.strip() or len(pattern) > MAX_PATTERN_LENGTH:
            raise InvalidValue(
                f"a URL pattern must have 1 to {MAX_PATTERN_LENGTH} characters: {pattern!r}"
            )
    return list(patterns)


def _matches(url: str, pattern: str) -> bool:
    """A glob over the URL's path and query (`/genindex*`), or over the whole URL when the
    pattern starts with a scheme."""
    if "://" in pattern:
        return fnmatch.fnmatchcase(url, pattern)
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return fnmatch.fnmatchcase(target, pattern)


def excluded_by(url: str, include: list[str], exclude: list[str]) -> str | None:
    """Why the domain's patterns keep `url` out of the knowledge base, or None. Exclude wins;
    with include patterns, only URLs matching one of them are knowledge."""
    for pattern in exclude:
        if _matches(url, pattern):
            return f"exclude {pattern}"
    if include and not any(_matches(url, p) for p in include):
        return "not in include patterns"
    return None


def page_kind(
    structural: str, url: str, include: list[str], exclude: list[str]
) -> tuple[str, str | None]:
    """(page_kind, excluded_by) of a stored page."""
    reason = excluded_by(url, include, exclude)
    return (EXCLUDED, reason) if reason else (structural, None)


def rules_of(domain_row: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(include, exclude) from a `domains` row; a malformed stored value counts as none (the CLI
    checks what it writes; a row written by other means must not break the crawl)."""
    rules = domain_row.get("knowledge_rules") or {}
    try:
        return valid_patterns(rules.get("include")), valid_patterns(rules.get("exclude"))
    except (ValueError, AttributeError):
        return [], []
