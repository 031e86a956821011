"""Contact KPI rules beyond the golden tables: ratio of sums, measure columns, parameters,
dimensions and user errors (SPEC §3), on DuckDB.

Expected numbers are worked out by hand from the data sets of ``kpi_golden.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import duckdb
import pytest

from cxkpi.config import UserError
from cxkpi.kpi import KPIS, MEASURES, Grain
from kpi_golden import (  # noqa: F401
    CONTACT_KPIS, NA, THIRD_PARTY_WARNINGS, Q, Warehouses, assert_rows, contact, import_rows, is_na, run_duck, warehouses,
)

pytestmark = [pytest.mark.filterwarnings(w) for w in THIRD_PARTY_WARNINGS]

Golden = Callable[[str], duckdb.DuckDBPyConnection]


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Golden]:
    """The golden data sets of ``kpi_golden.py``, each imported once for the module's tests
    that only read them (tests that import rows of their own use ``warehouses``)."""
    shared = Warehouses(tmp_path_factory.mktemp("kpi_contacts"))
    cons: dict[str, duckdb.DuckDBPyConnection] = {}

    def load(dataset: str) -> duckdb.DuckDBPyConnection:
        if dataset not in cons:
            cons[dataset] = shared.load(dataset)
        return cons[dataset]

    try:
        yield load
    finally:
        shared.close()


def test_monthly_rate_is_the_ratio_of_monthly_sums(golden: Golden) -> None:
    con = golden("ratio")
    daily = run_duck(con, Q(["answer_rate", "asa"], grain=Grain.DAY))
    monthly = run_duck(con, Q(["answer_rate", "asa"], grain=Grain.MONTH))
    # days: 1/1 answered and 2/5 answered -> mean of daily rates 0.7; month: 3/6 = 0.5
    assert list(daily["answer_rate"]) == [1.0, 0.4]
    assert monthly["answer_rate"].tolist() == [0.5]
    assert monthly["answer_rate"][0] != pytest.approx(daily["answer_rate"].mean())
    # asa: days 10 and 50 (mean 30); month (10 + 40 + 60) / 3
    assert monthly["asa"][0] == pytest.approx(110 / 3, abs=1e-9)


def test_with_counts_exposes_the_measures(golden: Golden) -> None:
    con = golden("basics")
    df = run_duck(con, Q(CONTACT_KPIS, by=("channel",), with_counts=True))
    wanted = {m for k in CONTACT_KPIS for m in KPIS[k].measures}
    measures = [m for m in MEASURES if m in wanted]
    assert list(df.columns) == ["channel", *CONTACT_KPIS, *measures]
    phone = df[df.channel == "phone"].to_dict("records")[0]
    # hand counts of the phone rows of BASICS (see kpi_golden.py)
    assert {k: phone[k] for k in ("inbound", "offered", "answered", "abandoned", "short_abandoned",
                                  "answered_in_t", "abandoned_in_t", "wait_n", "handle_n", "comm_n")} == {
        "inbound": 10, "offered": 7, "answered": 4, "abandoned": 3, "short_abandoned": 1,
        "answered_in_t": 2,  # p1 p2
        "abandoned_in_t": 1,  # p5
        "wait_n": 4, "handle_n": 3, "comm_n": 3,
    }
    assert phone["wait_sum_s"] == pytest.approx(81.0)  # 10 + 20 + 21 + 30
    assert phone["handle_sum_s"] == pytest.approx(380.0)  # 120 + 200 + 60
    assert phone["comm_sum_s"] == pytest.approx(411.0)  # 110 + 220 + 81


RATIOS = {
    "answer_rate": ("answered", "offered"),
    "abandon_rate": ("abandoned", "offered"),
    "service_level": ("answered_in_t", "offered"),
    "asa": ("wait_sum_s", "wait_n"),
    "aht": ("handle_sum_s", "handle_n"),
    "communication_time": ("comm_sum_s", "comm_n"),
    "fcr": ("fcr_ok", "fcr_base"),
    "selfcare_rate": ("selfcare", "inbound"),
    "digital_rate": ("digital", "inbound"),
}


@pytest.mark.parametrize("dataset", ["basics", "fcr", "p90"])
def test_kpis_equal_num_over_den_of_their_counts(dataset: str, golden: Golden) -> None:
    con = golden(dataset)
    df = run_duck(con, Q(CONTACT_KPIS, by=("channel",), with_counts=True))
    for row in df.to_dict("records"):
        for kpi, (num, den) in RATIOS.items():
            if row[den] == 0:
                assert is_na(row[kpi]), (row["channel"], kpi)
            else:
                assert row[kpi] == pytest.approx(row[num] / row[den], rel=1e-12), (row["channel"], kpi)
        assert row["contacts_offered"] == row["offered"]
        assert row["contacts_answered"] == row["answered"]
        assert row["contacts_abandoned"] == row["abandoned"]
        assert row["short_abandons"] == row["short_abandoned"]
        assert (is_na(row["wait_p90"]) and is_na(row["wait_p90_s"])) or row["wait_p90"] == row["wait_p90_s"]


def test_partial_threshold_mapping(golden: Golden) -> None:
    """A library caller may pass only the channels it overrides (params.py: channels not
    listed have no threshold); phone is judged against the new T."""
    con = golden("basics")
    df = run_duck(con, Q(["service_level"], by=("channel",), params={"answer_threshold_s": {"phone": 21}}))
    phone = df[df.channel == "phone"]["service_level"].tolist()
    assert phone == [pytest.approx(3 / 7)]  # p1 10, p2 20, p3 21 (== T) / 7 offered


def test_threshold_given_as_text_like_the_cli(golden: Golden) -> None:
    con = golden("basics")
    df = run_duck(con, Q(["service_level"], params={"answer_threshold_s": {"phone": "9.5", "chat": "61", "email": "86400"}}))
    # phone: none of 10,20,21,30 <= 9.5; chat c1 60, c2 61; email e1 -> 3 / 13
    assert df["service_level"].tolist() == [pytest.approx(3 / 13)]


def test_date_filter_keeps_local_dates_inclusive(golden: Golden) -> None:
    con = golden("ratio")
    df = run_duck(con, Q(["contacts_offered"], start=date(2026, 3, 3), end=date(2026, 3, 3)))
    assert df["contacts_offered"].tolist() == [5]  # x2-x6; x1 is on 03-02
    df = run_duck(con, Q(["contacts_offered"], end=date(2026, 3, 2)))
    assert df["contacts_offered"].tolist() == [1]  # x1


# --------------------------------------------------------------------------- user errors


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        (Q(["answer_rat"]), "unknown KPI"),
        (Q(["nope_kpi"]), "unknown KPI"),
        (Q(["answer_rate"], by=("customer_id",)), "does not accept dimension"),
        (Q(["asa"], by=("created_at",)), "does not accept dimension"),
        (Q(["fcr"], by=("campaign",)), "does not accept dimension"),  # not a column of this warehouse
        (Q(["asa"], by=("channel", "channel")), "twice"),
        (Q(["asa"], params={"answer_threshold": 3}), "unknown KPI parameter"),
        (Q(["service_level"], params={"service_level_abandons": "sometimes"}), "service_level_abandons"),
        (Q(["asa"], params={"short_abandon_s": -1}), "short_abandon_s"),
        (Q(["asa"], tz="Mars/Olympus"), "time zone"),
        (Q(["asa"], start=date(2026, 3, 3), end=date(2026, 3, 2)), "after"),
        (Q([]), "KPI"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_user_errors(query: Any, fragment: str, golden: Golden) -> None:
    con = golden("ratio")
    with pytest.raises(UserError, match=fragment):
        run_duck(con, query)


@pytest.mark.parametrize(
    "dim", ["channel", "queue", "team", "site", "agent_id", "reason", "product", "segment", "language", "direction", "campaign"]
)
def test_every_contact_kpi_accepts_the_contact_dimensions_and_an_extra_column(dim: str, golden: Golden) -> None:
    con = golden("extra")
    df = run_duck(con, Q(CONTACT_KPIS, by=(dim,)))
    assert list(df.columns) == [dim, *CONTACT_KPIS]
    assert df["contacts_offered"].sum() == 4  # k1-k4 whatever the grouping


# --------------------------------------------------------------------------- inbound only, flags


def test_outbound_contacts_are_not_in_aht_or_communication_time(warehouses: Warehouses) -> None:
    con = warehouses.new("outbound")
    import_rows(con, warehouses.folder / "in", "outbound", [
        contact("i1", "phone", "2026-03-02T09:00:00Z", wait=20, talk=280),  # inbound: handle 280, comm 300
        contact("o1", "phone", "2026-03-02T10:00:00Z", wait=10, talk=590, direction="outbound"),  # not answered inbound
    ])
    df = run_duck(con, Q(["contacts_answered", "asa", "aht", "communication_time"]))
    # SPEC §3: aht and communication_time are means "over answered contacts with ended_at";
    # answered contacts = contacts_answered = inbound with answered_at = i1 only (asa agrees: 20)
    assert_rows(df, [dict(contacts_answered=1, asa=20.0, aht=280.0, communication_time=300.0)])


def test_transfer_and_conversion_rates_divide_by_contacts_answered(warehouses: Warehouses) -> None:
    con = warehouses.new("flags")
    import_rows(con, warehouses.folder / "in", "flags", [
        contact("f1", "phone", "2026-03-02T09:00:00Z", wait=10, transferred=True, converted=True),
        contact("f2", "phone", "2026-03-02T09:10:00Z", wait=10, transferred=False, converted=False),
        contact("f3", "phone", "2026-03-02T09:20:00Z", wait=10),  # flags not exported
        contact("f4", "phone", "2026-03-02T09:30:00Z", wait=10),
    ])
    df = run_duck(con, Q(["transfer_rate", "conversion_rate"]))
    # SPEC §3: transfer_rate = transferred / contacts_answered = f1 / 4 answered
    assert_rows(df, [dict(transfer_rate=0.25, conversion_rate=0.25)])


def test_flag_rates_are_null_when_no_answered_contact_carries_the_flag(warehouses: Warehouses) -> None:
    con = warehouses.new("noflags")
    import_rows(con, warehouses.folder / "in", "noflags", [
        contact("g1", "chat", "2026-03-02T09:00:00Z", wait=10),  # answered, flags not exported
        contact("g2", "phone", "2026-03-02T09:10:00Z", wait=10, transferred=False, converted=True),
    ])
    df = run_duck(con, Q(["contacts_answered", "transfer_rate", "conversion_rate"], by=("channel",)))
    assert_rows(df, [
        dict(channel="chat", contacts_answered=1, transfer_rate=NA, conversion_rate=NA),  # flag unknown: no figure
        dict(channel="phone", contacts_answered=1, transfer_rate=0.0, conversion_rate=1.0),  # 0 / 1 and 1 / 1
    ])
