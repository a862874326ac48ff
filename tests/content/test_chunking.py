"""chunk_document: Markdown blocks, heading paths, clean text, context, limits, stable
boundaries (pure)."""

from __future__ import annotations

import random

import pytest

from content.chunking import (
    chunk_document,
    chunk_hash,
    clean_inline,
    context_line,
    effective_sizes,
    embedding_text,
)
from content.tokens import count_tokens
from workers.embed_job import ExistingRow, page_source, page_text, plan_page

PARA = (
    "Our shipping team packs every order by hand and sends it the same day when it is "
    "placed before noon; tracking numbers arrive by email."
)


def doc(*sections: tuple[str, int]) -> str:
    parts = []
    for heading, paragraphs in sections:
        parts.append(heading)
        parts.extend(f"{PARA} ({heading} {i})" for i in range(paragraphs))
    return "\n\n".join(parts)


@pytest.mark.parametrize(
    "text,chunk,overlap,limit",
    [
        (doc(("# A", 30)), 500, 60, 8191),
        (doc(("# A", 30)), 100, 15, 256),
        (doc(("# A", 3), ("## B", 40), ("### C", 2)), 200, 25, 256),
        ("word " * 5000, 300, 40, 512),
        ("x" * 20000, 500, 60, 512),  # no spaces at all
        ("é🙂 " * 3000, 120, 10, 128),  # multi-byte
        ("```\n# not a heading\n" + "code line\n" * 400 + "```", 100, 10, 128),
        ("| a | b |\n" + "| 1 | two |\n" * 300, 100, 10, 128),
    ],
)
@pytest.mark.parametrize("title", [None, "Shop » Shipping and returns, everything you need"])
def test_never_above_the_limit_and_nothing_lost(text, chunk, overlap, limit, title):
    chunks = chunk_document(text, chunk, overlap, limit, title=title)
    assert chunks
    assert all(c.token_count == count_tokens(c.embedding_text) <= limit for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(c.hash == chunk_hash(c.embedding_text) for c in chunks)
    words = set(text.split())
    assert words <= set(" ".join(c.text for c in chunks).split()) | {"```"} or "x" * 100 in text


def test_chunk_size_close_to_the_target():
    chunks = chunk_document(doc(("# A", 60)), 500, 60, 8191)
    body = [c.token_count for c in chunks[:-1]]
    assert all(125 <= n <= 500 for n in body), body
    assert sum(body) / len(body) >= 300


def test_splits_at_headings_and_carries_heading_paths():
    text = doc(("# Shop", 1), ("## Shipping", 8), ("### Abroad", 8), ("## Returns", 8))
    chunks = chunk_document(text, 200, 20, 8191)
    paths = [c.heading_path for c in chunks]
    assert ("Shop", "Shipping", "Abroad") in paths and ("Shop", "Returns") in paths
    for c in chunks:  # a chunk never mixes two big sections
        assert not ("## Returns" in c.text and "### Abroad" in c.text)
    returns = [c for c in chunks if c.heading_path == ("Shop", "Returns")]
    assert returns[0].text.startswith("## Returns")


def test_a_heading_or_a_definition_term_never_ends_a_chunk():
    terms = "\n\n".join(f"os.function_{i}(*path*, *mode*)\n\n{PARA} {PARA}" for i in range(12))
    chunks = chunk_document(f"# os\n\n{PARA}\n\n## Functions\n\n{terms}", 120, 0, 8191)
    assert len(chunks) > 6
    for c in chunks:
        last = c.text.rsplit("\n\n", 1)[-1]
        assert not last.startswith("#") and not last.startswith("os.function_"), c.text


def test_only_a_cut_paragraph_is_overlapped():
    long_paragraph = " ".join(f"Sentence number {i} of the long paragraph." for i in range(60))
    chunks = chunk_document(f"# A\n\n{long_paragraph}\n\n{PARA}\n\n{PARA} again", 120, 20, 8191)
    inside = [c for c in chunks if c.text.startswith("Sentence") or "Sentence number" in c.text]
    assert len(inside) >= 3
    for previous, current in zip(inside, inside[1:], strict=False):
        head = current.text.split("\n\n")[0]
        assert head in previous.text and 5 <= count_tokens(head) <= 25
    assert chunks[-1].text.startswith(PARA[:40]) or chunks[-1].text.endswith("again")


def test_tiny_sections_are_merged_not_left_as_crumbs():
    text = "# Page\n\n" + "\n\n".join(f"## Q{i}\n\nShort answer {i}." for i in range(12))
    chunks = chunk_document(text, 200, 20, 8191)
    assert len(chunks) <= 3
    assert chunks[0].heading_path == ("Page",)


def test_deterministic_and_empty():
    text = doc(("# A", 10))
    assert chunk_document(text, 100, 10) == chunk_document(text, 100, 10)
    assert chunk_document("", 100, 10) == [] and chunk_document("  \n\n ", 100, 10) == []


SPHINX_PAGE = """# os.path — Common pathname manipulations¶

**Source code:** [Lib/posixpath.py](https://github.com/python/cpython/tree/3.11/Lib/posixpath.py)

## Functions[¶](#functions "Permalink to this heading")

os.path.exists(*path*)[¶](#os.path.exists "Permalink to this definition")

Return `True` if *path* refers to an existing path. See [os.stat()](os.html#os.stat).

```
>>> import os.path

>>> os.path.exists("/tmp")
True
```

| Function | Meaning |

| exists() | the path exists |

| isdir() | the path is a directory |

- [Next topic](../next.html)

- ![logo](logo.png) Previous topic
"""


def test_markdown_structure_is_kept_and_markers_are_gone():
    chunks = chunk_document(SPHINX_PAGE, 200, 30, 256, title="os.path — Python 3.11 docs")
    text = "\n\n".join(c.text for c in chunks)
    assert "¶" not in text and "Permalink" not in text and "](" not in text
    assert "Source code:** Lib/posixpath.py" in text and "See os.stat()." in text
    assert '```\n>>> import os.path\n\n>>> os.path.exists("/tmp")\nTrue\n```' in text
    assert "| Function | Meaning |\n| exists() | the path exists |\n| isdir() |" in text
    assert "- Next topic\n- logo Previous topic" in text
    small = chunk_document(SPHINX_PAGE, 30, 0, 256)
    functions = [c for c in small if "os.path.exists(*path*)" in c.text][0]
    assert functions.heading_path == ("os.path — Common pathname manipulations", "Functions")
    assert functions.text.startswith("## Functions\n\nos.path.exists(*path*)")


def test_code_and_tables_stay_whole_and_long_tables_repeat_their_header():
    code = "```\n" + "\n".join(f"line_{i} = compute({i})" for i in range(40)) + "\n```"
    chunks = chunk_document(f"# A\n\n{PARA}\n\n{code}\n\n{PARA}", 100, 10, 8191)
    assert any(c.text == code for c in chunks)  # 300 tokens: above the chunk, kept whole
    table = "| name | price |\n" + "\n".join(f"| item {i} | {i}.00 EUR |" for i in range(120))
    chunks = chunk_document(f"# A\n\n{table}", 100, 10, 256)
    assert len(chunks) > 3
    assert chunks[0].text.startswith("# A\n\n| name | price |")
    assert all(c.text.startswith("| name | price |\n| item") for c in chunks[1:])
    rows = [line for c in chunks for line in c.text.split("\n") if "item" in line]
    assert len(rows) == 120 == len(set(rows))


@pytest.mark.parametrize(
    "title,path,expected",
    [
        ("Shipping — Acme", ("Shipping", "Abroad"), "Shipping — Acme > Abroad"),
        ("Acme shop", ("Shipping", "Abroad"), "Acme shop > Shipping > Abroad"),
        ("Ship", ("Shipping policy",), "Shipping policy"),
        (None, ("Shipping",), "Shipping"),
        ("Acme", (), "Acme"),
        ("", (), ""),
    ],
)
def test_context_line(title, path, expected):
    assert context_line(title, path) == expected


def test_embedded_text_carries_the_context_and_the_stored_text_stays_clean():
    chunks = chunk_document(
        doc(("# Shipping", 2), ("## Abroad", 6)), 100, 10, 8191, title="Shipping | Acme"
    )
    abroad = [c for c in chunks if c.heading_path == ("Shipping", "Abroad")]
    assert abroad and all(c.context == "Shipping | Acme > Abroad" for c in abroad)
    assert all(
        c.embedding_text == embedding_text(c.context, c.text)
        and c.embedding_text.startswith("Shipping | Acme > Abroad\n\n")
        and "Acme" not in c.text
        for c in abroad
    )


@pytest.mark.parametrize(
    "text,expected",
    [
        ('Intro[¶](#intro "Permalink to this headline")', "Intro"),
        ("Title [#](#title)", "Title"),
        ("Read [the guide](/guide) now", "Read the guide now"),
        ("![a cat](cat.png) sits", "a cat sits"),
        ("Heading¶", "Heading"),
        ("Price § 3 applies", "Price § 3 applies"),
    ],
)
def test_clean_inline(text, expected):
    assert clean_inline(text) == expected


# ------------------------------------------------------------- stable boundaries

SENTENCES = [
    "Orders placed before noon leave our warehouse the same day.",
    "Tracking numbers are sent by email once the parcel is scanned by the carrier.",
    "Customers outside the European Union may have to pay import duties on delivery.",
    "We accept returns within thirty days of delivery for unused items in their box.",
    "Refunds go back to the original payment method within five working days.",
    "Gift cards cannot be exchanged for cash and do not expire.",
    "Our support team answers questions from Monday to Friday between nine and five.",
    "Large items are delivered by a two-person crew who will place them in the room you choose.",
]
EDIT = " This sentence was added to the paragraph by an editor."


def _site_pages(count: int) -> list[list[str]]:
    """Pages as blocks: sections of paragraphs of 1-6 sentences, with code and lists."""
    rng = random.Random(25)
    pages = []
    for number in range(count):
        blocks = [f"# Page {number}"]
        for section in range(rng.randint(2, 5)):
            blocks.append(f"## Section {number}.{section}")
            for _ in range(rng.randint(2, 10)):
                kind = rng.random()
                if kind < 0.1:
                    blocks.append("```\n" + "\n".join(f"call({i})" for i in range(8)) + "\n```")
                elif kind < 0.2:
                    blocks.append("\n".join(f"- {rng.choice(SENTENCES)}" for _ in range(3)))
                else:
                    blocks.append(" ".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 6))))
        pages.append(blocks)
    return pages


