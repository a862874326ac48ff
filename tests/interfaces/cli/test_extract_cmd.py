"""`omni extract`: what the pipeline would store per page, from files and URLs, in one process;
an input that cannot be read is reported and the others still print."""

from __future__ import annotations

import json
import subprocess
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.content.test_main_content import SHOP
from tests.support.http_thread import serve_in_thread
from tests.support.paths import OMNI

PAGES = Path(__file__).resolve().parents[2] / "support" / "pages"


def omni_extract(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OMNI), "extract", *args], capture_output=True, text=True, timeout=120
    )


def test_files_print_type_text_facts_and_chunks_with_heading_paths(tmp_path):
    shop = tmp_path / "anvil.html"
    shop.write_text(SHOP, encoding="utf-8")
    result = omni_extract(str(PAGES / "jsonld_product.html"), str(shop), "--jsonl")
    assert result.returncode == 0, result.stderr
    product, anvil = (json.loads(line) for line in result.stdout.splitlines())
    assert product["page_type"] == "product"
    assert product["facts"]["name"] and product["facts"]["price"]
    assert any(row["type"] == "product" for row in product["extractions"])
    assert "Forge Anvil 50 kg" in anvil["text"] and "cookies" not in anvil["text"]
    assert anvil["markdown"].startswith("# Forge Anvil 50 kg")
    paths = [chunk["heading_path"] for chunk in anvil["chunks"]]
    assert paths and all(path[0] == "Forge Anvil 50 kg" for path in paths)


def test_a_bad_input_is_reported_and_the_others_still_print(tmp_path):
    result = omni_extract(str(tmp_path / "missing.html"), str(PAGES / "faq_jsonld.html"))
    assert result.returncode == 1
    assert "missing.html: no such file" in result.stderr
    assert "type: faq" in result.stdout and "-- chunks" in result.stdout


def test_a_url_is_fetched_and_read_as_the_crawler_reads_it():
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = SHOP.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = serve_in_thread(server)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/product/anvil"
        result = omni_extract(url, "--jsonl")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    page = json.loads(result.stdout)
    assert page["url"] == url and page["page_type"] == "product"
    assert "£349.00" in page["text"]
