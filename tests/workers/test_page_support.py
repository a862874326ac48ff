"""Vector search's page support (workers/search.py, page_supported): a chunk's similarity plus
the weight times its page's best other chunk, content before navigation."""

from __future__ import annotations

import pytest

from workers.search import page_supported


def _rows(*chunks: tuple[str, float] | tuple[str, float, bool]) -> list[dict]:
    return [
        {"url": c[0], "similarity": c[1], "not_knowledge": c[2] if len(c) > 2 else False}
        for c in chunks
    ]


def _order(rows: list[dict]) -> list[tuple[str, float]]:
    return [(r["url"], r["similarity"]) for r in rows]


@pytest.mark.parametrize(
    ("chunks", "weight", "expected"),
    [
        # a page with a second good chunk passes a page with one slightly better chunk
        (
            [("a", 0.615), ("b", 0.59), ("b", 0.55), ("c", 0.40)],
            0.1,
            [("b", 0.59), ("a", 0.615), ("b", 0.55), ("c", 0.40)],
        ),
        # ... but not a page whose best chunk is clearly better
        (
            [("a", 0.70), ("b", 0.59), ("b", 0.55)],
            0.1,
            [("a", 0.70), ("b", 0.59), ("b", 0.55)],
        ),
        # a page's weaker chunks are lifted by its best one, not grouped under it
        (
            [("a", 0.80), ("b", 0.70), ("a", 0.30), ("c", 0.35)],
            0.1,
            [("a", 0.80), ("b", 0.70), ("a", 0.30), ("c", 0.35)],
        ),
        # two equal chunks support each other
        (
            [("a", 0.50), ("b", 0.52), ("a", 0.50)],
            0.1,
            [("a", 0.50), ("a", 0.50), ("b", 0.52)],
        ),
        # weight 0: the rows' own order (search_embeddings'), untouched
        (
            [("a", 0.60), ("b", 0.59), ("b", 0.55), ("nav", 0.90, True)],
            0.0,
            [("a", 0.60), ("b", 0.59), ("b", 0.55), ("nav", 0.90)],
        ),
        # a navigation page stays after every content chunk, however well supported
        (
            [("a", 0.30), ("nav", 0.90, True), ("nav", 0.89, True)],
            0.1,
            [("a", 0.30), ("nav", 0.90), ("nav", 0.89)],
        ),
        ([], 0.1, []),
    ],
)
def test_page_supported_order(chunks, weight, expected) -> None:
    assert _order(page_supported(_rows(*chunks), weight)) == expected


def test_each_page_first_appears_in_the_order_of_best_plus_weight_times_second() -> None:
    rows = _rows(
        ("a", 0.71), ("b", 0.70), ("c", 0.69), ("b", 0.68), ("d", 0.66), ("c", 0.65),
        ("d", 0.64), ("d", 0.63), ("a", 0.20),
    )  # fmt: skip
    sims: dict[str, list[float]] = {}
    for r in rows:
        sims.setdefault(r["url"], []).append(r["similarity"])
    page_score = {u: s[0] + 0.3 * (s[1] if len(s) > 1 else 0) for u, s in sims.items()}
    ranked = list(dict.fromkeys(r["url"] for r in page_supported(rows, 0.3)))
    assert ranked == sorted(page_score, key=lambda u: -page_score[u]) == ["b", "c", "d", "a"]
    best = {r["url"]: r["score"] for r in reversed(page_supported(rows, 0.3))}
    assert best == pytest.approx(page_score)