def _changed_by_each_edit(chunker) -> list[int]:
    changed = []
    for blocks in _site_pages(30):
        before = {c.hash for c in chunker("\n\n".join(blocks))}
        for i, block in enumerate(blocks):
            if block.startswith(("#", "```", "- ")):
                continue
            edited = blocks[:i] + [block + EDIT] + blocks[i + 1 :]
            changed.append(sum(c.hash not in before for c in chunker("\n\n".join(edited))))
    return changed


def test_a_one_sentence_edit_re_embeds_at_most_two_chunks():
    changed = _changed_by_each_edit(lambda text: chunk_document(text, 200, 30, 256, title="T"))
    assert len(changed) > 300
    at_most_two = sum(n <= 2 for n in changed) / len(changed)
    assert at_most_two >= 0.97 and max(changed) <= 3, (at_most_two, max(changed))


def test_an_edit_at_the_top_of_a_long_section_re_embeds_at_most_two_chunks():
    paragraphs = [" ".join(SENTENCES[(i + j) % 8] for j in range(1 + i % 4)) for i in range(40)]
    text = "# Guide\n\n## Delivery\n\n" + "\n\n".join(paragraphs)
    edited = "# Guide\n\n## Delivery\n\n" + "\n\n".join([paragraphs[0] + EDIT, *paragraphs[1:]])
    before = chunk_document(text, 200, 30, 256)
    after = chunk_document(edited, 200, 30, 256)
    assert len(before) >= 8
    assert sum(c.hash not in {b.hash for b in before} for c in after) <= 2


