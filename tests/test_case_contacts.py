"""cases.contact_count, kept at import, equals the contacts linked to each case, whatever
the order and overlap of the imports; the KPIs read the same figures as counting at query time."""

from __future__ import annotations

from pathlib import Path

from cxkpi.service.imports import import_file
from cxkpi.kpi import KpiQuery, compute
from cxkpi.kpi.output import records
from cxkpi.warehouse import open_warehouse
from cxkpi.warehouse.engines import duckdb_engine

CASES = "case_id,opened_at,closed_at\nK1,2026-03-02T09:00:00Z,2026-03-03T09:00:00Z\nK2,2026-03-02T09:00:00Z,2026-03-04T09:00:00Z\nK3,2026-03-02T09:00:00Z,2026-03-05T09:00:00Z\n"
HEADER = "contact_id,channel,created_at,case_id\n"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _counts(con: object) -> dict[str, int | None]:
    return dict(con.execute("SELECT case_id, contact_count FROM cases ORDER BY case_id").fetchall())  # type: ignore[attr-defined]


def test_contact_counts_follow_every_import(tmp_path: Path) -> None:
    con = open_warehouse(tmp_path / "w.duckdb")
    # contacts before their cases: counted when the cases arrive
    import_file(con, "contacts", _write(tmp_path, "a.csv", HEADER + "c1,phone,2026-03-02T09:00:00Z,K1\nc2,chat,2026-03-02T10:00:00Z,K1\nc3,email,2026-03-02T11:00:00Z,K2\n"))
    import_file(con, "cases", _write(tmp_path, "cases.csv", CASES))
    assert _counts(con) == {"K1": 2, "K2": 1, "K3": 0}
    # an overlapping export moves c2 to K3 and adds c4 to K2
    import_file(con, "contacts", _write(tmp_path, "b.csv", HEADER + "c2,chat,2026-03-02T10:00:00Z,K3\nc4,sms,2026-03-02T12:00:00Z,K2\n"))
    assert _counts(con) == {"K1": 1, "K2": 2, "K3": 1}
    # a changed case keeps its count; a contact losing its case leaves it
    import_file(con, "cases", _write(tmp_path, "cases2.csv", CASES.replace("2026-03-05T09:00:00Z", "2026-03-06T09:00:00Z")))
    import_file(con, "contacts", _write(tmp_path, "c.csv", HEADER + "c3,email,2026-03-02T11:00:00Z,\n"))
    assert _counts(con) == {"K1": 1, "K2": 1, "K3": 1}
    # the KPIs read the stored counts as they would count at query time
    engine = duckdb_engine(con)
    q = KpiQuery(kpis=("once_and_done_rate", "contacts_per_case"), with_counts=True)
    stored = records(compute(engine, q))
    con.execute("CREATE TABLE cases_plain AS SELECT * EXCLUDE (contact_count) FROM cases")
    con.execute("ALTER TABLE cases RENAME TO cases_kept")
    con.execute("ALTER TABLE cases_plain RENAME TO cases")
    counted = records(compute(duckdb_engine(con), q))
    assert stored == counted == [
        {"once_and_done_rate": 1.0, "contacts_per_case": 1.0, "cases_one_contact": 3, "cases_closed": 3, "case_contacts": 3}
    ]
    con.close()
