"""Every rule of SPEC §2 and of the declarations in ``cxkpi.schema``, one golden case each.

Each rejection case writes three rows: a valid row (line 2), the broken row (line 3),
another valid row (line 4). The broken row must land in ``rejects`` with line 3, the
expected column and a reason; both valid rows must load.
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from cxkpi.config import UserError
from cxkpi.kpi.rollup_build import refresh_rollups
from cxkpi.schema import TABLES, ColumnType
from cxkpi.schema.tables import IfPresent, Implies, Literal, Order
from cxkpi.warehouse import open_warehouse

TS = "2026-03-05 10:00:00"


def base_row(table: str, i: int) -> dict[str, str]:
    """A fully valid row of ``table`` whose key depends on ``i``."""
    rows: dict[str, dict[str, str]] = {
        "contacts": {
            "contact_id": f"c{i}", "channel": "phone", "created_at": TS, "direction": "inbound",
            "customer_id": f"u{i}", "case_id": f"k{i}", "queue": "cards", "team": "T1", "site": "Lyon",
            "agent_id": "a1", "answered_at": "2026-03-05 10:00:20", "ended_at": "2026-03-05 10:05:00",
            "hold_seconds": "10", "wrap_seconds": "30.5", "outcome": "answered", "transferred": "false",
            "resolved": "true", "converted": "no", "reason": "card lost", "product": "visa",
            "segment": "retail", "language": "fr",
        },
        "cases": {
            "case_id": f"k{i}", "opened_at": TS, "closed_at": "2026-03-06 09:00:00", "customer_id": f"u{i}",
            "channel": "email", "status": "closed", "reason": "claim", "priority": "high", "team": "T1",
            "site": "Lyon", "agent_id": "a1",
        },
        "surveys": {
            "survey_id": f"s{i}", "responded_at": "2026-03-05 12:00:00", "sent_at": TS, "contact_id": f"c{i}",
            "customer_id": f"u{i}", "agent_id": "a1", "mode": "email", "csat": "4", "nps": "9", "ces": "2",
            "verbatim": "très bien", "language": "fr",
        },
        "evaluations": {
            "evaluation_id": f"e{i}", "agent_id": "a1", "evaluator_id": "q1", "evaluated_at": TS,
            "contact_id": f"c{i}", "mode": "cold", "criterion": "greeting", "score": "3", "max_score": "5",
            "weight": "2",
        },
        "agent_states": {"agent_id": f"a{i}", "state": "available", "start_at": TS, "end_at": "2026-03-05 10:30:00"},
        "customers": {"customer_id": f"u{i}", "segment": "retail", "acquired_at": "2020-01-01 00:00:00", "churned_at": TS},
        "customer_revenue": {"customer_id": f"u{i}", "period": "2026-03", "revenue": "12.5", "cost": "3"},
        "cashflows": {"date": "2026-03-05", "direction": "in", "category": "fees", "amount": f"10{i}.5", "team": "T1"},
        "loans": {"loan_id": f"l{i}", "customer_id": f"u{i}", "snapshot_date": "2026-03-31", "outstanding": "1000", "days_past_due": "0"},
    }
    return rows[table]


@pytest.fixture(scope="module")
def empty_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty warehouse with its (empty) rollups built, made once for the module.

    A brand-new warehouse has no rollups yet, so its first import rebuilds all of them
    whatever the table (most of the cost of these one-file cases); here each case imports
    into a copy of this one, as into any warehouse after its first import, and only the
    rollups reading the imported table are rebuilt. The rules checked are the same.
    """
    path = tmp_path_factory.mktemp("validation_rules") / "empty.duckdb"
    con = open_warehouse(path)
    try:
        refresh_rollups(con, "UTC")
    finally:
        con.close()
    return path


@pytest.fixture
def db_file(tmp_path: Path, empty_warehouse: Path) -> Path:
    """The ``wh`` fixture's file (conftest): a copy of ``empty_warehouse``."""
    path = tmp_path / "wh.duckdb"
    shutil.copyfile(empty_warehouse, path)
    return path


def key_of(table: str, row: dict[str, Any]) -> str:
    t = TABLES[table]
    return row[t.key[0]] if not t.derive_key_from else row["amount"]


def run_case(wh: Any, files: Any, table: str, override: dict[str, str]) -> tuple[Any, list[dict[str, Any]]]:
    bad = {**base_row(table, 99), **override}
    path = files.dict_csv(f"{table}.csv", [base_row(table, 1), bad, base_row(table, 2)])
    report = wh.import_(table, path)
    return report, wh.rejects(report.import_id)


