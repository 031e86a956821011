"""Survey KPIs on DuckDB (SPEC §3): csat (top box), csat_mean, nps, ces, survey_response_rate;
hand-made golden cases plus a real-data oracle: the UK telecom NPS verbatims
(``/work/shared/datasets/nps-verbatims-uk-telecom``, NPS = −24.69 over 2,353 scored responses,
see its SOURCE.md), imported through a mapping file written here.
"""

from __future__ import annotations

import csv
from datetime import datetime

import pytest

from cxkpi.config import UserError
from cxkpi.kpi import Grain
from kpi_golden import NA, THIRD_PARTY_WARNINGS, GoldenCase, Q, Warehouses, assert_rows, run_duck, warehouses  # noqa: F401
from kpi_golden_more import UK, UK_MAPPING, SURVEY_KPIS, Loaded, cases_of, import_uk, load_tables, loaded, survey  # noqa: F401

pytestmark = [pytest.mark.filterwarnings(w) for w in THIRD_PARTY_WARNINGS]

CASES = cases_of("surveys")


def test_the_golden_cases_cover_every_survey_kpi() -> None:
    assert {k for c in CASES for k in c.query.kpis} == set(SURVEY_KPIS)


def test_survey_counts_with_counts(loaded: Loaded) -> None:
    df = run_duck(loaded("surveys"), Q(SURVEY_KPIS, with_counts=True))
    row = df.to_dict("records")[0]
    assert {k: row[k] for k in ("csat_n", "csat_top", "nps_n", "promoters", "detractors", "ces_n",
                                "surveys_sent", "surveys_responded")} == {
        "csat_n": 7, "csat_top": 4, "nps_n": 7, "promoters": 3, "detractors": 2, "ces_n": 5,
        "surveys_sent": 9, "surveys_responded": 7,
    }
    assert (row["csat_sum"], row["ces_sum"]) == (24.0, 21.0)


@pytest.mark.parametrize(("top", "expected"), [(1, 1.0), (2, 6 / 7), (3, 5 / 7), (4, 4 / 7), (5, 2 / 7)])
def test_csat_top_box_is_inclusive(top: int, expected: float, loaded: Loaded) -> None:
    # csat answers 5 4 3 1 2 5 4: at or above the top box
    df = run_duck(loaded("surveys"), Q(["csat"], params={"csat_top_box": str(top)}))  # text, as --param gives it
    assert_rows(df, [dict(csat=expected)])


def test_nps_boundaries(warehouses: Warehouses) -> None:
    """6 is a detractor, 7 and 8 passives, 9 a promoter."""
    rows = [survey(f"b{n}", responded_at="2026-03-02T10:00:00Z", nps=n, language=lang)
            for n, lang in ((6, "a"), (7, "a"), (8, "b"), (9, "b"), (10, "c"), (0, "c"))]
    con = load_tables(warehouses, "nps_bounds", {"surveys": rows})
    df = run_duck(con, Q(["nps", "csat", "ces"], by=("language",)))
    assert_rows(df, [dict(language="a", nps=-50.0, csat=NA, ces=NA),  # 6 D, 7 P: 100 × (0 - 1) / 2
                     dict(language="b", nps=50.0),  # 8 passive, 9 promoter
                     dict(language="c", nps=0.0)])  # 10 and 0 cancel out: zero, not null


@pytest.mark.parametrize(("kpi", "dim"), [("csat", "customer_id"), ("nps", "direction"), ("survey_response_rate", "contact_id")])
def test_survey_kpis_refuse_other_dimensions(kpi: str, dim: str, loaded: Loaded) -> None:
    with pytest.raises(UserError, match=f"does not accept dimension '{dim}'"):
        run_duck(loaded("surveys"), Q([kpi], by=(dim,)))


# --------------------------------------------------------------------------- UK telecom NPS oracle

uk_data = pytest.mark.skipif(not UK.exists(), reason=f"{UK} not available")


def uk_rows() -> list[dict[str, str]]:
    with UK.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@uk_data
