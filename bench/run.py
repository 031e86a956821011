"""All benchmarks (make bench): each prints its figures and writes bench/out/*.json.

startup.py runs first (a scale-0.02 demo, seconds). kpi_catalogue.py then runs with its
defaults (scale 20, ~10M contacts: several minutes; its JSON and printout carry that demo
build's time and peak RSS, goal < 2 GB) and keeps its demo warehouse, which the two
benchmarks after it reuse instead of building their own:

- import_throughput.py exports the demo's first 10 M contacts (every canonical column) as the
  file of its whole import (cxkpi import against DuckDB's read_csv, time ratio and peak RSS),
  then times 1,000-row intraday imports (the next quarter-hour, existing customers) into the
  10 M-contact warehouse that import built, against the same into an empty warehouse;
- serve_load.py serves a copy of it (``cxkpi serve`` under 20 locust users, 30 s per phase).

The demo is removed afterwards. Arguments are forwarded to import_throughput.py (e.g.
``--rows N``). A benchmark that fails does not stop the others; the exit status says so.
Name benchmarks to run only those: ``python bench/run.py kpi_catalogue`` (then no argument is
forwarded, import_throughput.py generates its file and serve_load.py builds its own scale-20
demo).

Not run by make bench (100 M contacts, far longer): the catalogue at scale 200,
``python bench/kpi_catalogue.py --scale 200``: the whole catalogue by channel and day and by
agent and month, each timed (goal < 60 s on 2 cores), the demo build's time and peak RSS
beside, and the catalogue with rollups checked equal to the raw computation over a few sampled
days; writes bench/out/kpi_catalogue-s200.json.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "out"
BENCHES = ("startup", "import_throughput", "kpi_catalogue", "serve_load")


def bench(name: str, *args: str) -> bool:
    """Run bench/NAME.py with ``args``; whether it succeeded (a failure is reported, not raised)."""
    ok = subprocess.run([sys.executable, str(HERE / f"{name}.py"), *args], check=False).returncode == 0
    if not ok:
        print(f"benchmark {name} FAILED", file=sys.stderr, flush=True)
    return ok


def on_one_demo(forwarded: list[str]) -> bool:
    """kpi_catalogue.py --keep, then import_throughput.py and serve_load.py on the demo it built
    (one scale-20 build for all three), then its folder removed; whether all succeeded."""
    OUT.mkdir(exist_ok=True)
    before = set(OUT.glob("kpi-catalogue-*"))
    try:
        ok = bench("kpi_catalogue", "--keep")
        kept = sorted(set(OUT.glob("kpi-catalogue-*")) - before)
        built = [db for d in kept for db in d.glob("demo-s*.duckdb")]
        demo = [str(built[0])] if len(built) == 1 else []
        ok &= bench("import_throughput", *(["--from-db", *demo] if demo else []), *forwarded)
        ok &= bench("serve_load", *(["--db", *demo] if demo else []))
        return ok
    finally:
        for d in set(OUT.glob("kpi-catalogue-*")) - before:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    named = [a for a in sys.argv[1:] if a in BENCHES]
    if named:
        results = [bench(name) for name in named]
    else:
        results = [bench("startup"), on_one_demo(sys.argv[1:])]
    sys.exit(0 if all(results) else 1)
