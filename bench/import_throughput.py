"""Import throughput: cxkpi's validated import of a contacts CSV vs DuckDB's own read_csv.

Both run in a fresh subprocess on the same file in the same run, so the ratio compares
like with like on this machine; peak memory is each subprocess's maximum RSS.
Usage: python bench/import_throughput.py [--rows 10000000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

OUT = Path(__file__).parent / "out"

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
         'K' || (hash(i * 5) % 200000) AS customer_id,
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
) TO '{path}' (HEADER, DELIMITER ',')
"""

BASELINE = """
import duckdb, sys
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE contacts AS SELECT * FROM read_csv(?)", [sys.argv[2]])
print(con.execute("SELECT count(*) FROM contacts").fetchone()[0])
"""


def run(cmd: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in MB and stdout of a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(f"benchmark step failed: {' '.join(cmd)}\n{proc.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) // 1024, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="cxkpi-bench-", dir=OUT))
    csv_path = work / "contacts.csv"
    t0 = time.perf_counter()
    duckdb.connect().execute(GENERATE.format(rows=args.rows, path=csv_path))
    size_mb = csv_path.stat().st_size / 1e6
    print(f"generated {args.rows:,} rows ({size_mb:,.0f} MB) in {time.perf_counter() - t0:.1f} s", flush=True)

    base_s, base_mb, base_out = run([sys.executable, "-c", BASELINE, str(work / "baseline.duckdb"), str(csv_path)])
    cx = Path(sys.executable).with_name("cxkpi")
    cx_s, cx_mb, cx_out = run([str(cx), "--db", str(work / "cxkpi.duckdb"), "import", "contacts", str(csv_path),
                               "--format", "json", "--rejects-dir", str(work)])
    report = json.loads(cx_out)
    assert report["read"] == args.rows, report
    assert report["accepted"] + report["rejected"] == report["read"]
    result = {
        "rows": args.rows,
        "file_mb": round(size_mb, 1),
        "duckdb_read_csv_s": round(base_s, 2),
        "duckdb_read_csv_peak_mb": base_mb,
        "cxkpi_import_s": round(cx_s, 2),
        "cxkpi_import_peak_mb": cx_mb,
        "cxkpi_rows_per_s": round(args.rows / cx_s),
        "ratio_to_read_csv": round(cx_s / base_s, 2),
        "rejected": report["rejected"],
        "goal": "ratio <= 2, peak memory < 4096 MB",
    }
    print(json.dumps(result, indent=2))
    (OUT / "import_throughput.json").write_text(json.dumps(result, indent=2) + "\n")
    if not args.keep:
        for p in work.iterdir():
            p.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