@pytest.mark.parametrize(
    "chunk,overlap,limit,expected",
    [
        (500, 60, 8191, (500, 60)),
        (500, 60, 256, (196, 60)),
        (200, 300, 256, (156, 100)),  # overlap capped at half a chunk
        (50, 60, 8191, (50, 25)),
    ],
)
def test_effective_sizes(chunk, overlap, limit, expected):
    assert effective_sizes(chunk, overlap, limit) == expected


def _chunks(*texts):
    return chunk_document("\n\n".join(f"# H{i}\n\n{t}" for i, t in enumerate(texts)), 30, 0, 8191)


def _rows(chunks, model="m"):
    return [ExistingRow(f"r{c.index}", c.hash, model, c.index, c.heading_path) for c in chunks]


@pytest.mark.parametrize(
    "old,new,model,force,keep,insert,delete",
    [
        (["a" * 40, "b" * 40], ["a" * 40, "b" * 40], "m", False, 2, 0, 0),  # unchanged
        (["a" * 40, "b" * 40], ["a" * 40, "c" * 40], "m", False, 1, 1, 1),  # one changed
        (["a" * 40, "b" * 40], ["a" * 40], "m", False, 1, 0, 1),  # one removed
        (["a" * 40], ["a" * 40, "b" * 40], "m", False, 1, 1, 0),  # one added
        (["a" * 40, "b" * 40], ["a" * 40, "b" * 40], "other", False, 0, 2, 2),  # model changed
        (["a" * 40, "b" * 40], ["a" * 40, "b" * 40], "m", True, 0, 2, 2),  # forced
        ([], [], "m", False, 0, 0, 0),
    ],
)
def test_plan_page(old, new, model, force, keep, insert, delete):
    plan = plan_page(
        _chunks(*new) if new else [], _rows(_chunks(*old)) if old else [], model, force
    )
    assert (len(plan.keep), len(plan.insert), len(plan.delete)) == (keep, insert, delete)