def assert_one_reject(wh: Any, files: Any, table: str, override: dict[str, str], column: str, fragment: str) -> dict[str, Any]:
    report, rejects = run_case(wh, files, table, override)
    assert (report.read, report.accepted, report.rejected) == (3, 2, 1), rejects
    assert len(rejects) == 1
    r = rejects[0]
    assert r["line"] == 3
    assert r["column"] == column, r
    assert fragment in r["reason"], r
    assert r["table_name"] == table
    # the row as read: cells of the broken row, before any conversion
    raw = json.loads(r["raw"])
    for k, v in override.items():
        assert raw[k] == (v if v != "" else None)
    # the two valid rows load
    t = TABLES[table]
    col = t.key[0] if not t.derive_key_from else "amount"
    loaded = sorted(str(v) for (v,) in wh.all(f'SELECT CAST("{col}" AS VARCHAR) FROM "{table}"'))
    expected = sorted(str(float(key_of(table, base_row(table, i)))) if t.derive_key_from else key_of(table, base_row(table, i)) for i in (1, 2))
    assert loaded == expected
    return r


def assert_accepted(wh: Any, files: Any, table: str, override: dict[str, str]) -> None:
    report, rejects = run_case(wh, files, table, override)
    assert rejects == []
    assert (report.read, report.accepted, report.rejected) == (3, 3, 0)
    assert wh.count(table) == 3


# --------------------------------------------------------------------------- valid rows


@pytest.mark.parametrize("table", list(TABLES))
def test_a_fully_valid_row_loads(wh: Any, files: Any, table: str) -> None:
    row = base_row(table, 1)
    path = files.dict_csv(f"{table}.csv", [row])
    report = wh.import_(table, path)
    assert (report.read, report.accepted, report.rejected, report.new) == (1, 1, 0, 1)
    assert report.rejects_file is None
    assert wh.rejects() == []
    stored = wh.dicts(f'SELECT * FROM "{table}"')[0]
    for col in TABLES[table].columns:
        if col.name not in row:
            continue
        value, text = stored[col.name], row[col.name]
        if col.type is ColumnType.TEXT:
            assert value == text
        elif col.type in (ColumnType.NUMBER,):
            assert value == float(text)
        elif col.type is ColumnType.INTEGER:
            assert value == int(text)
        elif col.type is ColumnType.BOOL:
            assert value is (text in ("true", "yes"))
        elif col.type is ColumnType.TIMESTAMP:
            assert value == datetime.fromisoformat(text).replace(tzinfo=UTC)
        elif col.type is ColumnType.DATE:
            assert value == date.fromisoformat(text)
        elif col.type is ColumnType.MONTH:
            assert value == date.fromisoformat(text + "-01")


def test_valid_contact_row_values(wh: Any, files: Any) -> None:
    path = files.dict_csv("c.csv", [base_row("contacts", 1)])
    wh.import_("contacts", path)
    got = wh.dicts("SELECT * FROM contacts")[0]
    assert got["created_at"] == datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
    assert got["answered_at"] == datetime(2026, 3, 5, 10, 0, 20, tzinfo=UTC)
    assert got["wrap_seconds"] == 30.5
    assert (got["transferred"], got["resolved"], got["converted"]) == (False, True, False)
    assert got["_import_id"] is not None


# --------------------------------------------------------------------------- required


def _required_cases() -> list[Any]:
    out = []
    for t in TABLES.values():
        for c in t.columns:
            if c.required and c.default is None and not (c.name in t.key and t.derive_key_from):
                out.append(pytest.param(t.name, c.name, id=f"{t.name}.{c.name}"))
    return out


@pytest.mark.parametrize(("table", "column"), _required_cases())
def test_required_cell_missing_is_rejected(wh: Any, files: Any, table: str, column: str) -> None:
    assert_one_reject(wh, files, table, {column: ""}, column, f"{column}: missing (required)")


@pytest.mark.parametrize(("table", "column"), _required_cases())
def test_required_column_absent_from_the_file_is_a_user_error(wh: Any, files: Any, table: str, column: str) -> None:
    row = {k: v for k, v in base_row(table, 1).items() if k != column}
    path = files.dict_csv(f"{table}.csv", [row])
    with pytest.raises(UserError, match=f"no column '{column}', required for {table}"):
        wh.import_(table, path)
    assert wh.count(table) == 0
    assert wh.scalar("SELECT count(*) FROM import_log") == 0


