"""The embedding API's retry pauses (pure)."""

from __future__ import annotations

import httpx
import pytest

from core.config import Settings
from tests.support.openai_server import Reply
from workers.embedding.openai_backend import MAX_SLEEP, OpenAIBackend, _delay
from workers.errors import PermanentError


@pytest.mark.parametrize(
    "attempt, retry_after, base, low, high",
    [
        (1, None, 0.5, 0.25, 0.5),  # the first pause: base, with up to half jittered off
        (3, None, 0.5, 1.0, 2.0),  # doubling
        (3, None, 0.02, 0.04, 0.08),  # OMNI_OPENAI_RETRY_BACKOFF scales it (the tests' 0.02)
        (12, None, 0.5, MAX_SLEEP / 2, MAX_SLEEP),  # capped
        (1, 7.0, 0.5, 7.0, 7.0),  # Retry-After wins over the back-off
        (1, 0.0, 0.5, 0.05, 0.05),  # ... but never a busy loop
        (1, 999.0, 0.5, MAX_SLEEP, MAX_SLEEP),
    ],
)
def test_delay(
    attempt: int, retry_after: float | None, base: float, low: float, high: float
) -> None:
    for _ in range(20):
        assert low <= _delay(attempt, retry_after, base) <= high


# ---------------------------------------------------------------- against the local server


def _backend(server, **extra):

    settings = Settings(
        OPENAI_BASE_URL=server.base_url,
        OPENAI_API_KEY="k",
        OMNI_OPENAI_MAX_CONCURRENCY="3",
        OMNI_EMBEDDING_MAX_INPUTS="2",
        OMNI_OPENAI_RETRY_BACKOFF="0.01",
        **extra,
    )
    return OpenAIBackend("text-embedding-3-small", settings)


def test_the_tokens_of_the_requests_that_succeeded_are_kept_when_one_fails(openai_server) -> None:

    texts = [f"text number {i} about shipping" for i in range(6)]  # 3 requests of 2 inputs

    def reject_the_middle(request):
        return Reply.bad_request("no") if "text number 2" in request.body["input"][0] else None

    openai_server.handler = reject_the_middle
    with pytest.raises(PermanentError) as failed:
        _backend(openai_server).embed(texts)
    partial = failed.value.partial
    assert partial.requests == 2 == openai_server.billed_requests
    assert partial.tokens == openai_server.billed_tokens > 0
    assert sorted(partial.by_index) == [0, 1, 4, 5]


def test_the_error_switch_and_the_billing_counter(openai_server) -> None:

    backend = _backend(openai_server)
    openai_server.fail_with(500, every=2)  # every other request fails, then is retried
    result = backend.embed([f"t{i}" for i in range(4)])
    assert result.requests == 2 and result.attempts >= 3
    assert result.tokens == openai_server.billed_tokens and openai_server.billed_requests == 2
    httpx.post(
        openai_server.base_url.replace("/v1", "/_control/errors"),
        json={"status": 429, "seconds": 30},
    )
    assert openai_server._switched_error("/v1/embeddings").status == 429
    httpx.post(openai_server.base_url.replace("/v1", "/_control/errors"), json={"status": None})
    billing = httpx.get(openai_server.base_url.replace("/v1", "/_control/billing")).json()
    assert billing == {"tokens": openai_server.billed_tokens, "requests": 2}
