"""Verbatim sentiment in [-1, 1], for the emotional aspect of service quality.

English verbatims are scored with VADER (Hutto & Gilbert 2014: a lexicon and rules for
negation, intensifiers, "but" and punctuation; its compound score is in [-1, 1]).
French ones with the French lexicon of Pattern (De Smedt & Daelemans 2012, through
textblob-fr: adjective polarities with negation and intensifiers, polarity in [-1, 1]).
Both are lexicon methods: they read tone, not irony. Scores are stored in
``surveys.sentiment`` and feed the ``sentiment`` and ``negative_verbatim_rate`` KPIs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache

import duckdb
import pyarrow as pa


NEGATIVE_BELOW = -0.05  # VADER's customary cut-off for a negative text

_FRENCH_WORDS = frozenset(
    "le la les un une des et est pas très trop mon ma mes je j nous vous conseiller conseillère "
    "attente merci bien avec pour sur dans rien jamais mais été avoir service banque carte compte".split()
)


def guess_language(text: str) -> str:
    """``fr`` or ``en`` from common words and accents (when the survey does not say)."""
    words = re.findall(r"[a-zàâçéèêëîïôûùüÿœ']+", text.lower())
    french = sum(w in _FRENCH_WORDS for w in words) + 2 * len(re.findall(r"[àâçéèêëîïôûùœ]", text.lower()))
    return "fr" if french >= max(1, len(words) // 6) else "en"


@cache
def _english() -> Callable[[str], float]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return lambda text: float(analyzer.polarity_scores(text)["compound"])


@cache
def _french() -> Callable[[str], float]:
    from textblob import Blobber
    from textblob_fr import PatternAnalyzer, PatternTagger

    blob = Blobber(pos_tagger=PatternTagger(), analyzer=PatternAnalyzer())
    return lambda text: float(blob(text).sentiment[0])


def score(text: str, language: str | None = None) -> float | None:
    """Sentiment of one verbatim in [-1, 1]; None for an empty text."""
    if not text or not text.strip():
        return None
    lang = (language or "").lower()[:2]
    if lang not in ("fr", "en"):
        lang = guess_language(text)
    value = _french()(text) if lang == "fr" else _english()(text)
    return max(-1.0, min(1.0, value))


def score_many(items: Iterable[tuple[str, str | None]]) -> list[float | None]:
    """Scores of (text, language) pairs; each distinct pair is scored once."""
    memo: dict[tuple[str, str | None], float | None] = {}
    out = []
    for text, lang in items:
        key = (text, lang)
        if key not in memo:
            memo[key] = score(text, lang)
        out.append(memo[key])
    return out


def score_pending(con: duckdb.DuckDBPyConnection) -> int:
    """Score the verbatims of ``surveys`` that have none yet, in the caller's transaction
    (an import's: ``cxkpi.service.imports`` runs it as an after-write step); how many rows.

    Demo and real surveys repeat the same short answers ("Très bien", "RAS"...), so each
    distinct (verbatim, language) pair is scored once in Python and the scores go back in
    one UPDATE joined on the pair, from an Arrow table the connection reads in place: the
    work in Python grows with the distinct texts, not with the rows (inserting one row per
    survey through ``executemany`` took most of the time).
    """
    pending = "surveys.sentiment IS NULL AND trim(coalesce(surveys.verbatim, '')) <> ''"
    pairs = con.execute(f"SELECT DISTINCT verbatim, language FROM surveys WHERE {pending}").fetchall()
    if not pairs:
        return 0
    scores = pa.table(
        {
            "verbatim": pa.array([p[0] for p in pairs], pa.string()),
            "language": pa.array([p[1] for p in pairs], pa.string()),
            "sentiment": pa.array([score(p[0], p[1]) for p in pairs], pa.float64()),
        }
    )
    name = "_cxkpi_verbatim_scores"
    con.register(name, scores)
    try:
        updated = con.execute(
            f"UPDATE surveys SET sentiment = s.sentiment FROM {name} s WHERE {pending} "
            "AND surveys.verbatim = s.verbatim AND surveys.language IS NOT DISTINCT FROM s.language"
        ).fetchall()
    finally:
        con.unregister(name)
    return int(updated[0][0])