def test_every_table_has_required_cases() -> None:
    tables = {p.values[0] for p in _required_cases()}
    assert tables == set(TABLES)



def test_whitespace_only_required_id_is_missing(wh: Any, files: Any) -> None:
    assert_one_reject(wh, files, "contacts", {"contact_id": "   "}, "contact_id", "contact_id: missing (required)")


# --------------------------------------------------------------------------- types

BAD_VALUE = {
    ColumnType.NUMBER: ("abc", "is not a number"),
    ColumnType.INTEGER: ("4.5", "is not a whole number"),
    ColumnType.BOOL: ("maybe", "is not a boolean"),
    ColumnType.DATE: ("2026-02-30", "is not a date"),
    ColumnType.MONTH: ("2026-13", "is not a month"),
    ColumnType.TIMESTAMP: ("yesterday", "is not a timestamp"),
}


def _typed_cases() -> list[Any]:
    return [
        pytest.param(t.name, c.name, *BAD_VALUE[c.type], id=f"{t.name}.{c.name}:{c.type.value}")
        for t in TABLES.values()
        for c in t.columns
        if c.type is not ColumnType.TEXT
    ]


@pytest.mark.parametrize(("table", "column", "bad", "fragment"), _typed_cases())
def test_unparsable_cell_is_rejected(wh: Any, files: Any, table: str, column: str, bad: str, fragment: str) -> None:
    r = assert_one_reject(wh, files, table, {column: bad}, column, fragment)
    assert r["reason"].startswith(f"{column}: '{bad}'")


@pytest.mark.parametrize(
    ("table", "column", "bad", "fragment"),
    [
        ("surveys", "csat", "four", "is not a whole number"),
        ("loans", "days_past_due", "1e400", "is not a whole number"),
        ("contacts", "hold_seconds", "nan", "is not a number"),
        ("contacts", "hold_seconds", "inf", "is not a number"),
        ("contacts", "hold_seconds", "12,5", "is not a number"),  # decimal comma only with ';' files
        ("contacts", "transferred", "2", "is not a boolean"),
        ("cashflows", "date", "05/03/2026", "is not a date"),
        ("customer_revenue", "period", "2026-3", "is not a month"),
        ("customer_revenue", "period", "2026-03-15", "is not a month"),  # a date inside the month is not a month
        ("contacts", "created_at", "2026-02-30 10:00:00", "is not a timestamp"),
        ("contacts", "created_at", "05/03/2026 10:00", "is not a timestamp"),
        ("contacts", "created_at", "2026-03-05 25:00:00", "is not a timestamp"),
    ],
)
def test_more_unparsable_cells(wh: Any, files: Any, table: str, column: str, bad: str, fragment: str) -> None:
    assert_one_reject(wh, files, table, {column: bad}, column, fragment)


@pytest.mark.parametrize(
    ("table", "column", "text", "stored"),
    [
        ("surveys", "csat", "4.0", 4),
        ("surveys", "nps", "10", 10),
        ("contacts", "hold_seconds", "1e2", 100.0),
        ("contacts", "hold_seconds", "0.25", 0.25),
        ("customer_revenue", "revenue", "-12.5", -12.5),  # no bound: negative revenue is a refund
        ("cashflows", "date", "2026-02-28", date(2026, 2, 28)),
        ("customer_revenue", "period", "2026-02", date(2026, 2, 1)),
        ("customer_revenue", "period", "2026-02-01", date(2026, 2, 1)),  # first day of the month, as dates exports write it
        ("contacts", "created_at", "2026-03-05T10:00:00", datetime(2026, 3, 5, 10, 0, tzinfo=UTC)),
        ("contacts", "created_at", "2026-03-05 10:00", datetime(2026, 3, 5, 10, 0, tzinfo=UTC)),
    ],
)
def test_parsable_cells_are_stored_typed(wh: Any, files: Any, table: str, column: str, text: str, stored: Any) -> None:
    override = {column: text}
    if table == "contacts" and column == "created_at":
        override |= {"answered_at": "", "ended_at": "", "outcome": ""}
    assert_accepted(wh, files, table, override)
    t = TABLES[table]
    if t.derive_key_from:
        assert stored in [r[0] for r in wh.all(f'SELECT "{column}" FROM "{table}"')]
    else:
        key = t.key[0]
        value = wh.scalar(f'SELECT "{column}" FROM "{table}" WHERE "{key}" = ?', [base_row(table, 99)[key]])
        assert value == stored


