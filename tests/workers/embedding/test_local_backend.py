"""The local backend: length-sorted batches in the input order, float32 as sentence-transformers
computes it, bfloat16 within 1e-3 cosine of it."""

from __future__ import annotations

import numpy as np
import pytest

from core.config import Settings
from workers.embedding import COLUMN_DIMENSIONS
from workers.embedding.local_backend import LocalBackend, length_batches, native_bf16

# Mixed lengths, so that sorting changes the order and batches of 16 are several.
TEXTS = [
    f"{topic} " + " ".join(f"{topic}{i} detail" for i in range(n))
    for n, topic in zip(
        [1, 120, 3, 40, 200, 7, 90, 15, 60, 2, 150, 30, 5, 80, 10, 110, 25, 70, 4, 45],
        [
            "refund",
            "shipping",
            "password",
            "invoice",
            "warranty",
            "login",
            "delivery",
            "coupon",
            "returns",
            "privacy",
            "subscription",
            "payment",
            "account",
            "tracking",
            "support",
            "exchange",
            "gift",
            "order",
            "cookie",
            "newsletter",
        ],
        strict=True,
    )
]


@pytest.fixture(scope="module")
def fp32() -> LocalBackend:
    return LocalBackend(precision="fp32")


@pytest.fixture(scope="module")
def reference(fp32) -> np.ndarray:
    """sentence-transformers' own encode of the same texts (what the backend ran before)."""
    return fp32._load().encode(
        TEXTS, batch_size=64, normalize_embeddings=True, convert_to_numpy=True
    )


def test_length_batches_cover_every_input_once_longest_first() -> None:
    lengths = [3, 9, 1, 9, 5, 7, 2]
    batches = length_batches(lengths, 3)
    assert [len(b) for b in batches] == [3, 3, 1]
    assert sorted(i for b in batches for i in b) == list(range(7))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths, reverse=True)


def test_float32_vectors_are_sentence_transformers_in_the_input_order(fp32, reference) -> None:
    vectors = fp32.encode(TEXTS)
    cosine = (vectors * reference).sum(1)
    assert cosine.min() > 0.99999
    # each text's nearest reference vector is its own: nothing was permuted
    assert list((vectors @ reference.T).argmax(1)) == list(range(len(TEXTS)))


def test_bfloat16_is_within_float_tolerance_of_float32(reference) -> None:
    vectors = LocalBackend(precision="bf16").encode(TEXTS)
    cosine = (vectors * reference).sum(1)
    assert cosine.min() > 0.999
    assert list((vectors @ reference.T).argmax(1)) == list(range(len(TEXTS)))


def test_embed_returns_unit_column_vectors_and_checkpoints_once(fp32, reference) -> None:
    seen = []
    result = fp32.embed(TEXTS[:5], on_batch=lambda idx, vecs, usage: seen.append(idx))
    assert seen == [[0, 1, 2, 3, 4]]
    assert all(v.shape == (COLUMN_DIMENSIONS,) for v in result.vectors)
    stacked = np.stack(result.vectors)
    assert np.allclose(np.linalg.norm(stacked, axis=1), 1.0, atol=1e-5)
    assert not stacked[:, 384:].any()
    assert np.allclose(stacked[:, :384], reference[:5], atol=1e-4)
    assert fp32.embed([]).vectors == []


def test_the_precision_setting_and_auto() -> None:
    assert not LocalBackend(Settings(OMNI_LOCAL_EMBED_PRECISION="fp32")).bf16
    assert LocalBackend(Settings(OMNI_LOCAL_EMBED_PRECISION="bf16")).bf16
    assert LocalBackend(Settings(OMNI_LOCAL_EMBED_PRECISION="auto")).bf16 == native_bf16()


def test_one_batch_per_core_equals_one_at_a_time(fp32) -> None:
    serial = LocalBackend(Settings(OMNI_LOCAL_EMBED_THREADS=1), precision="fp32")
    serial._model = fp32._load()  # the same weights
    assert serial.threads == 1
    assert np.allclose(serial.encode(TEXTS), fp32.encode(TEXTS), atol=1e-5)
