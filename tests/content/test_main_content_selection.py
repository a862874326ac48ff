"""Which extractor's text is kept: the medoid, or the first text when none of them agree."""

from __future__ import annotations

import pytest

from content.main_content import (
    DISAGREE,
    by_readability,
    choose,
    extends,
    main_text,
    pairwise,
    shingles,
    votes_for,
    without_unsupported_tail,
)

ARTICLE = " ".join(f"word{i}" for i in range(40))
TEASER = " ".join(f"word{i}" for i in range(12))
MENU = " ".join(f"menu{i}" for i in range(40))
COMMENTS = " ".join(f"comment{i}" for i in range(40))
# shares a few words with ARTICLE: agreement ~0.1, which alone would make ARTICLE the medoid
LINKS = " ".join([*(f"word{i}" for i in range(8)), *(f"link{i}" for i in range(40))])


def agreements(texts: list[str]) -> list[list[float]]:
    return pairwise([shingles(text) for text in texts])


@pytest.mark.parametrize(
    "texts, expected",
    [
        ([ARTICLE, ARTICLE, MENU], 0),
        ([MENU, ARTICLE, ARTICLE + " " + TEASER], 1),  # two agree: the outlier loses
        ([TEASER, ARTICLE, ARTICLE], 1),  # the teaser agrees only loosely with the article
        ([MENU, ARTICLE, COMMENTS], 0),  # no two agree: the first (trafilatura's)
        ([MENU, ARTICLE, LINKS], 0),
        (["", ARTICLE, ARTICLE], 1),
    ],
)
def test_choose_keeps_the_medoid_unless_no_two_agree(texts, expected):
    assert choose(agreements(texts)) == expected


@pytest.mark.parametrize("texts", [[ARTICLE, TEASER, MENU], [ARTICLE, ARTICLE, MENU]])
def test_pairwise_is_symmetric_with_ones_on_the_diagonal(texts):
    agree = agreements(texts)
    assert [agree[i][i] for i in range(3)] == [1.0, 1.0, 1.0]
    assert all(agree[i][j] == agree[j][i] for i in range(3) for j in range(3))


def test_the_loose_threshold_separates_a_teaser_from_strangers():
    teaser_vs_article = agreements([TEASER, ARTICLE])[0][1]
    assert teaser_vs_article >= DISAGREE
    assert 0 < agreements([LINKS, ARTICLE])[0][1] < DISAGREE


@pytest.mark.parametrize(
    "outer, inner, expected",
    [
        (ARTICLE + " " + COMMENTS, ARTICLE, True),  # the same text and as much again
        (ARTICLE + " " + TEASER, ARTICLE, False),  # not twice as long
        (MENU + " " + COMMENTS, ARTICLE, False),  # twice as long, but another text
        (
            " ".join(ARTICLE.split()[:30]) + " " + COMMENTS,
            ARTICLE,
            False,
        ),  # a quarter of it is missing
        (ARTICLE, "", True),
    ],
)
def test_extends_is_the_same_text_and_as_much_again(outer, inner, expected):
    assert extends(shingles(outer), shingles(inner)) == expected


@pytest.mark.parametrize(
    "outputs, expected",
    [
        ((ARTICLE, ARTICLE, MENU), ARTICLE),  # the first two agree: the third is not run
        ((MENU, COMMENTS, LINKS), MENU),
        ((MENU, ARTICLE, ARTICLE), ARTICLE),
        # the other two agree on the article without trafilatura's comment thread: the thread stays
        ((ARTICLE + "\n" + COMMENTS, ARTICLE, ARTICLE), ARTICLE + "\n" + COMMENTS),
        # a fourth vote (the walker's) that agrees with the second text makes it the medoid
        ((MENU, ARTICLE, COMMENTS, ARTICLE), ARTICLE),
    ],
)
def test_main_text_runs_the_extractors_it_needs(outputs, expected):
    calls: list[str] = []

    def extractor(index: int):
        def run(html: str) -> str:
            calls.append(html)
            return outputs[index]

        return run

    assert (
        main_text(
            "<p>page</p>",
            first=extractor(0),
            second=extractor(1),
            votes=[extractor(i) for i in range(2, len(outputs))],
        )
        == expected
    )
    assert len(calls) == (2 if outputs[0] == outputs[1] else len(outputs))


SUPPORTED = ["The kettle boils a litre in two minutes.", "It switches itself off when dry."]


@pytest.mark.parametrize(
    "found, others, expected",
    [
        # what no other extractor kept at the end goes
        ([*SUPPORTED, "Leave a Reply", "Name (required)"], ["\n".join(SUPPORTED)], SUPPORTED),
        # kept by one of them is enough, and the cut stops at the first kept line
        (
            [*SUPPORTED, "Leave a Reply"],
            ["nothing", "It switches itself off when dry.\nLeave a Reply"],
            [*SUPPORTED, "Leave a Reply"],
        ),
        (
            [SUPPORTED[0], "Only here", SUPPORTED[1]],
            ["\n".join(SUPPORTED)],
            [SUPPORTED[0], "Only here", SUPPORTED[1]],
        ),
        # a line is found by its words in a row, whatever the case, punctuation and line breaks
        (
            [*SUPPORTED],
            ["the kettle boils a litre in two minutes it switches itself\noff when dry"],
            SUPPORTED,
        ),
        # cutting half the words or more means the others disagree about the page: nothing is cut
        (
            [SUPPORTED[0], "A tail longer than the text that the others kept for this page"],
            [SUPPORTED[0]],
            [SUPPORTED[0], "A tail longer than the text that the others kept for this page"],
        ),
        # a line without words stops the cut
        ([*SUPPORTED, "* * *", "Share"], ["\n".join(SUPPORTED)], [*SUPPORTED, "* * *"]),
        ([], ["anything"], []),
    ],
)
def test_the_unsupported_tail_is_cut(found, others, expected):
    assert without_unsupported_tail(found, others) == expected


@pytest.mark.parametrize(
    "og_type, voters",
    [
        ("article", ["readability"]),  # a news post: the walker would vote with resiliparse
        ("", ["readability", "the walker's text"]),
        ("website", ["readability", "the walker's text"]),
        ("product", ["readability", "the walker's text"]),
    ],
)
def test_the_walker_votes_unless_the_page_says_it_is_an_article(og_type, voters):
    votes = votes_for(og_type, "  the walker's   text\n\n")  # tidied when it votes
    assert ["readability" if v is by_readability else v("<p>page</p>") for v in votes] == voters