def test_uk_telecom_nps_oracle(warehouses: Warehouses) -> None:
    con, report = import_uk(warehouses, UK_MAPPING, "uk")
    assert (report.read, report.accepted, report.rejected) == (2385, 2385, 0)
    df = run_duck(con, Q(["nps", "csat", "ces", "survey_response_rate"], with_counts=True))
    row = df.to_dict("records")[0]
    # SOURCE.md: 2,353 scored (32 blanks left out), 690 promoters, 1,271 detractors
    assert (row["nps_n"], row["promoters"], row["detractors"]) == (2353, 690, 1271)
    assert row["nps"] == pytest.approx(100 * (690 - 1271) / 2353, abs=1e-9)
    assert round(row["nps"], 2) == -24.69
    assert_rows(df, [dict(csat=NA, ces=NA,  # no csat or ces answer at all: null, not 0
                          survey_response_rate=NA)])  # no sent_at: no base


@uk_data
def test_uk_telecom_nps_by_the_sources_own_category(warehouses: Warehouses) -> None:
    """The extra column NPS_RATING (kept at import) is a dimension; it agrees with the 0-6/7-8/9-10 cut-offs."""
    con, _ = import_uk(warehouses, UK_MAPPING, "uk_rating")
    df = run_duck(con, Q(["nps"], by=("nps_rating",), with_counts=True))
    assert_rows(df, [dict(nps_rating="Detractor", nps=-100.0, nps_n=1271),
                     dict(nps_rating="Passive", nps=0.0, nps_n=392),
                     dict(nps_rating="Promoter", nps=100.0, nps_n=690),
                     dict(nps_rating=NA, nps=NA, nps_n=0)])  # the 32 unscored responses: null, not 0


@uk_data
def test_uk_telecom_nps_by_month_equals_an_independent_count(warehouses: Warehouses) -> None:
    """Monthly NPS in Europe/London equals a plain-Python count of the CSV (local day-first dates)."""
    expected: dict[str, list[int]] = {}
    for r in uk_rows():
        if r["NPS_SCORE"] == "":
            continue
        month = datetime.strptime(r["CUSTOMER_RESPONSE_DATE"], "%d/%m/%Y %H:%M").strftime("%Y-%m")
        score = int(float(r["NPS_SCORE"]))
        counts = expected.setdefault(month, [0, 0, 0])  # scored, promoters (9-10), detractors (0-6)
        counts[0] += 1
        counts[1] += score >= 9
        counts[2] += score <= 6
    con, _ = import_uk(warehouses, UK_MAPPING, "uk_month")
    df = run_duck(con, Q(["nps"], grain=Grain.MONTH, tz="Europe/London", with_counts=True))
    assert df["period"].tolist() == sorted(expected) == ["2017-12", *(f"2018-0{m}" for m in range(1, 7))]
    for row in df.to_dict("records"):
        n, p, d = expected[row["period"]]
        assert (row["nps_n"], row["promoters"], row["detractors"]) == (n, p, d), row["period"]
        assert row["nps"] == pytest.approx(100 * (p - d) / n, abs=1e-9)
    assert df["nps_n"].sum() == 2353


@uk_data
def test_uk_telecom_naive_key_collides(warehouses: Warehouses) -> None:
    """A survey_id from md5(date || verbatim) is not unique: the second "STOP" of 24/04/2018 19:35 is
    set aside as a duplicate, with its line, never silently merged (it happens to be the unscored one)."""
    naive = UK_MAPPING.replace(
        "md5(concat_ws('|', CUSTOMER_RESPONSE_DATE, SURVEY_SUB_TYPE, NPS_SCORE, text))",
        "md5(CUSTOMER_RESPONSE_DATE || text)",
    )
    con, report = import_uk(warehouses, naive, "uk_naive")
    assert (report.read, report.accepted, report.rejected) == (2385, 2384, 1)
    reasons = con.execute("SELECT line, reason FROM rejects").fetchall()
    assert len(reasons) == 1 and reasons[0][0] == 2324
    assert "duplicate" in reasons[0][1] and "line 1604" in reasons[0][1]
