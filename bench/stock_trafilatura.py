"""trafilatura as installed, in a process of its own: the reference side of
bench/extraction_quality.py.

The main-content stage changes how trafilatura's jusText fallback finds its stoplist when it is
imported (content/main_content.py: the same output, ~4 ms a call less), so a reference timed in
the bench's own process would be faster than the library its users install. This process
imports nothing of the project's content code.

    reads  <length>\\n<bytes>  per page on stdin
    writes {"text": ..., "seconds": ...} per page on stdout, one JSON line (seconds: the call
    alone)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import trafilatura

from core.processes import die_with_parent


def main() -> None:
    die_with_parent()
    stdin, stdout = sys.stdin.buffer, sys.stdout
    trafilatura.extract("<html><body><p>warm-up</p></body></html>")
    if any(name == "content" or name.startswith("content.") for name in sys.modules):
        raise SystemExit("the reference process imported the project's content code")
    while header := stdin.readline():
        body = stdin.read(int(header))
        started = time.perf_counter()
        text = trafilatura.extract(body) or ""
        seconds = time.perf_counter() - started
        stdout.write(json.dumps({"text": text, "seconds": seconds}) + "\n")
        stdout.flush()


if __name__ == "__main__":
    main()
