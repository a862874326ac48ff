"""The language of a page that declares none, guessed from its text's function words.

Many sites (PostgreSQL's, SQLite's and the Debian handbook's HTML among them) carry no `lang`,
`xml:lang`, Content-Language or og:locale. Without a language, hybrid search parses the page
with Postgres' `simple` configuration: no stemming, so "exits" never meets "exit". The guess
counts, in the first words of the text, how many are among each language's most common
function words (articles, pronouns, prepositions, conjunctions, auxiliaries), leaving out the
words two of these languages share. It names a language only when the evidence is plain:
enough words, a share of function words prose has, and the runner-up far behind. Otherwise
None, and the page stays `simple`. A declared language always wins (content/page_text.py). The
languages are those of Postgres' stemmers that these words tell apart reliably;
`text_search_config` (migration 0110) maps the code.
"""

from __future__ import annotations

import string
from collections import Counter

FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the a of and to in is that it for on with as are be this by was or an not from at "
        "which you can if have has but they their will we there been would when your".split()
    ),
    "de": frozenset(
        "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als "
        "auch es an werden aus er hat dass sie nach wird bei einer um oder".split()
    ),
    "fr": frozenset(
        "le de la et les des en un une du est pour que dans qui au par sur pas plus ne se "
        "ce il sont avec ou vous nous aux cette être mais".split()
    ),
    "es": frozenset(
        "el la de que y en los del las un por con no una para es al lo como más pero sus le "
        "se ha su o este si entre cuando muy sin sobre".split()
    ),
    "it": frozenset(
        "il di che e la in un per non una del sono della le si con gli da al è dei ma come "
        "anche nel alla più questo delle lo".split()
    ),
    "pt": frozenset(
        "o de a que e do da em um para é com não uma os no se na por mais as dos como mas "
        "ao ele das seu sua ou quando muito nos".split()
    ),
    "nl": frozenset(
        "de en van het een in is dat op te zijn met voor niet aan er om ook als dan maar "
        "bij of uit nog wordt door naar worden deze".split()
    ),
    "sv": frozenset(
        "och i att det som en på är av för med till den har de inte om ett men var jag så "
        "kan vi eller när från ska".split()
    ),
}

# only the words of one language count: "de", "la", "in" or "die" would speak for several
_OWN_WORDS: dict[str, frozenset[str]] = {
    code: words.difference(*(other for c, other in FUNCTION_WORDS.items() if c != code))
    for code, words in FUNCTION_WORDS.items()
}
_PUNCTUATION = "".join(sorted(set(string.punctuation) | set("«»“”‘’„…¿¡")))
FIRST_CHARS = 3000  # some 500 words: enough to decide; a long page is not read to its end
MIN_WORDS = 30  # fewer: a menu, a caption, a code sample, not prose to judge by
MIN_SHARE = 0.1  # prose has 20-40 % of its language's own function words; lists and code far less
LEAD = 2.0  # the best language's share at least twice the runner-up's


def guess_language(text: str) -> str | None:
    """The language code of `text` when its function words make it plain, else None."""
    words = Counter(w.strip(_PUNCTUATION) for w in text[:FIRST_CHARS].lower().split())
    del words[""]
    total = sum(words.values())
    if total < MIN_WORDS:
        return None
    shares = sorted(
        (
            (sum(words[w] for w in vocabulary) / total, code)
            for code, vocabulary in _OWN_WORDS.items()
        ),
        reverse=True,
    )
    (best, code), (runner_up, _) = shares[0], shares[1]
    if best >= MIN_SHARE and best >= LEAD * runner_up:
        return code
    return None
