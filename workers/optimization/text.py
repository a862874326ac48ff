"""Text helpers shared by the scores and the offline optimiser: sentences, words, stopwords."""

from __future__ import annotations

import re

STOPWORDS = frozenset(
    """
a about above after again against all also am an and any are aren't as at be because been before
being below between both but by can can't cannot could couldn't did didn't do does doesn't doing
don't down during each few for from further get gets got had hadn't has hasn't have haven't having
he he'd he'll he's her here here's hers herself him himself his how how's however i i'd i'll i'm
i've if in into is isn't it it's its itself just let's like made make many may me might more most
much must mustn't my myself new no nor not now of off on once one only or other ought our ours
ourselves out over own per same shan't she she'd she'll she's should shouldn't so some such than
that that's the their theirs them themselves then there there's these they they'd they'll they're
they've this those through to too under until up upon us use used using very via was wasn't we we'd
we'll we're we've well were weren't what what's when when's where where's which while who who's
whom why why's will with within without won't would wouldn't yes yet you you'd you'll you're you've
your yours yourself yourselves also etc e.g i.e within across every still even back around able
available
""".split()
)  # noqa: SIM905 - a word list reads better as text

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])")
_WORD = re.compile(r"[A-Za-z\u00C0-\u024F][A-Za-z\u00C0-\u024F'’-]*")
_WS = re.compile(r"[ \t\u00a0]+")


def normalize_whitespace(text: str) -> str:
    lines = [_WS.sub(" ", line).strip() for line in (text or "").splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n|\n", text or "") if p.strip()]


def sentences(text: str) -> list[str]:
    """Sentences of `text` (each line is at least one sentence: headings and list items)."""
    out: list[str] = []
    for para in paragraphs(text):
        out.extend(s.strip() for s in _SENTENCE_END.split(para) if s.strip())
    return out


def words(text: str) -> list[str]:
    return [w.strip("'’-").lower() for w in _WORD.findall(text or "") if w.strip("'’-")]


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS and len(w) > 2]


def trim_at_word(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at a word boundary, without trailing punctuation."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,;:-–—|")


def trim_to_sentences(parts: list[str], limit: int) -> str:
    """As many whole sentences as fit in `limit` characters (else the first one cut at a word)."""
    out = ""
    for sentence in parts:
        candidate = f"{out} {sentence}".strip()
        if len(candidate) > limit:
            break
        out = candidate
    return out or trim_at_word(" ".join(parts), limit)
