"""Start-up: wall time of short ``cxkpi`` commands, against ``python -c "import duckdb"``.

Each command runs as a fresh subprocess (interpreter start-up, imports, the work, exit), once
to warm the page cache and the bytecode caches, then --runs times in interleaved rounds; the
median is reported, with the minimum and the maximum, in seconds and as a ratio to the
baseline (the floor of any cxkpi command: Python plus DuckDB's import).

  baseline  python -c "import duckdb"
  help      cxkpi --help
  tables    cxkpi --db WH tables
  kpi       cxkpi --db WH kpi contacts_offered

WH is a small demo warehouse (``cxkpi --db WH demo --scale 0.02``, built into a temporary
folder under bench/out and removed afterwards), or the warehouse given with --db (opened by
``tables`` and ``kpi`` only, which never write to it... but use a copy to be sure).

Goals: help and tables < 0.3 s, kpi < 1 s (medians). ``--check`` exits 1 when one is missed.

Usage:
  python bench/startup.py [--runs 11] [--scale 0.02 | --db EXISTING.duckdb] [--check] [--out FILE]
Writes bench/out/startup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
GOALS_S = {"help": 0.3, "tables": 0.3, "kpi": 1.0}


def cxkpi_command() -> list[str]:
    """The venv's console script beside this interpreter, else the same entry point via ``-c``."""
    script = Path(sys.executable).with_name("cxkpi")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; sys.argv[0] = 'cxkpi'; from cxkpi.cli.main import run; run()"]


def timed(cmd: list[str], cwd: Path) -> float:
    """Wall seconds of one run of ``cmd`` (which must succeed)."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "120"})
    seconds = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(f"benchmark step failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return seconds


def build_demo(cx: list[str], db: Path, scale: float) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([*cx, "--db", str(db), "demo", "--scale", str(scale)], cwd=db.parent,
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(f"the demo build failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return time.perf_counter() - t0


def measure(commands: dict[str, list[str]], runs: int, cwd: Path) -> dict[str, list[float]]:
    """One warm-up run of each command, then ``runs`` interleaved rounds."""
    for cmd in commands.values():
        timed(cmd, cwd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            times[name].append(timed(cmd, cwd))
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=11, help="timed runs of each command (the median is reported)")
    ap.add_argument("--scale", type=float, default=0.02, help="scale of the demo warehouse built for tables and kpi")
    ap.add_argument("--db", type=Path, help="use this existing warehouse instead of building a demo")
    ap.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    ap.add_argument("--out", type=Path, default=OUT / "startup.json")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")

    cx = cxkpi_command()
    OUT.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="startup-", dir=OUT))
    try:
        demo_s = None
        if args.db is not None:
            db = args.db.resolve()
            if not db.exists():
                sys.exit(f"no warehouse at {db}")
        else:
            db = work / "startup.duckdb"
            demo_s = build_demo(cx, db, args.scale)
            print(f"built a scale-{args.scale:g} demo warehouse in {demo_s:.1f} s", flush=True)
        commands = {
            "baseline": [sys.executable, "-c", "import duckdb"],
            "help": [*cx, "--help"],
            "tables": [*cx, "--db", str(db), "tables"],
            "kpi": [*cx, "--db", str(db), "kpi", "contacts_offered"],
        }
        times = measure(commands, args.runs, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    base = statistics.median(times["baseline"])
    rows: dict[str, dict[str, object]] = {}
    for name, ts in times.items():
        median = statistics.median(ts)
        goal = GOALS_S.get(name)
        rows[name] = {
            "command": " ".join(Path(c).name if i == 0 else c for i, c in enumerate(commands[name])),
            "median_s": round(median, 3),
            "min_s": round(min(ts), 3),
            "max_s": round(max(ts), 3),
            "ratio_to_baseline": round(median / base, 2),
            "goal_s": goal,
            "goal_met": None if goal is None else median < goal,
        }

    print(f"\nmedian of {args.runs} runs each (after one warm-up run), baseline = python -c \"import duckdb\"")
    print(f"{'':10} {'median s':>9} {'min s':>7} {'max s':>7} {'x baseline':>11} {'goal':>8}")
    for name, r in rows.items():
        verdict = "" if r["goal_s"] is None else f"< {r['goal_s']:g} s " + ("ok" if r["goal_met"] else "MISSED")
        print(f"{name:10} {r['median_s']:>9.3f} {r['min_s']:>7.3f} {r['max_s']:>7.3f} {r['ratio_to_baseline']:>10.2f}x  {verdict}")

    result = {
        "runs": args.runs,
        "warehouse": {"db": str(args.db) if args.db else None, "scale": None if args.db else args.scale,
                      "demo_build_s": None if demo_s is None else round(demo_s, 1)},
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "commands": rows,
        "goal": "help and tables < 0.3 s, kpi < 1 s (medians)",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {args.out}")
    if args.check and not all(r["goal_met"] for r in rows.values() if r["goal_met"] is not None):
        sys.exit(1)


if __name__ == "__main__":
    main()
