"""Real export formats through the shipped mappings, checked against the facts of each SOURCE.md.

The data stay in ../shared/datasets (their licences forbid shipping them); these tests
read them in place and write rejects into a temporary folder.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from cxkpi.service.imports import import_file
from cxkpi.warehouse import open_warehouse

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
BANK = DATASETS / "anonymous-bank-1999"
PHONENOW = DATASETS / "pwc-phonenow-synthetic" / "Call-Center-Dataset.csv"

pytestmark = pytest.mark.skipif(not DATASETS.exists(), reason="shared datasets are not beside the repository")


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    c = open_warehouse(tmp_path / "w.duckdb")
    yield c
    c.close()


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    assert row is not None
    return int(row[0])


# (file, rows, AGENT, HANG, PHANTOM, malformed) from SOURCE.md; its outcome counts leave
# out October's two malformed rows
MONTHS = [
    ("january.txt", 31_599, 27_060, 4_299, 240, 0),
    ("february.txt", 33_344, 27_162, 5_904, 278, 0),
    ("october.txt", 34_625, 30_861, 3_615, 147, 2),
    ("august_converted_from_ods.txt", 42_078, 31_402, 10_366, 310, 0),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "rows", "agent", "hang", "phantom", "malformed"), MONTHS)
def test_anonymous_bank_month(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, name: str, rows: int, agent: int, hang: int, phantom: int, malformed: int
) -> None:
    report = import_file(con, "contacts", BANK / name, mapping="anonymous-bank", rejects_dir=tmp_path)
    assert report.read == rows
    assert report.accepted + report.rejected == report.read
    assert _count(con, "SELECT count(*) FROM contacts") == report.accepted
    phantoms = _count(con, "SELECT count(*) FROM rejects WHERE reason LIKE 'outcome: PHANTOM%'")
    assert phantoms == phantom
    # every non-phantom row is either loaded or set aside for a stated inconsistency
    answered = _count(con, "SELECT count(*) FROM contacts WHERE outcome = 'answered'")
    abandoned = _count(con, "SELECT count(*) FROM contacts WHERE outcome = 'abandoned'")
    others = report.rejected - phantoms
    assert answered + abandoned + others == agent + hang + malformed
    assert _count(con, "SELECT count(*) FROM rejects WHERE reason LIKE 'unreadable record%'") == malformed
    assert answered <= agent and abandoned <= hang
    # dirty rows are a small minority, each with a line, a column and a reason
    assert others < 0.01 * rows
    assert _count(con, "SELECT count(*) FROM rejects WHERE line IS NULL OR reason IS NULL OR reason = ''") == 0
    assert (tmp_path / f"{name}.rejects.csv").exists()
    # times: stored in UTC from Israel time; every contact on the month's dates (or the next night)
    assert _count(con, "SELECT count(*) FROM contacts WHERE NOT (created_at <= answered_at OR answered_at IS NULL)") == 0


@pytest.mark.slow
def test_anonymous_bank_october_malformed_rows(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    import_file(con, "contacts", BANK / "october.txt", mapping="anonymous-bank", rejects_dir=tmp_path)
    rows = con.execute(
        "SELECT line, reason FROM rejects WHERE reason LIKE 'unreadable record%' ORDER BY line"
    ).fetchall()
    assert [r[0] for r in rows] == [7315, 14247]
    assert all("fewer cells" in r[1] for r in rows)
    # a row after a malformed one keeps its own line number: line 7316 is call 3893
    row = con.execute("SELECT contact_id FROM contacts WHERE contact_id = '991026-AA0108-3893'").fetchone()
    assert row is not None
    bad = con.execute("SELECT line FROM rejects WHERE raw LIKE '%\"call_id\":\"3891\"%' AND raw LIKE '%AA0108%'").fetchall()
    assert bad == []  # 3891 (line 7314) is a clean row


@pytest.mark.slow
def test_anonymous_bank_times(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """Line 4 of January: AGENT call queued 6:55:26-6:55:43 (Israel, UTC+2), served 54 s."""
    import_file(con, "contacts", BANK / "january.txt", mapping="anonymous-bank", rejects_dir=tmp_path)
    row = con.execute(
        """SELECT strftime(created_at, '%Y-%m-%d %H:%M:%S'), epoch(answered_at) - epoch(created_at),
                  epoch(ended_at) - epoch(answered_at), agent_id, customer_id, queue, segment, outcome
           FROM contacts WHERE contact_id = '990101-AA0101-33118'"""
    ).fetchone()
    assert row == ("1999-01-01 04:55:26", 17.0, 54.0, "MICHAL", "27997683", "regular", "priority", "answered")
    # customer 0 means unidentified: no customer_id
    assert _count(con, "SELECT count(*) FROM contacts WHERE customer_id = '0'") == 0
    # re-import: nothing changes
    again = import_file(con, "contacts", BANK / "january.txt", mapping="anonymous-bank", rejects_dir=tmp_path)
    assert (again.new, again.changed) == (0, 0)
    assert again.unchanged == again.accepted


def test_phonenow_answer_key(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """SOURCE.md: 4,054 answered, 946 abandoned, 3,646 resolved; ASA 67.52 s over answered
    calls; talk 224.9 s; CSAT mean 3.4036 over answered calls."""
    report = import_file(con, "contacts", PHONENOW, mapping="phonenow", rejects_dir=tmp_path)
    assert (report.read, report.accepted, report.rejected) == (5000, 5000, 0)
    answered, abandoned, resolved, asa, talk = con.execute(
        """SELECT count(*) FILTER (WHERE outcome = 'answered'), count(*) FILTER (WHERE outcome = 'abandoned'),
                  count(*) FILTER (WHERE resolved),
                  avg(epoch(answered_at) - epoch(created_at)) FILTER (WHERE outcome = 'answered'),
                  avg(epoch(ended_at) - epoch(answered_at)) FILTER (WHERE outcome = 'answered')
           FROM contacts"""
    ).fetchone()
    assert (answered, abandoned, resolved) == (4054, 946, 3646)
    assert asa == pytest.approx(67.52, abs=0.005)
    assert talk == pytest.approx(224.9, abs=0.05)
    surveys = import_file(con, "surveys", PHONENOW, mapping="phonenow-surveys", rejects_dir=tmp_path)
    assert (surveys.accepted, surveys.rejected) == (4054, 946)
    mean = con.execute("SELECT avg(csat) FROM surveys").fetchone()
    assert mean is not None and mean[0] == pytest.approx(3.4036, abs=0.00005)
