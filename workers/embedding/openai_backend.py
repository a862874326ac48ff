"""Embeddings through the `openai` client (OPENAI_BASE_URL points it at any compatible server).

Inputs are planned into the fewest requests the limits allow (workers.request_plan), several
requests are in flight at once (OMNI_OPENAI_MAX_CONCURRENCY), and 429/5xx/connection errors
are retried here with exponential backoff that honours `Retry-After`. When retries run out a
TransientError carries the last Retry-After up to the job runner (Dramatiq retries the job);
400-class errors are PermanentError.
"""

from __future__ import annotations

import base64
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

import numpy as np
import openai
from openai.types import CreateEmbeddingResponse

from content import tokens
from core.config import Settings
from workers.embedding import (
    COLUMN_DIMENSIONS,
    EmbeddingResult,
    OnBatch,
    PartialResult,
    fit_dimensions,
)
from workers.errors import PermanentError, TransientError
from workers.request_plan import MAX_INPUTS, MAX_TOKENS, MAX_TOKENS_PER_INPUT, plan_batches

log = logging.getLogger(__name__)

# US dollars per million input tokens.
PRICES = {
    "text-embedding-3-small": 0.02,
    "text-embedding-3-large": 0.13,
    "text-embedding-ada-002": 0.10,
}
ATTEMPTS = 6
MAX_SLEEP = 30.0


def cost_of(model: str, token_count: int) -> float:
    return PRICES.get(model, 0.0) * token_count / 1_000_000


def retry_after_seconds(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue  # an HTTP date: fall back to backoff
    return None


def is_transient(exc: Exception) -> bool:
    return isinstance(
        exc,
        (
            openai.APIConnectionError,
            openai.RateLimitError,
            openai.InternalServerError,
            openai.APITimeoutError,
        ),
    ) or (isinstance(exc, openai.APIStatusError) and exc.status_code >= 500)


class OpenAIBackend:
    name = "openai"
    max_input_tokens = MAX_TOKENS_PER_INPUT
    default_chunk_tokens = 500

    def __init__(self, model: str, settings: Settings) -> None:
        self.model = model
        self.concurrency = max(1, settings.openai_max_concurrency)
        self.backoff = settings.openai_retry_backoff
        api_key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
        self.client = openai.OpenAI(
            api_key=api_key or "not-needed",  # local compatible servers ignore it
            base_url=settings.openai_base_url or None,
            timeout=settings.openai_timeout,
            max_retries=0,  # retried below, where Retry-After and request counts are visible
        )
        # text-embedding-3 models shorten natively; others must fit or are zero-padded.
        self.request_dimensions = (
            COLUMN_DIMENSIONS if model.startswith("text-embedding-3") else None
        )
        # Some compatible servers accept less per request than OpenAI does.
        self.max_inputs = max(1, min(settings.embedding_max_inputs, MAX_INPUTS))
        self.max_tokens = max(
            MAX_TOKENS_PER_INPUT, min(settings.embedding_max_request_tokens, MAX_TOKENS)
        )

    def embed(self, texts: list[str], on_batch: OnBatch | None = None) -> EmbeddingResult:
        """Embed `texts`; `on_batch(indexes, vectors, result)` is called (in this thread) as each
        request completes, with that request's usage: the caller's checkpoint."""
        started = time.perf_counter()
        if not texts:
            return EmbeddingResult([])
        counts = tokens.count_many(texts)
        batches = plan_batches(counts, self.max_inputs, self.max_tokens, self.max_input_tokens)
        vectors: list[np.ndarray | None] = [None] * len(texts)
        result = EmbeddingResult([])

        def run(batch: list[int]) -> tuple[list[int], list[np.ndarray], int, int]:
            data, used, attempts = self._request([texts[i] for i in batch])
            return batch, data, used, attempts

        failure: BaseException | None = None
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(batches))) as pool:
            for future in as_completed([pool.submit(run, batch) for batch in batches]):
                try:
                    batch, data, used, attempts = future.result()
                except Exception as exc:  # noqa: BLE001 - raised below, with what succeeded
                    failure = failure or exc
                    continue
                for index, vector in zip(batch, data, strict=False):
                    vectors[index] = vector
                result.tokens += used
                result.requests += 1
                result.attempts += attempts
                if on_batch is not None:
                    on_batch(
                        batch,
                        data,
                        EmbeddingResult([], used, 1, attempts, cost_of(self.model, used)),
                    )
        result.cost = cost_of(self.model, result.tokens)
        if failure is not None:
            # The requests that succeeded were paid for: their vectors and tokens go with the
            # error, so the caller counts and keeps them (workers/embed_job.py).
            result.seconds = time.perf_counter() - started
            setattr(failure, "partial", PartialResult.of(result, vectors))  # noqa: B010
            raise failure
        result.vectors = [v for v in vectors if v is not None]
        if len(result.vectors) != len(texts):
            raise TransientError("the embedding API returned fewer vectors than inputs")
        result.seconds = time.perf_counter() - started
        return result

    def _request(self, inputs: list[str]) -> tuple[list[np.ndarray], int, int]:
        dimensions = self.request_dimensions or openai.omit
        last_error: Exception | None = None
        retry_after: float | None = None
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = self.client.embeddings.create(
                    model=self.model, input=inputs, encoding_format="base64", dimensions=dimensions
                )
            except openai.APIStatusError as exc:
                if not is_transient(exc):
                    raise PermanentError(
                        f"embedding request rejected ({exc.status_code}): {_message(exc)}"
                    ) from exc
                last_error, retry_after = exc, retry_after_seconds(exc)
            except (openai.APIConnectionError, openai.APITimeoutError) as exc:
                last_error, retry_after = exc, None
            else:
                return self._parse(response, len(inputs)), _usage(response, inputs), attempt
            if attempt < ATTEMPTS:
                time.sleep(_delay(attempt, retry_after, self.backoff))
        assert last_error is not None
        raise TransientError(
            f"embedding API still failing after {ATTEMPTS} attempts: "
            f"{type(last_error).__name__}: {_message(last_error)}",
            retry_after=retry_after,
        ) from last_error

    def _parse(self, response: CreateEmbeddingResponse, expected: int) -> list[np.ndarray]:
        items = sorted(response.data, key=lambda d: d.index)
        if len(items) != expected:
            raise TransientError(f"expected {expected} embeddings, got {len(items)}")
        out = []
        for item in items:
            raw = item.embedding
            vector = (
                np.frombuffer(base64.b64decode(raw), dtype="<f4")
                if isinstance(raw, str)
                else np.asarray(raw, dtype=np.float32)
            )
            norm = float(np.linalg.norm(vector))
            out.append(fit_dimensions(vector / norm if norm else vector))
        return out


def _usage(response: object, inputs: list[str]) -> int:
    usage = getattr(response, "usage", None)
    if usage is not None and getattr(usage, "prompt_tokens", None) is not None:
        return int(usage.prompt_tokens)
    return sum(tokens.count_many(inputs))


def _delay(attempt: int, retry_after: float | None, base: float) -> float:
    backoff = min(MAX_SLEEP, base * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
    if retry_after is not None:
        return min(MAX_SLEEP, max(retry_after, 0.05))
    return backoff


def _message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(exc)
