"""Verbatim sentiment: the scorer against real NPS verbatims, storage, and the KPIs."""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

import pytest

from cxkpi.analytics.sentiment import guess_language, score
from cxkpi.service.imports import score_surveys
from cxkpi.service.imports import import_file
from cxkpi.kpi import KpiQuery, compute
from cxkpi.kpi.rollup_build import refresh_after_change
from cxkpi.warehouse import open_warehouse
from cxkpi.warehouse.engines import duckdb_engine

NPS_FILE = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "nps-verbatims-uk-telecom" / "text_data.csv"


@pytest.mark.skipif(not NPS_FILE.exists(), reason="shared datasets are not beside the repository")
def test_tone_follows_the_nps_category_on_real_verbatims() -> None:
    """2,385 UK telecom NPS responses (SOURCE.md): detractors (0-6) < passives (7-8) < promoters (9-10)."""
    with NPS_FILE.open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["NPS_SCORE"]]
    by_cat: dict[str, list[float]] = {}
    for r in rows:
        s = score(r["text"], "en")
        if s is not None:
            by_cat.setdefault(r["NPS_RATING"], []).append(s)
    means = {k: statistics.mean(v) for k, v in by_cat.items()}
    assert means["Detractor"] < 0 < means["Passive"] < means["Promoter"]
    negative_share = {k: sum(x < -0.05 for x in v) / len(v) for k, v in by_cat.items()}
    assert negative_share["Detractor"] > 2 * negative_share["Promoter"]


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("Conseiller très aimable, problème résolu rapidement, merci !", 1),
        ("Attente interminable, personne ne m'a rappelé, je suis très déçu.", -1),
        ("Je ne suis pas content du service", -1),
        ("The advisor was friendly and solved my problem quickly", 1),
        ("Terrible wait, nobody called me back, very disappointed", -1),
    ],
)
def test_tone_of_clear_french_and_english_verbatims(text: str, sign: int) -> None:
    value = score(text)
    assert value is not None and -1 <= value <= 1
    assert value * sign > 0


def test_language_guess_and_empty_text() -> None:
    assert guess_language("Très bonne conseillère, merci") == "fr"
    assert guess_language("Very helpful advisor, thanks") == "en"
    assert score("   ") is None


def test_scores_are_stored_reset_on_change_and_aggregated(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path / "w.duckdb")
    src = tmp_path / "s.csv"
    src.write_text(
        "survey_id,responded_at,csat,verbatim,language\n"
        "s1,2026-03-02T10:00:00Z,5,Excellent service thank you,en\n"
        "s2,2026-03-02T11:00:00Z,1,Horrible wait and rude advisor,en\n"
        "s3,2026-03-02T12:00:00Z,4,,en\n",
        encoding="utf-8",
    )
    import_file(con, "surveys", src)  # the import pipeline scores new verbatims in the same transaction
    assert score_surveys(con) == 0  # nothing left to score
    stored = dict(con.execute("SELECT survey_id, sentiment FROM surveys").fetchall())
    assert stored["s1"] > 0 > stored["s2"] and stored["s3"] is None  # s3 has no verbatim
    # a changed verbatim is scored again by the import that changes it
    src.write_text("survey_id,responded_at,csat,verbatim,language\ns1,2026-03-02T10:00:00Z,5,Awful,en\n", encoding="utf-8")
    import_file(con, "surveys", src)
    assert con.execute("SELECT sentiment FROM surveys WHERE survey_id = 's1'").fetchall()[0][0] < 0
    # a verbatim written outside cxkpi is scored by a separate pass
    con.execute("UPDATE surveys SET sentiment = NULL WHERE survey_id = 's2'")
    assert score_surveys(con) == 1
    # golden aggregation from the stored values: set them by hand
    con.execute("UPDATE surveys SET sentiment = CASE survey_id WHEN 's1' THEN 0.5 WHEN 's2' THEN -0.05 END")
    refresh_after_change(con, ["surveys"])  # a write outside cxkpi: its rollups are rebuilt by hand
    df = compute(duckdb_engine(con), KpiQuery(kpis=("sentiment", "negative_verbatim_rate"), with_counts=True))
    # sentiment = (0.5 - 0.05) / 2; -0.05 is not below -0.05, so no negative verbatim
    assert df.iloc[0]["sentiment"] == pytest.approx(0.225)
    assert df.iloc[0]["negative_verbatim_rate"] == 0.0
    df = compute(duckdb_engine(con), KpiQuery(kpis=("negative_verbatim_rate",), params={"negative_sentiment_below": 0}))
    assert df.iloc[0]["negative_verbatim_rate"] == pytest.approx(0.5)
    con.close()
