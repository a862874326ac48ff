"""Readability, content-quality and SEO scores, each 0-100 (pure functions)."""

from __future__ import annotations

import re

from workers.optimization.text import content_words, paragraphs, sentences, words

_VOWEL_GROUPS = re.compile(r"[aeiouy]+")


def syllables(word: str) -> int:
    """Syllables by vowel groups, minus a silent final 'e' ('make'), plus '-le' ('table')."""
    word = word.lower().strip("'’")
    if not word:
        return 0
    count = len(_VOWEL_GROUPS.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1
    if word.endswith("le") and len(word) > 2 and word[-3] not in "aeiouy" and count == 0:
        count += 1
    return max(count, 1)


def flesch_reading_ease(text: str) -> float:
    """Flesch reading ease, clamped to 0-100 (higher is easier; 60-70 is plain English)."""
    ws = words(text)
    if not ws:
        return 0.0
    n_sentences = max(len(sentences(text)), 1)
    n_syllables = sum(syllables(w) for w in ws)
    score = 206.835 - 1.015 * (len(ws) / n_sentences) - 84.6 * (n_syllables / len(ws))
    return round(min(max(score, 0.0), 100.0), 1)


def _band(value: float, low: float, ideal_low: float, ideal_high: float, high: float) -> float:
    """1 inside [ideal_low, ideal_high], falling linearly to 0 at `low` and `high`."""
    if ideal_low <= value <= ideal_high:
        return 1.0
    if value < ideal_low:
        return max(0.0, (value - low) / (ideal_low - low)) if ideal_low > low else 0.0
    return max(0.0, (high - value) / (high - ideal_high)) if high > ideal_high else 0.0


def content_quality_score(text: str, headings: list[str] | None = None) -> float:
    """Length, structure (paragraphs, headings), repetition and vocabulary, weighted to 0-100."""
    ws = words(text)
    if not ws:
        return 0.0
    sents = sentences(text)
    paras = paragraphs(text)
    length = _band(len(ws), 0, 300, 2500, 8000)
    structure = min(len(paras) / 5, 1.0) * 0.6 + min(len(headings or []) / 3, 1.0) * 0.4
    normalised = [" ".join(words(s)) for s in sents if words(s)]
    unique = len(set(normalised)) / len(normalised) if normalised else 0.0
    cws = content_words(text)
    diversity = min(len(set(cws)) / max(len(cws), 1) / 0.5, 1.0) if cws else 0.0
    avg_sentence = len(ws) / max(len(sents), 1)
    sentence_len = _band(avg_sentence, 3, 10, 25, 60)
    score = 100 * (
        0.3 * length + 0.2 * structure + 0.2 * unique + 0.15 * diversity + 0.15 * sentence_len
    )
    return round(score, 1)


def seo_score(
    title: str | None,
    meta_description: str | None,
    text: str,
    headings: list[str] | None = None,
    keywords: list[str] | None = None,
) -> float:
    """On-page SEO checks: title 30-60 chars, description 70-155, headings, length, keyword use."""
    title, meta_description = (title or "").strip(), (meta_description or "").strip()
    ws = words(text)
    main = (keywords or [""])[0].lower()
    checks = [
        (20, _band(len(title), 0, 30, 60, 90)),
        (20, _band(len(meta_description), 0, 70, 155, 220)),
        (10, 1.0 if headings else 0.0),
        (15, _band(len(ws), 0, 300, 10_000, 50_000)),
        (15, 1.0 if main and main in title.lower() else 0.0),
        (10, 1.0 if main and main in meta_description.lower() else 0.0),
        (10, 1.0 if main and main in " ".join(ws[:100]) else 0.0),
    ]
    return round(sum(weight * value for weight, value in checks), 1)
