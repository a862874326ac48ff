"""`omni extract FILE_OR_URL... [--jsonl]`: what the pipeline would store for each page.

Per page: its type, title, main text, Markdown, structured facts (the product facts of its
JSON-LD and the rows the extract job writes: products, FAQ pairs, contacts) and the chunks the
embed job would make, with their heading paths. Nothing is stored and no service is started:
it is the crawl's main-content stage and the workers' extract and chunk steps, called directly,
so users can see why the assistant knows or misses something (the page's own template is not
known from one page, so template lines stay). All inputs run in one process (the extractors
load once): hundreds of files take seconds a hundred. `bench/extraction_quality.py` uses
`report`, the same entry point.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import typer

from core.config import get_settings
from core.errors import InvalidValue

FETCH_TIMEOUT_S = 30


def read_source(source: str) -> tuple[str, str | None]:
    """(html, url) of a file or an http(s) URL, decoded as the crawler decodes bytes."""
    # imported here: Scrapy, for this command only
    from content.charset import decode_html  # noqa: PLC0415 - see the reason above

    if source.startswith(("http://", "https://")):
        request = urllib.request.Request(source, headers={"User-Agent": "omni-extract"})
        try:
            with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as response:
                return decode_html(response.read(), response.headers.get("Content-Type")), source
        except OSError as exc:
            raise InvalidValue(f"{source}: cannot fetch it: {exc}") from exc
    path = Path(source)
    if not path.is_file():
        raise InvalidValue(f"{source}: no such file and not an http(s) URL")
    return decode_html(path.read_bytes()), None


def report(html: str, url: str | None, *, chunks: bool = True) -> dict[str, Any]:
    """What the pipeline stores for the page (the `--jsonl` object)."""
    # imported here: the three extractors load in ~1 s, for this command only
    from content.chunking import chunk_document  # noqa: PLC0415 - see the comment above
    from content.main_content import page_content  # noqa: PLC0415 - see the comment above
    from workers.embed_job import page_text  # noqa: PLC0415 - see the comment above
    from workers.extraction import extract_page  # noqa: PLC0415 - see the comment above

    found = page_content(html, url)
    out: dict[str, Any] = {
        "url": url,
        "page_type": found.page_type,
        "title": found.title,
        "text": found.text,
        "markdown": found.markdown,
        "facts": found.facts,
    }
    if chunks:
        out["extractions"] = [
            {"type": row.extract_type, "data": row.extracted_data}
            for row in extract_page(html, url or "https://example.invalid/").rows
        ]
        settings = get_settings()
        out["chunks"] = [
            {"heading_path": list(c.heading_path), "tokens": c.token_count, "text": c.text}
            for c in chunk_document(
                page_text(found.title, found.markdown),
                settings.chunk_tokens,
                settings.chunk_overlap_tokens,
            )
        ]
    return out


def _human(source: str, page: dict[str, Any]) -> str:
    lines = [f"== {source}", f"type: {page['page_type']}", f"title: {page['title'] or ''}"]
    if page["facts"]:
        lines.append(f"facts: {json.dumps(page['facts'], ensure_ascii=False)}")
    for row in page.get("extractions", []):
        lines.append(f"{row['type']}: {json.dumps(row['data'], ensure_ascii=False)[:200]}")
    lines += ["-- main text", page["text"] or "(none found)", "-- chunks"]
    lines += [
        f"[{i}] {' > '.join(c['heading_path']) or '(no heading)'} ({c['tokens']} tokens)"
        for i, c in enumerate(page.get("chunks", []))
    ]
    return "\n".join(lines)


def extract(
    sources: list[str] = typer.Argument(
        ..., metavar="FILE_OR_URL...", help="HTML files or http(s) URLs."
    ),
    jsonl: bool = typer.Option(False, "--jsonl", help="One JSON object a line per page."),
) -> None:
    """Print what the pipeline would store for each page: type, title, main text, Markdown,
    structured facts and chunks with heading paths. An input that cannot be read is reported
    on stderr and the others still run; the exit code is then 1."""
    failed = 0
    for source in sources:
        try:
            html, url = read_source(source)
            page = report(html, url)
        except InvalidValue as exc:
            typer.echo(f"error: {exc}", err=True)
            failed += 1
            continue
        if jsonl:
            typer.echo(json.dumps({"source": source, **page}, ensure_ascii=False))
        else:
            typer.echo(_human(source, page))
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("extract")(extract)