@pytest.mark.parametrize(("text", "value"), [
    ("true", True), ("false", False), ("1", True), ("0", False), ("yes", True), ("no", False),
    ("oui", True), ("non", False), ("TRUE", True), ("Oui", True), ("NON", False),
])
def test_boolean_words(wh: Any, files: Any, text: str, value: bool) -> None:
    assert_accepted(wh, files, "contacts", {"transferred": text})
    assert wh.scalar("SELECT transferred FROM contacts WHERE contact_id = 'c99'") is value


# --------------------------------------------------------------------------- choices


def _choice_cases() -> list[Any]:
    return [
        pytest.param(t.name, c.name, id=f"{t.name}.{c.name}")
        for t in TABLES.values()
        for c in t.columns
        if c.choices
    ]


@pytest.mark.parametrize(("table", "column"), _choice_cases())
def test_value_outside_the_vocabulary_is_rejected(wh: Any, files: Any, table: str, column: str) -> None:
    override = {column: "bogus"}
    r = assert_one_reject(wh, files, table, override, column, f"{column}: 'bogus' is not one of")
    choices = TABLES[table].column(column).choices
    assert choices is not None
    assert ", ".join(choices) in r["reason"]


def _every_choice() -> list[Any]:
    return [
        pytest.param(t.name, c.name, v, id=f"{t.name}.{c.name}={v}")
        for t in TABLES.values()
        for c in t.columns
        if c.choices
        for v in c.choices
    ]


@pytest.mark.parametrize(("table", "column", "value"), _every_choice())
def test_every_declared_choice_is_accepted(wh: Any, files: Any, table: str, column: str, value: str) -> None:
    override = {column: value}
    if table == "contacts" and column == "outcome" and value == "abandoned":
        override["answered_at"] = ""
    assert_accepted(wh, files, table, override)


def test_choices_are_case_insensitive_and_stored_lower_case(wh: Any, files: Any) -> None:
    assert_accepted(wh, files, "contacts", {"channel": "Phone", "direction": "INBOUND", "outcome": "Answered"})
    assert wh.all("SELECT channel, direction, outcome FROM contacts WHERE contact_id = 'c99'") == [("phone", "inbound", "answered")]


def test_channel_is_required_and_closed(wh: Any, files: Any) -> None:
    assert_one_reject(wh, files, "contacts", {"channel": "fax"}, "channel", "channel: 'fax' is not one of phone, email")


# --------------------------------------------------------------------------- bounds


def _fmt(x: float) -> str:
    return f"{x:g}"


def _bound_cases() -> tuple[list[Any], list[Any]]:
    rejected, accepted = [], []
    for t in TABLES.values():
        for c in t.columns:
            step = 1
            if c.minimum is not None:
                rejected.append(pytest.param(t.name, c.name, _fmt(c.minimum - step), "is below", id=f"{t.name}.{c.name}<min"))
                accepted.append(pytest.param(t.name, c.name, _fmt(c.minimum), id=f"{t.name}.{c.name}=min"))
            if c.maximum is not None:
                rejected.append(pytest.param(t.name, c.name, _fmt(c.maximum + step), "is above", id=f"{t.name}.{c.name}>max"))
                accepted.append(pytest.param(t.name, c.name, _fmt(c.maximum), id=f"{t.name}.{c.name}=max"))
            if c.above is not None:
                rejected.append(pytest.param(t.name, c.name, _fmt(c.above), "must be above", id=f"{t.name}.{c.name}=above"))
                rejected.append(pytest.param(t.name, c.name, _fmt(c.above - 1), "must be above", id=f"{t.name}.{c.name}<above"))
    return rejected, accepted


@pytest.mark.parametrize(("table", "column", "value", "fragment"), _bound_cases()[0])
def test_value_out_of_bounds_is_rejected(wh: Any, files: Any, table: str, column: str, value: str, fragment: str) -> None:
    assert_one_reject(wh, files, table, {column: value}, column, f"{column}: '{value}' {fragment}")


@pytest.mark.parametrize(("table", "column", "value"), _bound_cases()[1])
def test_bound_exactly_met_is_accepted(wh: Any, files: Any, table: str, column: str, value: str) -> None:
    override = {column: value}
    if table == "evaluations" and column == "score":
        override["max_score"] = "5"
    assert_accepted(wh, files, table, override)


