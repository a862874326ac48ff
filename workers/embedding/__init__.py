"""Embedding backends: `openai` (any OpenAI-compatible endpoint) and `local` (offline MiniLM).

Both return unit vectors fitted to the `vector(1536)` column: shorter native vectors are
zero-padded, which leaves cosine distances between vectors of the same model unchanged.
Rows record their model; vectors of different models are never compared.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from core.config import Settings
from core.errors import InvalidValue

COLUMN_DIMENSIONS = 1536
LOCAL_MODEL = "all-MiniLM-L6-v2"


@dataclass
class EmbeddingResult:
    vectors: list[np.ndarray]
    tokens: int = 0
    requests: int = 0  # successful API requests (or local encode batches)
    attempts: int = 0  # including retried ones
    cost: float = 0.0
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


# Called as each request completes: (input indexes, their vectors, that request's usage).
OnBatch = Callable[[list[int], list[np.ndarray], "EmbeddingResult"], None]


@dataclass
class PartialResult(EmbeddingResult):
    """What the requests that succeeded returned when another failed: attached to that error as
    `exc.partial`, so their tokens are counted and their vectors kept."""

    by_index: dict[int, np.ndarray] = field(default_factory=dict)  # input index -> vector

    @classmethod
    def of(cls, result: EmbeddingResult, vectors: list[np.ndarray | None]) -> PartialResult:
        return cls(
            [],
            result.tokens,
            result.requests,
            result.attempts,
            result.cost,
            result.seconds,
            by_index={i: v for i, v in enumerate(vectors) if v is not None},
        )


class EmbeddingBackend(Protocol):
    name: str
    model: str
    max_input_tokens: int  # cl100k tokens per input the backend accepts
    default_chunk_tokens: int  # preferred chunk size (<= max_input_tokens)

    def embed(self, texts: list[str], on_batch: OnBatch | None = None) -> EmbeddingResult: ...


def fit_dimensions(vector: np.ndarray, dimensions: int = COLUMN_DIMENSIONS) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32)
    if vector.shape[0] == dimensions:
        return vector
    if vector.shape[0] > dimensions:
        raise InvalidValue(
            f"the model returned {vector.shape[0]} dimensions; the column holds "
            f"{dimensions} (set a model or `dimensions` that fits)"
        )
    return np.concatenate([vector, np.zeros(dimensions - vector.shape[0], dtype=np.float32)])


_backends: dict[tuple[str, str], EmbeddingBackend] = {}
_lock = threading.Lock()


def backend_for_model(model: str, settings: Settings) -> EmbeddingBackend:
    """The backend that produced (or will produce) vectors of `model` (cached per process)."""
    kind = "local" if model == LOCAL_MODEL else "openai"
    key = (kind, model)
    with _lock:
        backend = _backends.get(key)
        if backend is None:
            if kind == "local":
                # The backend in use is imported when first asked for: torch or openai, not both.
                from workers.embedding.local_backend import LocalBackend  # noqa: PLC0415 - see the comment above

                backend = LocalBackend(settings)
            else:
                from workers.embedding.openai_backend import OpenAIBackend  # noqa: PLC0415 - only the backend in use, as above

                backend = OpenAIBackend(model, settings)
            _backends[key] = backend
        return backend


def get_backend(settings: Settings) -> EmbeddingBackend:
    """The configured backend (OMNI_EMBEDDING_BACKEND / OMNI_EMBEDDING_MODEL)."""
    model = settings.resolved_embedding_model
    if settings.resolved_embedding_backend == "local" and model != LOCAL_MODEL:
        raise InvalidValue(f"the local backend only has {LOCAL_MODEL}, not {model!r}")
    return backend_for_model(model, settings)


def reset_backends() -> None:
    """Forget cached backends (tests that change settings)."""
    with _lock:
        _backends.clear()
