"""Scores, text helpers and the offline optimiser (pure; no database, no network)."""
# ruff: noqa: E501 - its page text is written as the page holds it; a line break would change it

from __future__ import annotations

from decimal import Decimal

import pytest

from schemas.optimized_content import OptimizedContent, json_schema, response_format
from workers.errors import PermanentError
from workers.optimization import offline
from workers.optimization.base import PageInput
from workers.optimization.openai_optimizer import cost_of, parse_content, retry_after
from workers.optimization.scores import (
    content_quality_score,
    flesch_reading_ease,
    seo_score,
    syllables,
)
from workers.optimization.text import sentences, trim_at_word

ARTICLE = """How to brew pour-over coffee

Pour-over coffee gives you a clean, bright cup. You need a dripper, a paper filter and fresh beans.
Grind the beans to the size of coarse sand. Rinse the filter with hot water to remove the paper taste.

Brewing

Add the coffee and pour a little water to let it bloom for thirty seconds. Then pour slowly in circles.
The whole brew should take about three minutes. A good dripper keeps the water flowing evenly.

Cleaning

Rinse the dripper after each use. Ceramic drippers can go in the dishwasher.
"""


@pytest.mark.parametrize(
    "word, expected",
    [
        ("cat", 1),
        ("coffee", 2),
        ("make", 1),
        ("table", 2),
        ("beautiful", 3),
        ("the", 1),
        ("see", 1),
        ("dripper", 2),
        ("a", 1),
    ],
)
def test_syllables(word, expected):
    assert syllables(word) == expected


@pytest.mark.parametrize(
    "text, low, high",
    [
        ("The cat sat on the mat. The dog ran.", 90, 100),
        (ARTICLE, 60, 95),
        (
            (
                "Notwithstanding institutional considerations, organisational interdependencies "
                "necessitate "
                "comprehensive reconceptualisation of administrative responsibilities."
            ),
            0,
            10,
        ),
        ("", 0, 0),
    ],
)
def test_flesch_reading_ease(text, low, high):
    assert low <= flesch_reading_ease(text) <= high


def test_content_quality_prefers_structured_unique_text():
    good = content_quality_score(ARTICLE, ["How to brew pour-over coffee", "Brewing", "Cleaning"])
    repeated = content_quality_score("Buy now. " * 50)
    tiny = content_quality_score("Hello.")
    assert good > repeated and good > tiny
    assert 0 <= tiny <= 100 and 0 <= good <= 100 and content_quality_score("") == 0


@pytest.mark.parametrize(
    "title, description, headings, keywords, expected_min, expected_max",
    [
        (
            "Pour-over coffee: a brewing guide",
            (
                "Learn to brew pour-over coffee at home with a dripper, a filter and three "
                "minutes: grind size, "
                "bloom and pouring."
            ),
            ["Brewing"],
            ["pour-over coffee"],
            70,
            100,
        ),
        ("", "", [], [], 0, 20),
        ("Coffee", "Short.", [], ["tea"], 0, 40),
    ],
)
def test_seo_score(title, description, headings, keywords, expected_min, expected_max):
    assert (
        expected_min <= seo_score(title, description, ARTICLE, headings, keywords) <= expected_max
    )


@pytest.mark.parametrize(
    "text, limit, expected",
    [
        ("short", 60, "short"),
        ("one two three four", 9, "one two"),
        ("abcdefghij", 4, "abcd"),
        ("Beans, grinders | Shop", 16, "Beans, grinders"),
    ],
)
def test_trim_at_word(text, limit, expected):
    assert trim_at_word(text, limit) == expected


def test_sentences_split_on_punctuation_and_lines():
    assert sentences("Hello there. It is 3 p.m. now!\nA heading\nLast one?") == [
        "Hello there.",
        "It is 3 p.m. now!",
        "A heading",
        "Last one?",
    ]


def test_offline_optimiser_fills_every_field():
    page = PageInput(
        url="https://x.test/brew",
        title="How to brew pour-over coffee | Bean & Leaf",
        content=ARTICLE,
        headings=["How to brew pour-over coffee", "Brewing", "Cleaning"],
    )
    result = offline.optimize(page)
    c = result.content
    assert result.model == offline.MODEL_NAME and result.tokens == 0 and result.requests == 0
    assert c.title == "How to brew pour-over coffee"
    assert 0 < len(c.meta_title) <= 60 and 0 < len(c.meta_description) <= 155
    assert all(s in ARTICLE for s in c.key_points) and 1 <= len(c.key_points) <= 5
    assert any("coffee" in k or "dripper" in k for k in c.keywords[:3]), c.keywords
    assert c.topics[:2] == ["Brewing", "Cleaning"]
    assert c.summary and all(part in ARTICLE for part in sentences(c.summary))


def test_offline_optimiser_is_deterministic_and_handles_tiny_pages():
    page = PageInput(url="https://x.test/", title=None, content="Welcome")
    assert offline.optimize(page) == offline.optimize(page)
    assert offline.optimize(page).content.title


def test_keywords_recur_and_skip_stopwords():
    keywords = offline.extract_keywords(
        "The dripper is great. Our dripper is ceramic. The filter fits the dripper."
    )
    assert keywords[0] == "dripper" or "dripper" in keywords[0]
    assert all(w not in ("the", "is", "our") for k in keywords for w in k.split())


def test_json_schema_is_strict():
    schema = json_schema()
    assert schema["additionalProperties"] is False
    assert (
        set(schema["required"]) == set(OptimizedContent.model_fields) == set(schema["properties"])
    )
    assert response_format()["json_schema"]["strict"] is True
    assert all("title" not in p for p in schema["properties"].values())


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "{}",
        '{"title": ""}',
        "[1,2]",
        (
            '{"title":"t","summary":"s","content":"c","key_points":[],"topics":[],'
            '"meta_title":"m","meta_description":"d","keywords":[],"extra":1}'
        ),
    ],
)
def test_answers_that_do_not_match_the_schema_are_permanent(raw):
    with pytest.raises(PermanentError):
        parse_content(raw)


@pytest.mark.parametrize(
    "model, prompt, completion, expected",
    [
        ("gpt-4o-mini", 1_000_000, 0, "0.15"),
        ("gpt-4o-mini", 0, 1_000_000, "0.60"),
        ("gpt-4o-mini-2024-07-18", 1000, 1000, "0.00075"),
        ("gpt-4o", 1000, 500, "0.0075"),
        ("my-local-llama", 5000, 5000, "0"),
    ],
)
def test_cost_of(model, prompt, completion, expected):

    assert cost_of(model, prompt, completion) == Decimal(expected)


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "1500"}, 1.5),
        ({}, None),
        ({"retry-after": "soon"}, None),
        (None, None),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
    ],
)
def test_retry_after(headers, expected):
    assert retry_after(headers) == expected