@pytest.mark.parametrize(("value", "ok"), [("0", False), ("1", True), ("5", True), ("6", False), ("3", True), ("-1", False)])
def test_csat_scale(wh: Any, files: Any, value: str, ok: bool) -> None:
    if ok:
        assert_accepted(wh, files, "surveys", {"csat": value})
        assert wh.scalar("SELECT csat FROM surveys WHERE survey_id = 's99'") == int(value)
    else:
        assert_one_reject(wh, files, "surveys", {"csat": value}, "csat", "csat:")


def test_max_score_zero_rejected_and_small_positive_accepted(wh: Any, files: Any) -> None:
    assert_one_reject(wh, files, "evaluations", {"max_score": "0", "score": "0"}, "max_score", "max_score: '0' must be above 0")


def test_max_score_just_above_zero_accepted(wh: Any, files: Any) -> None:
    assert_accepted(wh, files, "evaluations", {"max_score": "0.001", "score": "0"})


def test_the_spec_bounds_are_declared() -> None:
    surveys = TABLES["surveys"]
    assert (surveys.column("csat").minimum, surveys.column("csat").maximum) == (1, 5)
    assert (surveys.column("nps").minimum, surveys.column("nps").maximum) == (0, 10)
    assert (surveys.column("ces").minimum, surveys.column("ces").maximum) == (1, 7)
    assert TABLES["contacts"].column("hold_seconds").minimum == 0
    assert TABLES["contacts"].column("wrap_seconds").minimum == 0
    assert TABLES["cashflows"].column("amount").minimum == 0
    assert TABLES["evaluations"].column("max_score").above == 0


# --------------------------------------------------------------------------- order rules

EARLY, LATE = "2026-03-05 10:00:00", "2026-03-05 09:59:59"

ORDER_CASES = [
    # (table, before, after, override that breaks only this rule)
    ("contacts", "created_at", "answered_at", {"created_at": EARLY, "answered_at": LATE, "ended_at": "2026-03-05 10:05:00"}),
    ("contacts", "answered_at", "ended_at", {"created_at": EARLY, "answered_at": "2026-03-05 10:00:20", "ended_at": "2026-03-05 10:00:10"}),
    ("contacts", "created_at", "ended_at", {"created_at": EARLY, "answered_at": "", "outcome": "abandoned", "ended_at": LATE}),
    ("cases", "opened_at", "closed_at", {"opened_at": EARLY, "closed_at": LATE}),
    ("surveys", "sent_at", "responded_at", {"sent_at": EARLY, "responded_at": LATE}),
    ("evaluations", "score", "max_score", {"score": "6", "max_score": "5"}),
    ("agent_states", "start_at", "end_at", {"start_at": EARLY, "end_at": LATE}),
    ("customers", "acquired_at", "churned_at", {"acquired_at": EARLY, "churned_at": LATE}),
]


@pytest.mark.parametrize(("table", "before", "after", "override"), ORDER_CASES, ids=[f"{c[0]}:{c[1]}>{c[2]}" for c in ORDER_CASES])
def test_order_rule_broken_is_rejected(wh: Any, files: Any, table: str, before: str, after: str, override: dict[str, str]) -> None:
    r = assert_one_reject(wh, files, table, override, after, f"{after}: before {before}")
    assert ";" not in r["reason"]  # only this rule is broken


EQUAL_CASES = [
    ("contacts", {"created_at": EARLY, "answered_at": EARLY, "ended_at": EARLY}),
    ("cases", {"opened_at": EARLY, "closed_at": EARLY}),
    ("surveys", {"sent_at": EARLY, "responded_at": EARLY}),
    ("evaluations", {"score": "5", "max_score": "5"}),
    ("agent_states", {"start_at": EARLY, "end_at": EARLY}),
    ("customers", {"acquired_at": EARLY, "churned_at": EARLY}),
]


@pytest.mark.parametrize(("table", "override"), EQUAL_CASES, ids=[c[0] for c in EQUAL_CASES])
def test_order_rule_with_equal_values_is_accepted(wh: Any, files: Any, table: str, override: dict[str, str]) -> None:
    assert_accepted(wh, files, table, override)


@pytest.mark.parametrize(("table", "override"), [
    ("contacts", {"answered_at": "", "ended_at": "", "outcome": ""}),
    ("cases", {"closed_at": ""}),
    ("surveys", {"responded_at": ""}),
    ("customers", {"acquired_at": "", "churned_at": ""}),
    ("customers", {"churned_at": ""}),
], ids=["contacts", "cases-open", "surveys-unanswered", "customers-no-dates", "customers-active"])
def test_order_rule_skipped_when_one_side_is_empty(wh: Any, files: Any, table: str, override: dict[str, str]) -> None:
    assert_accepted(wh, files, table, override)


