"""Pure URL rules: canonical form, what kind of resource a URL is, site membership, trap keys.

No I/O here; every function is table-tested in tests/crawlers/test_rules.py.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

from core.domains import same_site

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that never change what a page says (analytics, ads, session ids).
TRACKING_PARAMS = frozenset(
    {
        "gclid",
        "gclsrc",
        "dclid",
        "fbclid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "ref_src",
        "spm",
        "sessionid",
        "session_id",
        "sid",
        "phpsessid",
        "jsessionid",
        "aspsessionid",
        "cfid",
        "cftoken",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wickedid",
        "s_cid",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")

SKIP_EXTENSIONS = frozenset(
    {
        # images
        "jpg",
        "jpeg",
        "png",
        "gif",
        "webp",
        "svg",
        "ico",
        "bmp",
        "tif",
        "tiff",
        "avif",
        "heic",
        # archives and binaries
        "zip",
        "gz",
        "tgz",
        "bz2",
        "xz",
        "7z",
        "rar",
        "tar",
        "dmg",
        "exe",
        "msi",
        "apk",
        "iso",
        "bin",
        "deb",
        "rpm",
        # media
        "mp3",
        "mp4",
        "m4a",
        "m4v",
        "avi",
        "mov",
        "mkv",
        "webm",
        "wav",
        "ogg",
        "flac",
        "wmv",
        # assets
        "css",
        "js",
        "mjs",
        "map",
        "woff",
        "woff2",
        "ttf",
        "otf",
        "eot",
        "json",
        "xml",
        "rss",
        "atom",
    }
)
DOCUMENT_EXTENSIONS = frozenset(
    {
        "pdf",
        "doc",
        "docx",
        "xls",
        "xlsx",
        "ppt",
        "pptx",
        "odt",
        "ods",
        "odp",
        "rtf",
        "csv",
        "txt",
        "epub",
    }
)

_SESSION_PATH_PARAM = re.compile(r";(jsessionid|phpsessid|sid|sessionid)=[^/?#]*", re.IGNORECASE)
_NUMBER = re.compile(r"\d+")
_HEXID = re.compile(
    r"^[0-9a-f]{16,}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE
)


def is_tracking_param(name: str) -> bool:
    key = name.lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def canonicalize(url: str, base: str | None = None) -> str | None:
    """The one form a URL is stored and de-duplicated under; None if it is not http(s).

    No fragment, no tracking/session parameters, lower-case scheme and host, no default port,
    query sorted, `.`/`..` resolved, an empty path becomes `/`.
    """
    text = (url or "").strip()
    if not text:
        return None
    if base:
        text = urljoin(base, text)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.rstrip(".").lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _SESSION_PATH_PARAM.sub("", parts.path) or "/"
    trailing = path.endswith("/")
    path = posixpath.normpath(path)
    if path == ".":
        path = "/"
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    if trailing and not path.endswith("/"):
        path += "/"
    path = quote(unquote(path), safe="/%:@!$&'()*+,;=-._~")
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not is_tracking_param(k)
    )
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))


def host_of(url: str) -> str:
    """`host[:port]` as `core.domains.normalize_domain` writes it."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is None or port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        return host
    return f"{host}:{port}"


def in_site(url: str, site_hosts: list[str] | tuple[str, ...] | frozenset[str]) -> bool:
    """Whether `url` belongs to the site: its domain or an owned domain (`www.` is the same)."""
    host = host_of(url)
    return any(same_site(host, site) for site in site_hosts)


def resource_kind(url: str) -> str:
    """`page`, `document` (recorded as a reference, not fetched) or `skip` (images, archives...)."""
    path = urlsplit(url).path.lower()
    name = path.rsplit("/", 1)[-1]
    if "." not in name:
        return "page"
    ext = name.rsplit(".", 1)[-1]
    if ext in DOCUMENT_EXTENSIONS:
        return "document"
    if ext in SKIP_EXTENSIONS:
        return "skip"
    return "page"


def pattern_key(url: str) -> str:
    """URLs that differ only by numbers, ids or query values share a key (crawler-trap bound).

    `/calendar/2024/05?view=month` and `/calendar/2031/11?view=week` ->
    `host/calendar/{n}/{n}?view`.
    """
    parts = urlsplit(url)
    segments = []
    for segment in parts.path.split("/"):
        if _HEXID.match(segment):
            segments.append("{id}")
        else:
            segments.append(_NUMBER.sub("{n}", segment))
    names = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)})
    key = f"{parts.netloc}{'/'.join(segments)}"
    return f"{key}?{'&'.join(names)}" if names else key


def start_url(domain_or_url: str) -> tuple[str, bool]:
    """The first URL of a crawl and whether an `http://` fallback is allowed.

    A full URL is used as given. A bare domain that is an IP literal or localhost starts on
    `http://`; any other starts on `https://` and may fall back to `http://` if that fails.
    """
    text = domain_or_url.strip()
    if "://" in text:
        return canonicalize(text) or text, False
    host = host_of("http://" + text)
    bare = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    if is_ip_or_local(bare):
        return f"http://{text}/", False
    return f"https://{text}/", True


def is_ip_or_local(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