def test_plan_page_matches_duplicates_one_to_one():
    chunks = _chunks("same " * 20, "same " * 20)
    chunks = [
        chunks[0],
        chunks[0].__class__(chunks[0].text, (), 1, chunks[0].token_count, chunks[0].hash),
    ]
    rows = _rows(chunks[:1])
    plan = plan_page(chunks, rows, "m")
    assert len(plan.keep) == 1 and len(plan.insert) == 1 and plan.delete == []


@pytest.mark.parametrize(
    "title,content,expected",
    [
        ("Shipping", "Text", "# Shipping\n\nText"),
        ("Shipping", "# Own heading\n\nText", "# Own heading\n\nText"),
        (None, "Text", "Text"),
        ("T", "", ""),
        ("T", "a\x00b", "# T\n\nab"),
    ],
)
def test_page_text(title, content, expected):
    assert page_text(title, content) == expected


@pytest.mark.parametrize(
    "page,expected",
    [
        ({"content": "text", "markdown": "# md", "page_starts": None}, "# md"),
        ({"content": "text", "markdown": "  ", "page_starts": None}, "text"),
        ({"content": "text", "page_starts": None}, "text"),
        ({"content": "pdf text", "markdown": "pdf text", "page_starts": [0, 10]}, "pdf text"),
    ],
)
def test_page_source(page, expected):
    assert page_source(page) == expected
