"""The offline optimiser: extractive summary, RAKE-style keywords and trimmed meta tags.

No network and deterministic. Sentences are scored by the frequency of their content words
(TF, normalised by sentence length) with a small bonus for appearing early on the page.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from schemas.optimized_content import META_DESCRIPTION_MAX, META_TITLE_MAX, OptimizedContent
from workers.optimization.base import Optimization, PageInput
from workers.optimization.text import (
    STOPWORDS,
    content_words,
    normalize_whitespace,
    sentences,
    trim_at_word,
    trim_to_sentences,
    words,
)

MODEL_NAME = "omni-offline-extractive-v1"
_PHRASE_SPLIT = re.compile(r"[^\w \t'’-]|\s[-–—]\s|\d+")
_TITLE_SEPARATORS = re.compile(r"\s+[|–—·:-]\s+")


def optimize(page: PageInput) -> Optimization:
    text = normalize_whitespace(page.content)
    keywords = extract_keywords(text, 10)
    ranked = rank_sentences(text)
    summary_sentences = _in_page_order(ranked[:3], text)
    summary = trim_at_word(" ".join(summary_sentences), 600) or trim_at_word(text, 300)
    title = (
        clean_title(page.title)
        or (page.headings[0] if page.headings else "")
        or (keywords[0].title() if keywords else trim_at_word(text, 60))
    )
    description = page.description or trim_to_sentences(summary_sentences, META_DESCRIPTION_MAX)
    content = OptimizedContent(
        title=title or page.url,
        summary=summary or title or page.url,
        content=dedupe_lines(text) or title or page.url,
        key_points=[trim_at_word(s, 200) for s in ranked[:5]],
        topics=topics(page.headings, keywords),
        meta_title=trim_at_word(title or page.url, META_TITLE_MAX),
        meta_description=trim_at_word(description, META_DESCRIPTION_MAX),
        keywords=keywords,
    )
    return Optimization(content=content, model=MODEL_NAME)


def clean_title(title: str | None) -> str:
    """'Ceramic Dripper – Bean & Leaf' -> 'Ceramic Dripper' (drops the site-name suffix)."""
    title = " ".join((title or "").split())
    parts = _TITLE_SEPARATORS.split(title)
    return parts[0] if len(parts) > 1 and len(parts[0]) >= 12 else title


def extract_keywords(text: str, n: int = 10) -> list[str]:
    """RAKE: candidate phrases are runs of non-stopwords; a word scores degree/frequency and a
    phrase the sum of its words. Phrases longer than three words are split off."""
    phrases: list[list[str]] = []
    for chunk in _PHRASE_SPLIT.split(text.lower()):
        current: list[str] = []
        for word in words(chunk):
            if word in STOPWORDS or len(word) < 3:
                if current:
                    phrases.append(current)
                current = []
            else:
                current.append(word)
        if current:
            phrases.append(current)
    phrases = [p[i : i + 3] for p in phrases for i in range(0, len(p), 3)]
    freq: Counter[str] = Counter()
    degree: defaultdict[str, int] = defaultdict(int)
    for phrase in phrases:
        for word in phrase:
            freq[word] += 1
            degree[word] += len(phrase)
    phrase_count = Counter(" ".join(p) for p in phrases)
    scores = {
        phrase: sum(degree[w] / freq[w] for w in phrase.split()) * (1 + 0.5 * (count - 1))
        for phrase, count in phrase_count.items()
    }
    # a phrase must recur or contain a recurring word: one-off phrases are noise
    ranked = sorted(
        (p for p in scores if phrase_count[p] > 1 or any(freq[w] > 1 for w in p.split())),
        key=lambda p: (-scores[p], p),
    )
    out: list[str] = []
    for candidate in ranked:
        if not any(candidate in kept for kept in out):
            out.append(candidate)
        if len(out) == n:
            break
    return out


def rank_sentences(text: str) -> list[str]:
    """Sentences best first: mean TF of their content words, early sentences slightly favoured."""
    # Real sentences (end punctuation, a few words); headings, menus and prices are lines without.
    sents = [
        s
        for s in sentences(text)
        if len(words(s)) >= 5 and s.rstrip("\"')”").endswith((".", "!", "?"))
    ]
    sents = sents or [s for s in sentences(text) if len(words(s)) >= 4] or sentences(text)[:5]
    tf = Counter(content_words(text))
    top = max(tf.values(), default=1)
    scored = []
    seen: set[str] = set()
    for position, sentence in enumerate(sents):
        key = " ".join(words(sentence))
        if key in seen:
            continue
        seen.add(key)
        cws = content_words(sentence)
        score = sum(tf[w] / top for w in cws) / (len(cws) ** 0.5 or 1)
        score *= 1 + 0.3 / (1 + position)
        scored.append((score, -position, sentence))
    return [s for _, _, s in sorted(scored, reverse=True)]


def topics(headings: list[str], keywords: list[str], n: int = 5) -> list[str]:
    """Section headings first (they are the page's own topics), then the top keywords."""
    picked: list[str] = []
    for candidate in [h for h in headings[1:] if 2 < len(h) <= 60] + [k.title() for k in keywords]:
        if candidate.lower() not in (p.lower() for p in picked):
            picked.append(candidate)
        if len(picked) == n:
            break
    return picked


def dedupe_lines(text: str) -> str:
    """The text without repeated lines (menus and footers repeated in the extracted content)."""
    seen: set[str] = set()
    out = []
    for line in text.splitlines():
        key = " ".join(words(line))
        if line.strip() and key and key in seen and len(key) < 200:
            continue
        seen.add(key)
        out.append(line)
    return normalize_whitespace("\n".join(out))


def _in_page_order(chosen: list[str], text: str) -> list[str]:
    return sorted(chosen, key=lambda s: text.find(s))
