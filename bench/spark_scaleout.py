"""Scale-out: the same KPI definitions on Spark, from the warehouse exported as Parquet.

Exports a warehouse with ``cxkpi export`` (timed), then computes the same KPIs by channel
and day three ways, each in a fresh process: DuckDB from the rows (rollups off: the like
for like), DuckDB as served (rollups on), and Spark in local mode over the Parquet files
(``--master``, default ``local[2]``: this machine's two cores; on a cluster, pass its
master URL and a shared folder). The answers must agree (1e-9 relative); the figures are
each computation's time (the engine's start-up apart: a Spark session takes seconds to
start), its ratio to DuckDB from the rows, and the Parquet size.

Usage: python bench/spark_scaleout.py --db WAREHOUSE.duckdb [--master local[2]] [--kpis a,b,...]
Writes bench/out/spark_scaleout.json.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "out"
CXKPI = Path(sys.executable).with_name("cxkpi")
KPIS = ("contacts_offered", "answer_rate", "abandon_rate", "service_level", "asa", "aht", "fcr", "transfer_rate")

WORKER = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
from cxkpi.kpi import Grain, KpiQuery, compute
from cxkpi.warehouse.engines import duckdb_engine, spark_engine
db, how, data, master, kpis, out = sys.argv[1:7]
t0 = time.perf_counter()
q = KpiQuery(kpis=tuple(kpis.split(",")), by=("channel",), grain=Grain.DAY, tz="Europe/Paris", use_rollups=how == "duckdb_rollups")
if how == "spark":
    engine = spark_engine(master, __import__("pathlib").Path(data))
else:
    import duckdb
    con = duckdb.connect(db, read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    engine = duckdb_engine(con)
ready = time.perf_counter()
frame = compute(engine, q)
seconds = time.perf_counter() - ready
frame.to_json(out, orient="records", date_format="iso")
print(json.dumps({"seconds": round(seconds, 2), "setup_s": round(ready - t0, 2), "rows": len(frame)}))
"""


def run(args: list[str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(f"failed: {' '.join(args[:4])}...\n{proc.stderr[-2000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    result["wall_s"] = round(time.perf_counter() - t0, 2)
    return result


def null(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def same(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    """The same groups and values (floats to 1e-9 relative, nulls where nulls)."""
    def key(r: dict[str, Any]) -> tuple[str, str]:
        return str(r.get("channel")), str(r.get("period"))
    a, b = sorted(a, key=key), sorted(b, key=key)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        for col in x:
            u, v = x[col], y.get(col)
            if null(u) or null(v):
                if not (null(u) and null(v)):
                    return False
            elif isinstance(u, float) or isinstance(v, float):
                if not math.isclose(float(u), float(v), rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif str(u) != str(v):
                return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--kpis", default=",".join(KPIS))
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="cxkpi-spark-", dir=OUT))
    try:
        data = work / "parquet"
        t0 = time.perf_counter()
        subprocess.run([str(CXKPI), "--db", str(args.db), "export", str(data)], check=True, capture_output=True)
        export_s = time.perf_counter() - t0
        parquet_mb = sum(p.stat().st_size for p in data.rglob("*") if p.is_file()) / 1e6
        runs: dict[str, dict[str, Any]] = {}
        answers: dict[str, list[dict[str, Any]]] = {}
        for how in ("duckdb_rows", "duckdb_rollups", "spark"):
            out = work / f"{how}.json"
            runs[how] = run([sys.executable, "-c", WORKER, str(args.db), how, str(data), args.master, args.kpis, str(out)])
            answers[how] = json.loads(out.read_text())
            print(how, runs[how], flush=True)
        base = runs["duckdb_rows"]["seconds"]
        result = {
            "db": str(args.db),
            "master": args.master,
            "kpis": args.kpis.split(","),
            "export_s": round(export_s, 1),
            "parquet_mb": round(parquet_mb, 1),
            "runs": runs,
            "ratio_to_duckdb_rows": {k: round(v["seconds"] / base, 2) for k, v in runs.items()},
            "spark_equals_duckdb": same(answers["spark"], answers["duckdb_rows"]),
            "rollups_equal_rows": same(answers["duckdb_rollups"], answers["duckdb_rows"]),
        }
        print(json.dumps(result, indent=2))
        (OUT / "spark_scaleout.json").write_text(json.dumps(result, indent=2) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
