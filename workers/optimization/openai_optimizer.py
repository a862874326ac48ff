"""The chat-completion optimiser: one request with a strict JSON-schema response format.

Retries are the worker's job (max_retries=0): rate limits, 5xx, timeouts and connection errors
become TransientError (with Retry-After when the server sent one); other 4xx, refusals and
answers that do not match the schema become PermanentError.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

import openai
from pydantic import ValidationError

from core.config import Settings
from schemas.optimized_content import (
    META_DESCRIPTION_MAX,
    META_TITLE_MAX,
    OptimizedContent,
    response_format,
)
from workers.errors import PermanentError, TransientError
from workers.optimization.base import Optimization, PageInput
from workers.optimization.text import trim_at_word

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam
    from openai.types.chat.completion_create_params import ResponseFormat

# USD per million tokens (input, output): published list prices when this was written; an
# assumption to review, used only for the cost columns. Unknown models are costed at 0.
PRICES_PER_MILLION: dict[str, tuple[Decimal, Decimal]] = {
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60")),
    "gpt-4o": (Decimal("2.50"), Decimal("10.00")),
    "gpt-4.1": (Decimal("2.00"), Decimal("8.00")),
    "gpt-4.1-mini": (Decimal("0.40"), Decimal("1.60")),
    "gpt-4.1-nano": (Decimal("0.10"), Decimal("0.40")),
    "gpt-5-mini": (Decimal("0.25"), Decimal("2.00")),
    "gpt-5-nano": (Decimal("0.05"), Decimal("0.40")),
}
MAX_INPUT_CHARS = 24_000  # ~6k tokens of page text: enough for a page, bounded cost
RETRYABLE_STATUS = {408, 409, 429}

SYSTEM_PROMPT = (
    "You optimise web pages for a customer-service assistant and for search engines. "
    "Use only facts from the page; never invent prices, policies or contact details. "
    f"meta_title must be at most {META_TITLE_MAX} characters and meta_description at most "
    f"{META_DESCRIPTION_MAX}. Answer in the page's language."
)


def cost_of(model: str, prompt_tokens: int, completion_tokens: int) -> Decimal:
    prices = PRICES_PER_MILLION.get(model)
    if prices is None:
        # dated snapshots ("gpt-4o-mini-2024-07-18") cost what their family costs
        family = max(
            (m for m in PRICES_PER_MILLION if model.startswith(m + "-")), key=len, default=None
        )
        prices = PRICES_PER_MILLION.get(family or "")
    if prices is None:
        return Decimal(0)
    return (prices[0] * prompt_tokens + prices[1] * completion_tokens) / Decimal(1_000_000)


def make_client(settings: Settings) -> openai.OpenAI:
    api_key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    return _client(settings.openai_base_url or None, api_key, settings.openai_timeout)


@lru_cache(maxsize=4)
def _client(base_url: str | None, api_key: str, timeout: float) -> openai.OpenAI:
    """One client (and connection pool) per endpoint and key, reused across pages."""
    return openai.OpenAI(
        api_key=api_key or "not-needed",  # local OpenAI-compatible servers accept any key
        base_url=base_url,
        timeout=timeout,
        max_retries=0,
    )


def build_messages(page: PageInput) -> list[ChatCompletionMessageParam]:
    parts = [f"URL: {page.url}"]
    if page.title:
        parts.append(f"Title: {page.title}")
    if page.description:
        parts.append(f"Description: {page.description}")
    if page.headings:
        parts.append("Headings: " + " | ".join(page.headings[:30]))
    parts.append("Content:\n" + page.content[:MAX_INPUT_CHARS])
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": "\n".join(parts)},
    ]


def optimize(
    page: PageInput, settings: Settings, client: openai.OpenAI | None = None
) -> Optimization:
    model = settings.chat_model
    client = client or make_client(settings)
    try:
        response = client.chat.completions.create(
            model=model,
            messages=build_messages(page),
            # the schema module knows no client: its JSON-schema dict is this request's shape
            response_format=cast("ResponseFormat", response_format()),
        )
    except openai.APIStatusError as exc:
        raise _status_error(exc) from exc
    except openai.APIConnectionError as exc:  # includes APITimeoutError
        raise TransientError(f"chat endpoint unreachable: {type(exc).__name__}") from exc

    if not response.choices:
        raise PermanentError("chat completion had no choices")
    choice = response.choices[0]
    message = choice.message
    if refusal := getattr(message, "refusal", None):
        raise PermanentError(f"the model refused: {refusal[:200]}")
    if choice.finish_reason == "length":
        raise PermanentError("the model's answer was cut off (finish_reason=length)")
    content = parse_content(message.content or "")
    usage = response.usage
    prompt_tokens = usage.prompt_tokens if usage else 0
    completion_tokens = usage.completion_tokens if usage else 0
    return Optimization(
        content=content,
        model=response.model or model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost=cost_of(model, prompt_tokens, completion_tokens),
        requests=1,
    )


def parse_content(raw: str) -> OptimizedContent:
    try:
        data = json.loads(raw)
        content = OptimizedContent.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise PermanentError(
            f"the model's answer does not match the schema: {str(exc)[:300]}"
        ) from exc
    # the limits are asked for in the prompt; enforce them here
    return content.model_copy(
        update={
            "meta_title": trim_at_word(content.meta_title, META_TITLE_MAX),
            "meta_description": trim_at_word(content.meta_description, META_DESCRIPTION_MAX),
        }
    )


def _status_error(exc: openai.APIStatusError) -> Exception:
    status = exc.status_code
    message = f"chat endpoint answered {status}"
    if status in RETRYABLE_STATUS or status >= 500:
        return TransientError(message, retry_after=retry_after(exc.response.headers))
    return PermanentError(f"{message}: {_error_message(exc)}")


def _error_message(exc: openai.APIStatusError) -> str:
    body: Any = exc.body
    error = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])[:300]
    return str(exc.message)[:300]


def retry_after(headers: Any) -> float | None:
    """Seconds from Retry-After (seconds or an HTTP date) or retry-after-ms; None if absent."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max((when - datetime.now(UTC)).total_seconds(), 0.0)
