"""All benchmarks (make bench): each prints its figures and writes bench/out/*.json.

Arguments are forwarded to import_throughput.py (as before); kpi_catalogue.py runs with its
defaults (scale 20, ~10M contacts: several minutes). Name benchmarks to run only those:
``python bench/run.py kpi_catalogue`` (then no argument is forwarded).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHES = ("import_throughput", "kpi_catalogue")

if __name__ == "__main__":
    named = [a for a in sys.argv[1:] if a in BENCHES]
    if named:
        for name in named:
            subprocess.run([sys.executable, str(HERE / f"{name}.py")], check=True)
    else:
        subprocess.run([sys.executable, str(HERE / "import_throughput.py"), *sys.argv[1:]], check=True)
        subprocess.run([sys.executable, str(HERE / "kpi_catalogue.py")], check=True)