def test_order_compares_instants_not_texts(wh: Any, files: Any) -> None:
    # 10:30+02:00 is 08:30Z, after created_at 08:00Z although its text sorts before
    assert_accepted(wh, files, "contacts", {
        "created_at": "2026-03-05T08:00:00Z", "answered_at": "2026-03-05T10:30:00+02:00", "ended_at": "2026-03-05T09:00:00Z",
    })


def test_every_order_rule_has_a_case() -> None:
    declared = {(t.name, r.before, r.after) for t in TABLES.values() for r in t.rules if isinstance(r, Order)}
    assert declared == {(c[0], c[1], c[2]) for c in ORDER_CASES}


# --------------------------------------------------------------------------- implies rules

IMPLIES_CASES = [
    ("answered", {"outcome": "answered", "answered_at": "", "ended_at": ""}, "answered_at: missing while outcome is answered"),
    ("abandoned", {"outcome": "abandoned"}, "answered_at: present while outcome is abandoned"),
]


@pytest.mark.parametrize(("value", "override", "fragment"), IMPLIES_CASES, ids=[c[0] for c in IMPLIES_CASES])
def test_implies_rule_broken_is_rejected(wh: Any, files: Any, value: str, override: dict[str, str], fragment: str) -> None:
    assert_one_reject(wh, files, "contacts", override, "answered_at", fragment)


@pytest.mark.parametrize("override", [
    {"outcome": "deflected", "answered_at": "", "ended_at": ""},
    {"outcome": "callback", "answered_at": "", "ended_at": ""},
    {"outcome": "callback"},
    {"outcome": "abandoned", "answered_at": ""},
])
def test_outcomes_without_implication(wh: Any, files: Any, override: dict[str, str]) -> None:
    assert_accepted(wh, files, "contacts", override)


def test_every_implies_rule_has_a_case() -> None:
    declared = {tuple(r.values) for t in TABLES.values() for r in t.rules if isinstance(r, Implies)}
    assert declared == {(c[0],) for c in IMPLIES_CASES}


# --------------------------------------------------------------------------- defaults


def test_declared_defaults() -> None:
    defaults = {(t.name, c.name): c.default for t in TABLES.values() for c in t.columns if c.default is not None}
    assert defaults == {
        ("contacts", "direction"): Literal("inbound"),
        ("contacts", "outcome"): IfPresent("answered_at", "answered", "abandoned"),
        ("evaluations", "weight"): Literal("1"),
    }


def test_contact_defaults_when_cells_are_empty(wh: Any, files: Any) -> None:
    rows = [
        {**base_row("contacts", 1), "direction": "", "outcome": ""},
        {**base_row("contacts", 2), "direction": "", "outcome": "", "answered_at": "", "ended_at": ""},
        {**base_row("contacts", 3), "direction": "outbound", "outcome": "callback"},
    ]
    wh.import_("contacts", files.dict_csv("c.csv", rows))
    assert wh.all("SELECT contact_id, direction, outcome FROM contacts ORDER BY contact_id") == [
        ("c1", "inbound", "answered"), ("c2", "inbound", "abandoned"), ("c3", "outbound", "callback"),
    ]


def test_contact_defaults_when_columns_are_absent(wh: Any, files: Any) -> None:
    path = files.csv("c.csv", ["contact_id", "channel", "created_at", "answered_at"], [
        ["c1", "chat", TS, "2026-03-05 10:01:00"],
        ["c2", "chat", TS, ""],
    ])
    report = wh.import_("contacts", path)
    assert report.accepted == 2
    assert wh.all("SELECT contact_id, direction, outcome FROM contacts ORDER BY 1") == [
        ("c1", "inbound", "answered"), ("c2", "inbound", "abandoned"),
    ]


def test_a_derived_outcome_is_not_checked_against_a_bad_answered_at(wh: Any, files: Any) -> None:
    # answered_at unparsable: the row is rejected for that, not for the derived outcome
    r = assert_one_reject(wh, files, "contacts", {"answered_at": "soon", "outcome": ""}, "answered_at", "answered_at: 'soon' is not a timestamp")
    assert "outcome" not in r["reason"]


