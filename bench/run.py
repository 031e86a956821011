"""All benchmarks (make bench): each prints its figures and writes bench/out/*.json.

startup.py runs first (a scale-0.02 demo, seconds). Arguments are forwarded to
import_throughput.py (as before); kpi_catalogue.py runs with its
defaults (scale 20, ~10M contacts: several minutes) and keeps its demo warehouse for
serve_load.py (``cxkpi serve`` under 20 locust users, 30 s per phase, on a copy of that same
warehouse: built once), which is removed afterwards. Name benchmarks to run only those:
``python bench/run.py kpi_catalogue`` (then no argument is forwarded, and serve_load.py
builds its own scale-20 demo).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "out"
BENCHES = ("startup", "import_throughput", "kpi_catalogue", "serve_load")


def catalogue_then_serve_load() -> None:
    """kpi_catalogue.py --keep, then serve_load.py on the warehouse it built, then its folder removed."""
    OUT.mkdir(exist_ok=True)
    before = set(OUT.glob("kpi-catalogue-*"))
    try:
        subprocess.run([sys.executable, str(HERE / "kpi_catalogue.py"), "--keep"], check=True)
        kept = sorted(set(OUT.glob("kpi-catalogue-*")) - before)
        built = [db for d in kept for db in d.glob("demo-s*.duckdb")]
        serve = [sys.executable, str(HERE / "serve_load.py")]
        subprocess.run([*serve, "--db", str(built[0])] if len(built) == 1 else serve, check=True)
    finally:
        for d in set(OUT.glob("kpi-catalogue-*")) - before:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    named = [a for a in sys.argv[1:] if a in BENCHES]
    if named:
        for name in named:
            subprocess.run([sys.executable, str(HERE / f"{name}.py")], check=True)
    else:
        subprocess.run([sys.executable, str(HERE / "startup.py")], check=True)
        subprocess.run([sys.executable, str(HERE / "import_throughput.py"), *sys.argv[1:]], check=True)
        catalogue_then_serve_load()
