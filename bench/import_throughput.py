"""Import throughput: a whole contacts file against DuckDB's read_csv, then an intraday load
into the warehouse it built against the same load into an empty warehouse.

Whole import. A contacts CSV with every column of the canonical contacts table
(``cxkpi.schema.tables.CONTACTS``): with ``--from-db DEMO.duckdb`` the first --rows contacts
(by time) of an existing warehouse exported with DuckDB's ``COPY ... TO`` (make bench passes
the scale-20 demo that kpi_catalogue.py builds, so the file holds the demo's own realistic mix
of channels, outcomes, customers and empty cells); otherwise generated here by DuckDB (a
customer pool of one customer per seven contacts, as in the demo, and 1 % of rows with an
invalid outcome, so the rejects path runs too). The file is imported with ``cxkpi import
contacts`` into an empty warehouse and read by DuckDB's ``read_csv`` into a table, each in a
fresh process in the same run: the ratio of the two times (goal <= 2) and each one's peak RSS
(goal: cxkpi's < 4 GB; bench/measure.py, so the process's own, never this script's).

Incremental import. What an intraday load costs once the warehouse is big, against the same
load into an empty warehouse (the baseline: parsing, checks and one transaction, with nothing
to relink). --incremental-rows (1,000) follow-up contacts from existing customers: one recent
contact (last 30 days) per customer, sampled, moved into the quarter-hour after the
warehouse's latest contact with its wait and handling durations kept, under new ids, written
with the big file's columns. So the importer's after-write steps touch what a real load
touches: the customers' links, their earlier contacts' next-contact columns, FCR censoring
that moves with the end of the data, the rollups of the days concerned. Each round (the next
quarter-hour each time) imports its file into the warehouse the whole import built and into a
new empty one, each with ``cxkpi --db X import contacts FILE --format json`` in a fresh
process; the best of --incremental-repeat rounds is kept for both the report's own
``seconds`` and the command's wall clock (start-up included): a ratio for each (goal <= 3).

Usage:
  python bench/import_throughput.py [--rows 10000000] [--from-db DEMO.duckdb]
                                    [--incremental-rows 1000] [--incremental-repeat 3] [--keep]
Writes bench/out/import_throughput.json (10 M rows) or import_throughput-r<rows>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
from measure import Measured, measure

OUT = Path(__file__).parent / "out"
CXKPI = Path(sys.executable).with_name("cxkpi")
GOALS = {"whole_over_read_csv_max": 2.0, "whole_peak_mb_max": 4096, "incremental_ratio_max": 3.0}
WINDOW_S = 900  # a quarter-hour: the follow-up contacts' span
RECENT_DAYS = 30  # follow-ups come from customers seen this recently (when there are enough)

GENERATE = """
COPY (
  WITH base AS (
    SELECT i,
           TIMESTAMP '2025-11-01 07:00:00' + to_seconds(i * 3 + CAST(hash(i) % 3 AS BIGINT)) AS created,
           CAST(hash(i * 7) % 600 AS BIGINT) AS wait_s,
           CAST(60 + hash(i * 13) % 900 AS BIGINT) AS talk_s,
           hash(i * 17) % 100 AS r
    FROM range({rows}) t(i))
  SELECT 'C' || i AS contact_id,
         ['phone','email','chat','video','social','web_form','sms','selfcare'][CAST(1 + hash(i * 3) % 8 AS BIGINT)] AS channel,
         strftime(created, '%Y-%m-%dT%H:%M:%S') || '+01:00' AS created_at,
         CASE WHEN r < 95 THEN 'inbound' ELSE 'outbound' END AS direction,
         'K' || (hash(i * 5) % {customers}) AS customer_id,
         'CASE' || (i // 2) AS case_id,
         'q' || (hash(i * 11) % 12) AS queue,
         'team' || (hash(i * 19) % 6) AS team,
         CASE WHEN hash(i * 23) % 3 = 0 THEN 'Rabat' ELSE 'Lyon' END AS site,
         CASE WHEN r < 85 THEN 'A' || (hash(i * 29) % 150) END AS agent_id,
         CASE WHEN r < 85 THEN strftime(created + to_seconds(wait_s), '%Y-%m-%dT%H:%M:%S') || '+01:00' END AS answered_at,
         strftime(created + to_seconds(wait_s + CASE WHEN r < 85 THEN talk_s ELSE 0 END), '%Y-%m-%dT%H:%M:%S') || '+01:00' AS ended_at,
         CASE WHEN r < 85 THEN hash(i) % 60 END AS hold_seconds,
         CASE WHEN r < 85 THEN hash(i * 31) % 120 END AS wrap_seconds,
         CASE WHEN r < 85 THEN 'answered' WHEN r = 99 THEN 'bogus' ELSE 'abandoned' END AS outcome,
         CASE WHEN r < 85 THEN (hash(i * 37) % 10 = 0) END AS transferred,
         CASE WHEN r < 85 THEN (hash(i * 41) % 10 < 8) END AS resolved,
         (hash(i * 43) % 20 = 0) AS converted,
         ['carte','virement','pret','compte','fraude'][CAST(1 + hash(i * 47) % 5 AS BIGINT)] AS reason,
         'P' || (hash(i * 53) % 8) AS product,
         ['particulier','professionnel','patrimonial'][CAST(1 + hash(i * 59) % 3 AS BIGINT)] AS segment,
         CASE WHEN hash(i * 61) % 10 = 0 THEN 'en' ELSE 'fr' END AS language
  FROM base
) TO {path} (HEADER, DELIMITER ',')
"""

EXPORT = "COPY (SELECT {select} FROM contacts ORDER BY created_at, contact_id LIMIT {rows}) TO {path} (HEADER, DELIMITER ',')"

FOLLOW_UP_POOL = """
  latest AS (SELECT max(created_at) AS t FROM contacts),
  pool AS (
    SELECT c.* FROM contacts c, latest
    WHERE c.customer_id IS NOT NULL AND c.created_at > latest.t - to_days({days})
    QUALIFY row_number() OVER (PARTITION BY c.customer_id ORDER BY hash(c.contact_id, {seed})) = 1)
"""

FOLLOW_UP = """
COPY (
  WITH {pool},
  picked AS (
    SELECT *, row_number() OVER (ORDER BY hash(contact_id, {seed}), contact_id) AS k FROM pool
    ORDER BY k LIMIT {rows}),
  moved AS (
    SELECT p.*, epoch(latest.t) + ceil(k * {window_s} / {rows}) - epoch(p.created_at) AS shift_s
    FROM picked p, latest)
  SELECT {select} FROM moved ORDER BY k
) TO {path} (HEADER, DELIMITER ',')
"""

BASELINE = """
import duckdb, sys
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE contacts AS SELECT * FROM read_csv(?)", [sys.argv[2]])
print(con.execute("SELECT count(*) FROM contacts").fetchone()[0])
"""


def run(cmd: list[str]) -> Measured:
    """Run a command in a fresh process (bench/measure.py: its own peak RSS, not this
    process's, which generating the file with DuckDB makes large); exits when it fails."""
    child = measure(cmd)
    if child.code:
        sys.exit(f"benchmark step failed ({child.code}): {' '.join(cmd)}\n{child.stderr[-4000:]}")
    return child


def sql_str(path: Path) -> str:
    """A path as a SQL string literal (COPY ... TO takes no parameter)."""
    return "'" + str(path).replace("'", "''") + "'"


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    """The one value a query answers."""
    row = con.execute(sql, params or []).fetchone()
    assert row is not None, sql
    return row[0]


def canonical() -> list[tuple[str, bool]]:
    """The canonical contacts columns, in order, each with whether it is a timestamp."""
    from cxkpi.schema.tables import CONTACTS, ColumnType

    return [(c.name, c.type is ColumnType.TIMESTAMP) for c in CONTACTS.columns]


def iso(expr: str) -> str:
    """SQL writing a TIMESTAMPTZ as ISO 8601 in UTC with its offset (NULL stays empty)."""
    return f"strftime(({expr}) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S') || '+00:00'"


def header(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as f:
        return f.readline().strip().split(",")


def generate_csv(path: Path, rows: int) -> int:
    """Write the generated file; its row count."""
    con = duckdb.connect()
    con.execute(GENERATE.format(rows=rows, customers=max(1000, rows // 7), path=sql_str(path)))
    con.close()
    return rows


def export_csv(db: Path, path: Path, rows: int) -> int:
    """Write the first ``rows`` contacts of warehouse ``db`` (by time) with the canonical columns;
    the row count written (fewer when the warehouse holds fewer)."""
    select = ", ".join(iso(name) + f" AS {name}" if ts else name for name, ts in canonical())
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return int(scalar(con, EXPORT.format(select=select, rows=rows, path=sql_str(path))))
    finally:
        con.close()


def follow_up_csv(db: Path, path: Path, rows: int, seed: int, columns: list[str]) -> dict[str, Any]:
    """Write ``rows`` follow-up contacts for the quarter-hour after the latest of ``db`` (read
    only); what was written: rows, the latest contact before them, the pool they came from."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        days = RECENT_DAYS
        pool = FOLLOW_UP_POOL.format(days=days, seed=seed)
        if scalar(con, f"WITH {pool} SELECT count(*) FROM pool") < rows:
            days = 1_000_000  # a small warehouse: its whole history
            pool = FOLLOW_UP_POOL.format(days=days, seed=seed)
        moved = {name: iso(f"to_timestamp(epoch({name}) + shift_s)") if ts else name for name, ts in canonical()}
        moved["contact_id"] = f"'FU{seed}-' || lpad(CAST(k AS VARCHAR), 6, '0')"
        select = ", ".join(f"{moved[c]} AS {c}" for c in columns)
        written = scalar(con, FOLLOW_UP.format(pool=pool, seed=seed, rows=rows, window_s=float(WINDOW_S),
                                               select=select, path=sql_str(path)))
        latest = scalar(con, "SELECT max(created_at) FROM contacts")
    finally:
        con.close()
    return {"rows": int(written), "after": latest, "pool_days": days if days == RECENT_DAYS else None}


def relinked(db: Path, after: Any, seed: int) -> int:
    """Earlier contacts whose next inbound contact is now one of round ``seed``'s follow-ups:
    evidence that the load touched the next-contact columns."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        sql = "SELECT count(*) FROM contacts WHERE next_inbound_at > ? AND contact_id NOT LIKE ?"
        return int(scalar(con, sql, [after, f"FU{seed}-%"]))
    finally:
        con.close()


def cxkpi_import(db: Path, csv_path: Path, rejects: Path) -> tuple[Measured, dict[str, Any]]:
    """``cxkpi --db DB import contacts FILE --format json`` in a fresh process: the process and its report."""
    child = run([str(CXKPI), "--db", str(db), "import", "contacts", str(csv_path), "--format", "json",
                 "--rejects-dir", str(rejects)])
    report = json.loads(child.stdout)
    assert report["accepted"] + report["rejected"] == report["read"], report
    return child, report


def remove_db(db: Path) -> None:
    db.unlink(missing_ok=True)
    Path(str(db) + ".wal").unlink(missing_ok=True)


def whole_import(work: Path, csv_path: Path, rows: int) -> tuple[dict[str, Any], Path]:
    """The file into an empty warehouse with cxkpi, and into a table with read_csv; the figures
    and the cxkpi warehouse (kept for the incremental import)."""
    base = run([sys.executable, "-c", BASELINE, str(work / "baseline.duckdb"), str(csv_path)])
    remove_db(work / "baseline.duckdb")
    print(f"read_csv: {base.wall_s:.1f} s, peak {base.peak_mb} MB", flush=True)
    db = work / "cxkpi.duckdb"
    cx, report = cxkpi_import(db, csv_path, work)
    print(f"cxkpi import: {cx.wall_s:.1f} s (report {report['seconds']:.1f} s), peak {cx.peak_mb} MB, "
          f"{report['rejected']:,} rejected", flush=True)
    assert report["read"] == rows, report
    ratio = cx.wall_s / base.wall_s
    return {
        "duckdb_read_csv_s": round(base.wall_s, 2),
        "duckdb_read_csv_peak_mb": base.peak_mb,
        "cxkpi_import_s": round(cx.wall_s, 2),
        "cxkpi_import_report_s": report["seconds"],
        "cxkpi_import_peak_mb": cx.peak_mb,
        "cxkpi_rows_per_s": round(rows / cx.wall_s),
        "ratio_to_read_csv": round(ratio, 2),
        "rejected": report["rejected"],
        "goal": "ratio <= 2, peak memory < 4096 MB",
        "goals_met": {"ratio_le_2": ratio <= GOALS["whole_over_read_csv_max"],
                      "peak_under_4GB": cx.peak_mb < GOALS["whole_peak_mb_max"]},
    }, db


def incremental_round(work: Path, big: Path, rows: int, seed: int, columns: list[str]) -> dict[str, dict[str, Any]]:
    """One round: the next quarter-hour's follow-ups into a new empty warehouse, then into ``big``."""
    csv_path = work / f"follow-up-{seed}.csv"
    written = follow_up_csv(big, csv_path, rows, seed, columns)
    empty = work / f"empty-{seed}.duckdb"
    out: dict[str, dict[str, Any]] = {}
    for label, db in (("empty", empty), ("big", big)):
        child, report = cxkpi_import(db, csv_path, work)
        assert report["new"] == written["rows"], report
        out[label] = {"report_s": report["seconds"], "wall_s": child.wall_s, "peak_mb": child.peak_mb}
    out["big"]["relinked_previous_contacts"] = relinked(big, written["after"], seed)
    out["file"] = {"rows": written["rows"], "after": str(written["after"]), "pool_days": written["pool_days"]}
    remove_db(empty)
    csv_path.unlink()
    return out


def best(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Best of the rounds for each time (the machine's noise only ever adds), largest peak."""
    return {"report_s": min(s["report_s"] for s in samples), "wall_s": round(min(s["wall_s"] for s in samples), 3),
            "peak_mb": max(s["peak_mb"] for s in samples),
            "samples_report_s": [s["report_s"] for s in samples],
            "samples_wall_s": [round(s["wall_s"], 3) for s in samples]}


def incremental(work: Path, big: Path, rows: int, repeat: int, columns: list[str]) -> dict[str, Any]:
    """--incremental-repeat rounds of the intraday load; best of each side and their ratios."""
    con = duckdb.connect(str(big), read_only=True)
    before = int(scalar(con, "SELECT count(*) FROM contacts"))
    con.close()
    rounds = []
    for seed in range(1, repeat + 1):
        r = incremental_round(work, big, rows, seed, columns)
        rounds.append(r)
        print(f"incremental round {seed}: {r['file']['rows']:,} follow-ups after {r['file']['after']}; "
              f"empty warehouse report {r['empty']['report_s']:.2f} s / wall {r['empty']['wall_s']:.2f} s, "
              f"{before:,}-contact warehouse report {r['big']['report_s']:.2f} s / wall {r['big']['wall_s']:.2f} s "
              f"(peak {r['big']['peak_mb']} MB, {r['big']['relinked_previous_contacts']:,} earlier contacts relinked)",
              flush=True)
    empty, big_ = best([r["empty"] for r in rounds]), best([r["big"] for r in rounds])
    big_["relinked_previous_contacts"] = [r["big"]["relinked_previous_contacts"] for r in rounds]
    report_ratio, wall_ratio = big_["report_s"] / empty["report_s"], big_["wall_s"] / empty["wall_s"]
    return {
        "rows": rows, "rounds": repeat, "window_s": WINDOW_S, "warehouse_contacts": before,
        "files": [r["file"] for r in rounds], "empty": empty, "big": big_,
        "ratio_report_s": round(report_ratio, 2), "ratio_wall_s": round(wall_ratio, 2),
        "goal": "both ratios <= 3",
        "goals_met": {"report_ratio_le_3": report_ratio <= GOALS["incremental_ratio_max"],
                      "wall_ratio_le_3": wall_ratio <= GOALS["incremental_ratio_max"]},
    }


def make_file(args: argparse.Namespace, csv_path: Path) -> tuple[int, str]:
    """The whole-import file, exported or generated; its rows and where it came from."""
    t0 = time.perf_counter()
    if args.from_db:
        rows, source = export_csv(args.from_db, csv_path, args.rows), f"export of {args.from_db}"
    else:
        rows, source = generate_csv(csv_path, args.rows), "generated"
    names = [n for n, _ in canonical()]
    assert header(csv_path) == names, f"{header(csv_path)} != canonical {names}"
    size_mb = csv_path.stat().st_size / 1e6
    print(f"{source}: {rows:,} rows, {len(names)} columns ({size_mb:,.0f} MB) in {time.perf_counter() - t0:.1f} s",
          flush=True)
    return rows, source


def summary(result: dict[str, Any]) -> None:
    """The figures the goals are about, one line each."""
    w, i = result, result.get("incremental")
    print(f"\nwhole import of {w['rows']:,} rows ({w['source']}): cxkpi {w['cxkpi_import_s']:.1f} s vs read_csv "
          f"{w['duckdb_read_csv_s']:.1f} s = {w['ratio_to_read_csv']:.2f}x (goal <= 2: "
          f"{'met' if w['goals_met']['ratio_le_2'] else 'MISSED'}); peak cxkpi {w['cxkpi_import_peak_mb']} MB "
          f"(goal < 4096: {'met' if w['goals_met']['peak_under_4GB'] else 'MISSED'}), read_csv {w['duckdb_read_csv_peak_mb']} MB")
    if i:
        g = i["goals_met"]
        print(f"incremental {i['rows']:,} rows into {i['warehouse_contacts']:,} contacts vs into an empty warehouse: "
              f"report {i['big']['report_s']:.2f} / {i['empty']['report_s']:.2f} s = {i['ratio_report_s']:.2f}x "
              f"({'met' if g['report_ratio_le_3'] else 'MISSED'}), wall {i['big']['wall_s']:.2f} / "
              f"{i['empty']['wall_s']:.2f} s = {i['ratio_wall_s']:.2f}x ({'met' if g['wall_ratio_le_3'] else 'MISSED'}; "
              f"goal <= 3 on both)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--from-db", type=Path, help="export the contacts of this warehouse instead of generating them")
    parser.add_argument("--incremental-rows", type=int, default=1000, help="follow-up contacts per load (0: skip)")
    parser.add_argument("--incremental-repeat", type=int, default=3, help="rounds of the incremental import; best kept")
    parser.add_argument("--keep", action="store_true", help="keep the files and warehouses")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="cxkpi-bench-", dir=OUT))
    try:
        csv_path = work / "contacts.csv"
        rows, source = make_file(args, csv_path)
        whole, db = whole_import(work, csv_path, rows)
        result: dict[str, Any] = {"rows": rows, "source": source, "file_mb": round(csv_path.stat().st_size / 1e6, 1),
                                  "columns": header(csv_path), **whole, "load_avg": os.getloadavg()[0]}
        if args.incremental_rows:
            result["incremental"] = incremental(work, db, args.incremental_rows, args.incremental_repeat,
                                                header(csv_path))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2, default=str))
    summary(result)
    name = "import_throughput.json" if args.rows == 10_000_000 else f"import_throughput-r{args.rows}.json"
    (OUT / name).write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"wrote {OUT / name}")


if __name__ == "__main__":
    main()