def test_evaluation_weight_defaults_to_one(wh: Any, files: Any) -> None:
    rows = [{**base_row("evaluations", 1), "weight": ""}, {**base_row("evaluations", 2), "weight": "0.5"}]
    wh.import_("evaluations", files.dict_csv("e.csv", rows))
    assert wh.all("SELECT evaluation_id, weight FROM evaluations ORDER BY 1") == [("e1", 1.0), ("e2", 0.5)]
    no_col = [{k: v for k, v in base_row("evaluations", 3).items() if k != "weight"}]
    wh.import_("evaluations", files.dict_csv("e2.csv", no_col))
    assert wh.scalar("SELECT weight FROM evaluations WHERE evaluation_id = 'e3'") == 1.0


def test_cashflow_id_is_derived_when_absent_and_kept_when_given(wh: Any, files: Any) -> None:
    same = base_row("cashflows", 1)
    path = files.dict_csv("f.csv", [same, same, {**base_row("cashflows", 2), "cashflow_id": "CF-7"}])
    report = wh.import_("cashflows", path)
    assert (report.accepted, report.rejected) == (3, 0)  # identical rows stay distinct by rank
    ids = [r[0] for r in wh.all("SELECT cashflow_id FROM cashflows ORDER BY amount, cashflow_id")]
    assert ids[2] == "CF-7"
    assert all(ids) and len(set(ids)) == 3


# --------------------------------------------------------------------------- duplicates


def test_duplicate_key_in_a_file_rejects_the_later_row(wh: Any, files: Any) -> None:
    rows = [base_row("contacts", 1), base_row("contacts", 2), {**base_row("contacts", 1), "channel": "chat"}]
    report = wh.import_("contacts", files.dict_csv("c.csv", rows))
    assert (report.read, report.accepted, report.rejected) == (3, 2, 1)
    [r] = wh.rejects()
    assert r["line"] == 4
    assert r["column"] == "contact_id"
    assert r["reason"] == "contact_id: duplicate 'c1' (first at line 2)"
    assert wh.all("SELECT contact_id, channel FROM contacts ORDER BY 1") == [("c1", "phone"), ("c2", "phone")]


def test_duplicate_of_a_composite_key(wh: Any, files: Any) -> None:
    e = base_row("evaluations", 1)
    rows = [e, {**e, "criterion": "closing"}, {**e, "score": "1"}]
    report = wh.import_("evaluations", files.dict_csv("e.csv", rows))
    assert (report.accepted, report.rejected) == (2, 1)
    [r] = wh.rejects()
    assert r["line"] == 4
    assert r["reason"] == "evaluation_id/criterion: duplicate 'e1, greeting' (first at line 2)"


def test_duplicate_line_counts_rows_set_aside_before(wh: Any, files: Any) -> None:
    text = (
        "contact_id,channel,created_at\n"
        "x1,phone\n"          # line 2: structural reject
        "c1,phone,2026-03-05 10:00:00\n"  # line 3
        "c2,fax,2026-03-05 10:00:00\n"    # line 4: invalid
        "c1,chat,2026-03-05 11:00:00\n"   # line 5: duplicate of line 3
    )
    report = wh.import_("contacts", files.text("c.csv", text))
    assert (report.read, report.accepted, report.rejected) == (4, 1, 3)
    by_line = {r["line"]: r["reason"] for r in wh.rejects()}
    assert set(by_line) == {2, 4, 5}
    assert by_line[5] == "contact_id: duplicate 'c1' (first at line 3)"


def test_duplicate_of_a_rejected_row_is_not_a_duplicate(wh: Any, files: Any) -> None:
    rows = [{**base_row("contacts", 1), "channel": "fax"}, base_row("contacts", 1)]
    report = wh.import_("contacts", files.dict_csv("c.csv", rows))
    assert (report.accepted, report.rejected) == (1, 1)
    [r] = wh.rejects()
    assert (r["line"], r["column"]) == (2, "channel")
    assert wh.all("SELECT contact_id, channel FROM contacts") == [("c1", "phone")]


def test_keys_are_compared_exactly(wh: Any, files: Any) -> None:
    rows = [base_row("contacts", 1), {**base_row("contacts", 1), "contact_id": "C1"}]
    report = wh.import_("contacts", files.dict_csv("c.csv", rows))
    assert (report.accepted, report.rejected) == (2, 0)



def test_duplicate_raw_is_the_row_as_read(wh: Any, files: Any) -> None:
    rows = [
        {"contact_id": "c1", "channel": "phone", "created_at": "2026-03-05 10:00", "note": "first"},
        {"contact_id": "c1", "channel": "phone", "created_at": "2026-03-05 11:00", "note": "second"},
    ]
    wh.import_("contacts", files.dict_csv("c.csv", rows), source_tz="Europe/Paris")
    [r] = wh.rejects()
    assert json.loads(r["raw"]) == rows[1]


