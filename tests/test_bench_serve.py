"""bench/serve_load.py end to end at a tiny scale: a demo, the real server, both locust phases.

Locust (and gevent's monkeypatching) only ever run in the benchmark's own subprocesses.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "serve_load.py"


@pytest.mark.slow
def test_serve_load_runs_both_phases_without_failures(tmp_path: Path) -> None:
    if importlib.util.find_spec("locust") is None:  # looked up, never imported here
        pytest.fail("locust is not installed: it is pinned in the test extra (pip install -e '.[test]')")
    out = tmp_path / "serve_load.json"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--scale", "0.02", "--users", "3", "--seconds", "3", "--max-views", "4",
         "--out", str(out)],
        capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert {"warehouse", "mix", "server_start_s", "cold", "baseline", "overview", "failures",
            "ratio_p95_overview_vs_baseline"} <= result.keys()
    assert result["warehouse"]["contacts"] > 0 and result["warehouse"]["scale"] == 0.02
    cold = result["cold"]
    assert cold["views"] == 4 and len(cold["per_view"]) == 4
    assert 0 < cold["cold_ms"]["min"] <= cold["cold_ms"]["median"] <= cold["cold_ms"]["max"]
    for phase in ("baseline", "overview"):
        stats = result[phase]
        assert {"requests", "failures", "rps", "p50_ms", "p95_ms", "p99_ms"} <= stats.keys()
        assert stats["failures"] == 0
        assert stats["requests"] > 0 and stats["rps"] > 0
        assert stats["p50_ms"] <= stats["p95_ms"] <= stats["p99_ms"]
    assert result["failures"] == 0
    assert result["ratio_p95_overview_vs_baseline"] > 0
    assert result["server_exit"] == 0
