"""All benchmarks (make bench): each prints its figures and writes bench/out/*.json."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent

if __name__ == "__main__":
    for script in ("import_throughput.py",):
        subprocess.run([sys.executable, str(HERE / script), *sys.argv[1:]], check=True)
