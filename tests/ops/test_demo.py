"""`omni demo` end to end: embedded services in a fresh data dir, the sample site, a crawl, the
workers until idle, the summary; and the dashboard opened in Chromium while the demo runs."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from db.job_kinds import QUEUES
from tests.support.local import CHROMIUM_ARGS, free_port
from tests.support.paths import OMNI

pytestmark = pytest.mark.slow


@pytest.fixture
def demo_env(services_env) -> Iterator[dict[str, str]]:
    """No DATABASE_URL/REDIS_URL: the demo starts its own embedded services in a temp data dir
    (stopped and removed afterwards)."""
    data_dir = tempfile.mkdtemp(prefix="omni-demo-test-")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        OMNI_DATA_DIR=data_dir, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1"
    )
    try:
        yield env
    finally:
        subprocess.run([str(OMNI), "services", "down"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(data_dir, ignore_errors=True)


def _number(output: str, label: str) -> int:
    match = re.search(rf"^\s+{label}:\s+(\d+)", output, re.MULTILINE)
    assert match, f"no {label!r} line in:\n{output}"
    return int(match.group(1))


def test_demo_no_dashboard(demo_env) -> None:
    result = subprocess.run(
        [str(OMNI), "demo", "--no-dashboard"],
        env=demo_env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert _number(out, "pages") >= 15
    assert _number(out, "duplicates") >= 1
    assert _number(out, "extractions") >= 3
    assert _number(out, "chunks") >= 15
    assert _number(out, "tokens") > 0
    assert re.search(r"extractions: \d+ \(.*faq \d+.*product \d+", out)
    assert re.search(r"top result: http://127\.0\.0\.1:\d+/(shipping|faq)\.html", out), out
    assert "Dashboard:" not in out
    assert "/private/" not in out  # robots.txt is respected (nothing from there)


def _reader(proc: subprocess.Popen, lines: queue.Queue[str], log: list[str]) -> None:
    for line in proc.stdout:  # type: ignore[union-attr]  # spawned with stdout=PIPE
        log.append(line)
        lines.put(line)


def _wait_line(lines: queue.Queue[str], pattern: str, proc, log, timeout: float) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            assert proc.poll() is None, "demo exited early:\n" + "".join(log)
            continue
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"no line matching {pattern!r}:\n" + "".join(log))


def test_dashboard_during_a_demo_run(demo_env) -> None:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - heavy, loaded only where it is used

    port = free_port()
    proc = subprocess.Popen(
        [str(OMNI), "demo", "--port", str(port)],
        env=demo_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    log: list[str] = []
    threading.Thread(target=_reader, args=(proc, lines, log), daemon=True).start()
    try:
        url = _wait_line(
            lines, r"==> dashboard \(live while the demo runs\): (\S+)", proc, log, 180
        ).group(1)
        assert url == f"http://127.0.0.1:{port}/"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page()
            # while the workers run: a live worker process with its threads
            seen_worker = None
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline and not seen_worker:
                page.goto(url)
                rows = page.locator("#workers tbody tr[data-pid]")
                if rows.count():
                    seen_worker = rows.first.inner_text()
                    break
                assert proc.poll() is None, "".join(log)
                if any("Summary for" in line for line in log):
                    break
                time.sleep(0.4)
            assert seen_worker and "busy" in seen_worker, (
                "no worker seen on the dashboard:\n" + "".join(log)
            )

            _wait_line(lines, r"^Dashboard: ", proc, log, 300)
            output = "".join(log)
            domain = re.search(r"Summary for (\S+)", output).group(1)
            pages, chunks = _number(output, "pages"), _number(output, "chunks")

            page.goto(url)

            assert page.locator("#queues tbody tr").count() == len(QUEUES)
            assert page.locator("#total-pages").inner_text() == str(pages)
            assert page.locator("#total-chunks").inner_text() == str(chunks)
            assert int(page.locator("#total-tokens").inner_text()) > 0
            page.goto(url + "domains")
            row = page.locator(f"#domains tr[data-domain='{domain}']")
            # pages by status: the copies of a page (/index.html of /) are `duplicate`
            words = row.locator(".pages").inner_text().split()
            by_status = {words[i]: int(words[i + 1]) for i in range(0, len(words) - 1, 2)}
            assert sum(by_status.values()) == pages and by_status["scraped"] >= pages - 1
            assert row.locator(".chunks").inner_text() == str(chunks)
            assert int(row.locator(".extractions").inner_text()) > 0
            page.goto(url + "jobs?status=completed")
            types = page.locator("#jobs tbody tr[data-job] td:nth-child(2)").all_inner_texts()
            assert {"crawl", "extract", "optimize", "embed"} <= set(types)
            browser.close()

        metrics = httpx.get(url + "metrics", timeout=30)
        assert metrics.status_code == 200
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(metrics.text)
            for s in f.samples
        }
        assert samples[("omni_pages", (("status", "scraped"),))] == by_status["scraped"]
        assert samples[("omni_chunks", ())] == chunks
        assert samples[("omni_queue_messages", (("queue", "embed"), ("state", "ready")))] == 0
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, "".join(log)[-3000:]
