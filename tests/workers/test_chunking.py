"""chunk_document: headings, paragraphs, heading paths, overlap, limits (pure)."""

from __future__ import annotations

import pytest

from workers.chunking import chunk_document, chunk_hash, effective_sizes
from workers.embed_job import ExistingRow, page_text, plan_page
from workers.tokens import count_tokens

PARA = ("Our shipping team packs every order by hand and sends it the same day when it is "
        "placed before noon; tracking numbers arrive by email.")


def doc(*sections: tuple[str, int]) -> str:
    parts = []
    for heading, paragraphs in sections:
        parts.append(heading)
        parts.extend(f"{PARA} ({heading} {i})" for i in range(paragraphs))
    return "\n\n".join(parts)


@pytest.mark.parametrize("text,chunk,overlap,limit", [
    (doc(("# A", 30)), 500, 60, 8191),
    (doc(("# A", 30)), 100, 15, 256),
    (doc(("# A", 3), ("## B", 40), ("### C", 2)), 200, 25, 256),
    ("word " * 5000, 300, 40, 512),
    ("x" * 20000, 500, 60, 512),                     # no spaces at all
    ("é🙂 " * 3000, 120, 10, 128),                    # multi-byte
    ("```\n# not a heading\n" + "code line\n" * 400 + "```", 100, 10, 128),
])
def test_never_above_the_limit_and_nothing_lost(text, chunk, overlap, limit):
    chunks = chunk_document(text, chunk, overlap, limit)
    assert chunks
    assert all(c.token_count == count_tokens(c.text) <= limit for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(c.hash == chunk_hash(c.text) for c in chunks)
    words = set(text.split())
    assert words <= set(" ".join(c.text for c in chunks).split()) | {"```"} or "x" * 100 in text


def test_chunk_size_close_to_the_target():
    chunks = chunk_document(doc(("# A", 60)), 500, 60, 8191)
    body = [c.token_count for c in chunks[:-1]]
    assert all(400 <= n <= 560 for n in body), body


def test_splits_at_headings_and_carries_heading_paths():
    text = doc(("# Shop", 1), ("## Shipping", 8), ("### Abroad", 8), ("## Returns", 8))
    chunks = chunk_document(text, 200, 20, 8191)
    paths = [c.heading_path for c in chunks]
    assert ("Shop", "Shipping", "Abroad") in paths and ("Shop", "Returns") in paths
    for c in chunks:                                   # a chunk never mixes two big sections
        assert not ("## Returns" in c.text and "### Abroad" in c.text)
    returns = [c for c in chunks if c.heading_path == ("Shop", "Returns")]
    assert returns[0].text.startswith("## Returns")


def test_overlap_repeats_the_end_of_the_previous_chunk_within_a_section():
    chunks = chunk_document(doc(("# A", 20)), 120, 20, 8191)
    assert len(chunks) > 3
    for previous, current in zip(chunks, chunks[1:]):
        head = current.text.split("\n\n")[0]
        assert head in previous.text and 5 <= count_tokens(head) <= 25


def test_tiny_sections_are_merged_not_left_as_crumbs():
    text = "# Page\n\n" + "\n\n".join(f"## Q{i}\n\nShort answer {i}." for i in range(12))
    chunks = chunk_document(text, 200, 20, 8191)
    assert len(chunks) <= 3
    assert chunks[0].heading_path == ("Page",)


def test_deterministic_and_empty():
    text = doc(("# A", 10))
    assert chunk_document(text, 100, 10) == chunk_document(text, 100, 10)
    assert chunk_document("", 100, 10) == [] and chunk_document("  \n\n ", 100, 10) == []


@pytest.mark.parametrize("chunk,overlap,limit,expected", [
    (500, 60, 8191, (500, 60)),
    (500, 60, 256, (196, 60)),
    (200, 300, 256, (156, 100)),                     # overlap capped at half a chunk
    (50, 60, 8191, (50, 25)),
])
def test_effective_sizes(chunk, overlap, limit, expected):
    assert effective_sizes(chunk, overlap, limit) == expected


def _chunks(*texts):
    return chunk_document("\n\n".join(f"# H{i}\n\n{t}" for i, t in enumerate(texts)), 30, 0, 8191)


def _rows(chunks, model="m"):
    return [ExistingRow(f"r{c.index}", c.hash, model, c.index, c.heading_path) for c in chunks]


@pytest.mark.parametrize("old,new,model,force,keep,insert,delete", [
    (["a" * 40, "b" * 40], ["a" * 40, "b" * 40], "m", False, 2, 0, 0),     # unchanged
    (["a" * 40, "b" * 40], ["a" * 40, "c" * 40], "m", False, 1, 1, 1),     # one changed
    (["a" * 40, "b" * 40], ["a" * 40], "m", False, 1, 0, 1),               # one removed
    (["a" * 40], ["a" * 40, "b" * 40], "m", False, 1, 1, 0),               # one added
    (["a" * 40, "b" * 40], ["a" * 40, "b" * 40], "other", False, 0, 2, 2),  # model changed
    (["a" * 40, "b" * 40], ["a" * 40, "b" * 40], "m", True, 0, 2, 2),      # forced
    ([], [], "m", False, 0, 0, 0),
])
def test_plan_page(old, new, model, force, keep, insert, delete):
    plan = plan_page(_chunks(*new) if new else [], _rows(_chunks(*old)) if old else [], model, force)
    assert (len(plan.keep), len(plan.insert), len(plan.delete)) == (keep, insert, delete)


def test_plan_page_matches_duplicates_one_to_one():
    chunks = _chunks("same " * 20, "same " * 20)
    chunks = [chunks[0], chunks[0].__class__(chunks[0].text, (), 1, chunks[0].token_count,
                                             chunks[0].hash)]
    rows = _rows(chunks[:1])
    plan = plan_page(chunks, rows, "m")
    assert len(plan.keep) == 1 and len(plan.insert) == 1 and plan.delete == []


@pytest.mark.parametrize("title,content,expected", [
    ("Shipping", "Text", "# Shipping\n\nText"),
    ("Shipping", "# Own heading\n\nText", "# Own heading\n\nText"),
    (None, "Text", "Text"),
    ("T", "", ""),
    ("T", "a\x00b", "# T\n\nab"),
])
def test_page_text(title, content, expected):
    assert page_text(title, content) == expected