# --------------------------------------------------------------------------- rejects table and file


def test_every_reject_is_recorded_with_line_column_reason_and_raw(wh: Any, files: Any) -> None:
    good = base_row("contacts", 1)
    rows = [
        good,                                                     # 2 ok
        {**base_row("contacts", 2), "channel": ""},               # 3 required
        {**base_row("contacts", 3), "hold_seconds": "-5"},        # 4 bound
        base_row("contacts", 4),                                  # 5 ok
        {**base_row("contacts", 5), "created_at": "never"},       # 6 type
        {**base_row("contacts", 6), "outcome": "lost"},           # 7 choice
        {**base_row("contacts", 7), "ended_at": "2026-03-05 10:00:01"},  # 8 order
        base_row("contacts", 8),                                  # 9 ok
        {**base_row("contacts", 9), "wrap_seconds": "-1", "transferred": "perhaps"},  # 10 two reasons
        {**base_row("contacts", 4), "channel": "chat"},           # 11 duplicate
    ]
    path = files.dict_csv("c.csv", rows)
    report = wh.import_("contacts", path)
    assert (report.read, report.accepted, report.rejected) == (10, 3, 7)
    assert report.accepted + report.rejected == report.read
    got = [(r["line"], r["column"]) for r in wh.rejects()]
    assert got == [(3, "channel"), (4, "hold_seconds"), (6, "created_at"), (7, "outcome"), (8, "ended_at"),
                   (10, "wrap_seconds"), (11, "contact_id")]
    rejects = wh.rejects()
    assert all(r["reason"] and r["file"] == str(path) and r["table_name"] == "contacts" for r in rejects)
    assert rejects[5]["reason"].count(";") == 1  # both problems of line 10 are named
    assert "transferred: 'perhaps'" in rejects[5]["reason"]
    assert json.loads(rejects[2]["raw"])["created_at"] == "never"
    assert sorted(r[0] for r in wh.all("SELECT contact_id FROM contacts")) == ["c1", "c4", "c8"]
    # the rejects file mirrors the table
    assert report.rejects_file == str(path) + ".rejects.csv"
    with open(report.rejects_file, encoding="utf-8", newline="") as fh:
        written = list(csv.reader(fh))
    assert written[0] == ["line", "column", "reason", "raw"]
    assert [(int(r[0]), r[1]) for r in written[1:]] == got
    assert [r[2] for r in written[1:]] == [r["reason"] for r in rejects]
    # the import log agrees
    log = wh.dicts("SELECT * FROM import_log")[0]
    assert (log["rows_read"], log["rows_accepted"], log["rows_rejected"]) == (10, 3, 7)
    assert log["rejects_file"] == report.rejects_file


def test_rejects_dir_option(wh: Any, files: Any, tmp_path: Any) -> None:
    path = files.dict_csv("c.csv", [{**base_row("contacts", 1), "channel": "fax"}])
    report = wh.import_("contacts", path, rejects_dir=tmp_path / "out")
    assert report.rejects_file == str(tmp_path / "out" / "c.csv.rejects.csv")
    assert (tmp_path / "out" / "c.csv.rejects.csv").read_text(encoding="utf-8").startswith("line,column,reason,raw")


def test_a_long_cell_is_cut_in_the_reason_but_whole_in_raw(wh: Any, files: Any) -> None:
    long = "x" * 500
    r = assert_one_reject(wh, files, "contacts", {"channel": long}, "channel", "is not one of")
    assert len(r["reason"]) < 300
    assert json.loads(r["raw"])["channel"] == long


@pytest.mark.parametrize("text", ["2026-03-05 14:32:00", "2026-03-05T23:30:00-05:00"])
def test_a_date_with_a_time_is_not_silently_truncated(wh: Any, files: Any, text: str) -> None:
    assert_one_reject(wh, files, "loans", {"snapshot_date": text}, "snapshot_date", "is not a date")


def test_a_date_at_midnight_is_a_date(wh: Any, files: Any) -> None:
    # what a spreadsheet date cell looks like once read as text
    assert_accepted(wh, files, "loans", {"snapshot_date": "2026-03-31 00:00:00"})
    assert wh.scalar("SELECT snapshot_date FROM loans WHERE loan_id = 'l99'") == date(2026, 3, 31)
