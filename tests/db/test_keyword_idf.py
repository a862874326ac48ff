"""Migration 0124: hybrid_search's keyword side scores a chunk by its words' rarity (BM25's idf
times ts_rank's saturating count of each word), so one rare word outweighs a common one."""

from __future__ import annotations

import math

import pytest

from tests.support.knowledge import text_chunks

CHUNKS = 60


def _expected_score(text: str, words: list[str], df: dict[str, int], n: int) -> float:
    """The score the migration defines: sum over the words the chunk has of
    idf(w) * ts_rank(chunk, w), where ts_rank of one word with weight D (0.1) occurring f times
    is 0.1 * sum_{j<f} 1/(j+1)^2 / (pi^2/6)."""
    tokens = text.split()
    total = 0.0
    for word in words:
        f = tokens.count(word)
        if f:
            idf = math.log(1 + (n - df[word] + 0.5) / (df[word] + 0.5))
            total += idf * 0.1 * sum(1 / (j + 1) ** 2 for j in range(f)) / 1.64493406685
    return total


# (name, text): "widget" is in 6 of the 60 chunks (not above the 10% of a stop word), "zephyr" in 2
TEXTS = {
    "common": "widget widget widget",
    "rare": "zephyr",
    "both": "zephyr widget",
    **{f"widget{i}": f"widget lantern{i}" for i in range(4)},
    **{f"filler{i}": f"lantern{i} candle{i}" for i in range(CHUNKS - 7)},
}


@pytest.fixture
def corpus(db):
    """docs.test: the chunks of TEXTS, one page each, English, no vectors asked for."""
    domain = db.execute(
        "INSERT INTO domains (domain) VALUES ('docs.test') RETURNING id"
    ).fetchone()["id"]
    ids = text_chunks(db, domain, "docs.test", TEXTS)
    assert len(ids) == CHUNKS
    return ids


def _keyword_ranking(db, question: str) -> list:
    return [
        r["id"]
        for r in db.execute(
            "SELECT id FROM hybrid_search(%s, NULL, 'docs.test', 10, 'm1')", (question,)
        ).fetchall()
    ]


def test_a_rare_word_outranks_a_common_word_said_three_times(db, corpus) -> None:
    ranked = _keyword_ranking(db, "zephyr widget")
    assert ranked[:3] == [corpus["both"], corpus["rare"], corpus["common"]]


@pytest.mark.parametrize(
    "question, words",
    [
        ("zephyr widget", ["widget", "zephyr"]),
        ("widget", ["widget"]),
        ("lantern1 widget", ["lantern1", "widget"]),
        ("candle2 zephyr lantern2", ["candle2", "lantern2", "zephyr"]),
    ],
)
def test_the_keyword_ranking_is_the_idf_weighted_sum(db, corpus, question, words) -> None:
    df = {w: sum(w in t.split() for t in TEXTS.values()) for w in words}
    expected = {
        corpus[name]: _expected_score(text, words, df, CHUNKS)
        for name, text in TEXTS.items()
        if any(w in text.split() for w in words)
    }
    # ties (chunks of the same words) are broken by id, as the function does
    best_first = sorted(expected, key=lambda i: (-round(expected[i], 5), str(i)))
    assert _keyword_ranking(db, question) == best_first[:10]
    # convex fusion scores candidates with keyword_score: the same sum
    idf = [math.log(1 + (CHUNKS - df[w] + 0.5) / (df[w] + 0.5)) for w in words]
    for chunk_id, want in expected.items():
        got = db.execute(
            "SELECT keyword_score(chunk_tsv, %s, %s) AS s FROM page_embeddings WHERE id = %s",
            (words, idf, chunk_id),
        ).fetchone()["s"]
        assert got == pytest.approx(want, rel=1e-5)


def test_keyword_score_of_a_chunk_without_the_words_is_zero(db, corpus) -> None:
    got = db.execute(
        "SELECT keyword_score(chunk_tsv, ARRAY['zephyr'], ARRAY[3.0]::float8[]) AS s "
        "FROM page_embeddings WHERE id = %s",
        (corpus["filler0"],),
    ).fetchone()["s"]
    assert got == 0
