"""Serve load: ``cxkpi serve`` under concurrent API users (locust), overview vs a trivial baseline.

Runs the real server (``cxkpi --db COPY serve``) as a subprocess on a free loopback port over
a copy of the warehouse (``--db``: the original is never opened for writing) or a demo built
into a temporary folder (``--scale``), with a bench manager user and an API token added to
the copy. Then:

  cold      each distinct overview view of the mix requested once, sequentially, before
            any load: the uncached cost (the KPI engine over the daily rollups); min, median,
            max over the views; then once more (``warm``: the server's per-version cache);
  baseline  ``GET /api/me`` (token check, no KPI) by --users locust users for --seconds;
  overview  ``GET /api/overview`` by --users locust users for --seconds, half the requests on
            the default view (latest month, no filter), the rest spread over the other views
            (week/day grains, older dates, channel and team filters): see ``overview_views``.

Locust runs headless as a subprocess (``python -m locust -f bench/locustfile.py``: gevent and
its monkeypatching stay there), users without think time (closed loop: the figures are the
server's capacity and its latency at that concurrency). Per phase: requests, failures,
requests/s, p50/p95/p99 (ms, locust's rounding: 2 significant digits above 100 ms), and the
CPU seconds of the server and of the locust process. Requests still in flight when a phase
ends are dropped by locust (not counted): when requests take seconds, read p95/p99 as lower
bounds. ``cold.warm_over_cold_median`` checks the result cache (a hit should be a small
fraction of a first request). The run fails (exit 1) on any failed request.

Usage:
  python bench/serve_load.py [--scale 20 | --db EXISTING.duckdb] [--users 20] [--seconds 30] [--out FILE]
Writes bench/out/serve_load.json (scale 20, the one make bench builds) or serve_load-s<scale>.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
LOCUSTFILE = HERE / "locustfile.py"
BENCH_USER = "bench-load"
CHANNELS = ("phone", "email", "chat")
N_DAYS = 5
N_TEAMS = 4

# ------------------------------------------------------------------- the mix (shared with the locustfile)


def overview_views(days: list[str], teams: list[str]) -> list[tuple[int, dict[str, str]]]:
    """(weight, query parameters) of every distinct overview view of the load.

    The default view (no parameter: the month of the latest data) takes half the weight;
    the others are the latest week and day, the channel filters phone/email/chat (month and
    week), the team filters, and month/week/day views anchored on each of ``days``.
    """
    views: list[tuple[int, dict[str, str]]] = [(0, {})]
    views += [(3, {"grain": g}) for g in ("week", "day")]
    views += [(3, {"channel": ch}) for ch in CHANNELS]
    views += [(1, {"grain": "week", "channel": ch}) for ch in CHANNELS]
    views += [(2, {"team": t}) for t in teams]
    views += [(1, {"grain": g, "date": d}) for d in days for g in ("month", "week", "day")]
    views[0] = (sum(w for w, _ in views), {})
    return views


def views_from_env() -> list[tuple[int, dict[str, str]]]:
    """The mix from CXKPI_BENCH_DAYS (comma-separated ISO dates) and CXKPI_BENCH_TEAMS (a JSON list),
    or exactly the views of CXKPI_BENCH_VIEWS (a JSON list of [weight, parameters]) when set."""
    if os.environ.get("CXKPI_BENCH_VIEWS"):
        return [(int(w), {str(k): str(v) for k, v in p.items()}) for w, p in json.loads(os.environ["CXKPI_BENCH_VIEWS"])]
    days = [d.strip() for d in os.environ.get("CXKPI_BENCH_DAYS", "").split(",") if d.strip()]
    teams = json.loads(os.environ.get("CXKPI_BENCH_TEAMS") or "[]")
    return overview_views(days, [str(t) for t in teams])


def overview_path(params: dict[str, str]) -> str:
    return "/api/overview" + ("?" + urlencode(params) if params else "")


# ------------------------------------------------------------------------------- the warehouse


def cxkpi_command() -> list[str]:
    script = Path(sys.executable).with_name("cxkpi")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; sys.argv[0] = 'cxkpi'; from cxkpi.cli.main import run; run()"]


def build(db: Path, scale: float) -> float:
    print(f"building demo warehouse at scale {scale:g} ...", flush=True)
    t0 = time.perf_counter()
    done = subprocess.run([*cxkpi_command(), "--db", str(db), "demo", "--scale", f"{scale:g}"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"demo build failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return time.perf_counter() - t0


def copy_warehouse(src: Path, dst: Path) -> None:
    if not src.is_file():
        raise SystemExit(f"no warehouse at {src}")
    shutil.copyfile(src, dst)
    wal = Path(f"{src}.wal")
    if wal.exists():
        shutil.copyfile(wal, Path(f"{dst}.wal"))


def prepare(db: Path, n_teams: int) -> dict[str, Any]:
    """Add the bench manager and its token to ``db``; its size, scale, data span and busiest teams."""
    import secrets

    from cxkpi.access.tokens import create_token
    from cxkpi.access.users import Role, add_user
    from cxkpi.warehouse.connection import open_warehouse

    con = open_warehouse(db)
    try:
        add_user(con, BENCH_USER, secrets.token_urlsafe(24), Role.MANAGER)
        token = create_token(con, BENCH_USER, "serve_load bench")
        contacts, first, last = con.execute(
            "SELECT count(*), min(created_at)::DATE, max(created_at)::DATE FROM contacts").fetchone() or (0, None, None)
        teams = [r[0] for r in con.execute(
            "SELECT team FROM contacts WHERE team IS NOT NULL GROUP BY team ORDER BY count(*) DESC, team LIMIT ?",
            [n_teams]).fetchall()]
        row = con.execute("SELECT value FROM warehouse_config WHERE key = 'demo_scale'").fetchone()
        scale = float(row[0]) if row else None
    finally:
        con.close()
    if not contacts or first is None or last is None:
        raise SystemExit(f"{db}: no contacts to serve")
    return {"token": token, "contacts": int(contacts), "first_day": first, "last_day": last, "teams": teams,
            "scale": scale}


def bench_days(first: date, last: date, n: int = N_DAYS) -> list[str]:
    """``n`` days spread over the data before the latest month, each in a month of its own when the span allows."""
    step = max(1, min(45, (last - first).days // (n + 1)))
    days: list[str] = []
    for i in range(1, n + 1):
        d = last - timedelta(days=step * i)
        if d >= first and d.isoformat() not in days:
            days.append(d.isoformat())
    return days


# ------------------------------------------------------------------------------------ the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, token: str, timeout: float = 600.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as e:
        return int(e.code), e.read()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a running process (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Server:
    """``cxkpi --db DB serve`` on a free loopback port, stopped with SIGINT (uvicorn's clean shutdown)."""

    def __init__(self, db: Path, token: str, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = token
        self.log_path = log
        self.log = log.open("wb")
        self.proc = subprocess.Popen([*cxkpi_command(), "--db", str(db), "serve", "--host", "127.0.0.1",
                                      "--port", str(self.port)], stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 600.0) -> float:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise SystemExit(f"cxkpi serve exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                status, body = get(self.url + "/api/me", self.token, timeout=5)
                if status == 200:
                    return time.perf_counter() - t0
                raise SystemExit(f"GET /api/me answered {status}: {body[:300]!r}")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        raise SystemExit(f"cxkpi serve did not answer within {timeout:.0f} s:\n{self.tail()}")

    def cpu(self) -> float | None:
        return cpu_seconds(self.proc.pid)

    def tail(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self.log.close()
        return self.proc.returncode


# ---------------------------------------------------------------------------------- the phases


def cold_and_warm(server: Server, views: list[tuple[int, dict[str, str]]]) -> dict[str, Any]:
    """Each view once (uncached, sequential), then each once more (cached)."""
    per_view: list[dict[str, Any]] = []
    for _, params in views:
        t0 = time.perf_counter()
        status, body = get(server.url + overview_path(params), server.token)
        ms = (time.perf_counter() - t0) * 1000
        if status != 200 or not body.startswith(b'{"period"'):
            raise SystemExit(f"GET {overview_path(params)} answered {status}: {body[:300]!r}")
        per_view.append({"params": params, "cold_ms": round(ms, 1)})
    for row in per_view:
        t0 = time.perf_counter()
        status, _ = get(server.url + overview_path(row["params"]), server.token)
        row["warm_ms"] = round((time.perf_counter() - t0) * 1000, 2)
        if status != 200:
            raise SystemExit(f"GET {overview_path(row['params'])} answered {status} when cached")
    cold = [r["cold_ms"] for r in per_view]
    warm = [r["warm_ms"] for r in per_view]
    return {
        "views": len(per_view),
        "cold_ms": {"min": min(cold), "median": round(statistics.median(cold), 1), "max": max(cold),
                    "total_s": round(sum(cold) / 1000, 2)},
        "warm_ms": {"min": min(warm), "median": round(statistics.median(warm), 2), "max": max(warm)},
        # the second request of a view should be a cache hit: a small fraction of the first
        "warm_over_cold_median": round(statistics.median(warm) / statistics.median(cold), 3),
        "per_view": per_view,
    }


def _num(text: str | None) -> float | None:
    try:
        return float(text) if text is not None and text not in ("", "N/A") else None
    except ValueError:
        return None


def run_locust(server: Server, user_class: str, name: str, users: int, seconds: int, work: Path,
               env: dict[str, str]) -> dict[str, Any]:
    """One headless locust run of ``user_class``; the stats of its requests named ``name``."""
    prefix = work / f"locust-{name}"
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", server.url,
           "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--csv", str(prefix), "--only-summary",
           "--loglevel", "WARNING", user_class]
    print(f"load: {name}, {users} users, {seconds} s ...", flush=True)
    server_cpu0, children0 = server.cpu(), resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 120)
    wall = time.perf_counter() - t0
    server_cpu1, children1 = server.cpu(), resource.getrusage(resource.RUSAGE_CHILDREN)
    (work / f"locust-{name}.log").write_text(done.stdout + done.stderr)
    stats = Path(f"{prefix}_stats.csv")
    row = None
    if stats.exists():
        with stats.open(newline="") as f:
            row = next((r for r in csv.DictReader(f) if r["Name"] == name), None)
    if not stats.exists():
        raise SystemExit(f"locust ({name}) wrote no stats (exit {done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")
    if row is None:  # not one request completed within the phase
        row = {"Request Count": "0", "Failure Count": "0"}
    requests = int(row["Request Count"])
    result: dict[str, Any] = {
        "requests": requests,
        "failures": int(row["Failure Count"]),
        "rps": round(_num(row.get("Requests/s")) or 0.0, 1),
        "p50_ms": _num(row.get("50%")), "p95_ms": _num(row.get("95%")), "p99_ms": _num(row.get("99%")),
        "avg_ms": round(_num(row.get("Average Response Time")) or 0.0, 2),
        "max_ms": round(_num(row.get("Max Response Time")) or 0.0, 1),
        "locust_exit": done.returncode,
        "locust_wall_s": round(wall, 1),
    }
    if server_cpu0 is not None and server_cpu1 is not None:
        result["server_cpu_s"] = round(server_cpu1 - server_cpu0, 1)
        if requests:
            result["server_cpu_ms_per_request"] = round((server_cpu1 - server_cpu0) * 1000 / requests, 2)
    result["locust_cpu_s"] = round((children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime), 1)
    if result["failures"]:
        failures = Path(f"{prefix}_failures.csv")
        result["failure_samples"] = failures.read_text()[:2000] if failures.exists() else ""
    return result


# ------------------------------------------------------------------------------------------ main


def report(r: dict[str, Any]) -> None:
    w = r["warehouse"]
    print(f"\n=== cxkpi serve under load: {w['contacts']:,} contacts (scale {w['scale']}), {r['users']} users, "
          f"{r['seconds']} s per phase, {r['cpus']} CPUs ===")
    c = r["cold"]
    print(f"cold (uncached, sequential) over {c['views']} views: min {c['cold_ms']['min']:.0f} ms, "
          f"median {c['cold_ms']['median']:.0f} ms, max {c['cold_ms']['max']:.0f} ms "
          f"(cached again: median {c['warm_ms']['median']:.1f} ms)")
    if c["warm_over_cold_median"] > 0.5:
        print(f"NOTE: a view's second request costs {c['warm_over_cold_median']:.0%} of its first: "
              "the server's result cache is not answering")
    print(f"{'phase':<10}{'requests':>10}{'fail':>6}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'srv cpu ms/req':>16}")
    for name in ("baseline", "overview"):
        p = r[name]
        print(f"{name:<10}{p['requests']:>10,}{p['failures']:>6}{p['rps']:>9.1f}{p['p50_ms'] or 0:>9.0f}"
              f"{p['p95_ms'] or 0:>9.0f}{p['p99_ms'] or 0:>9.0f}{p.get('server_cpu_ms_per_request', float('nan')):>16.2f}")
    print(f"overview p95 / baseline p95: {r['ratio_p95_overview_vs_baseline']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, help="an existing warehouse (copied first; the original is left untouched)")
    ap.add_argument("--scale", type=float, default=20.0, help="demo scale to build when no --db (20 = ~10M contacts)")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=30, help="duration of each load phase")
    ap.add_argument("--days", type=int, default=N_DAYS, help="older dates the month/week/day views are anchored on")
    ap.add_argument("--teams", type=int, default=N_TEAMS, help="team filters (the busiest teams)")
    ap.add_argument("--max-views", type=int, default=0, help="keep only the first N views of the mix (0: all)")
    ap.add_argument("--out", type=Path, help="the JSON to write (default bench/out/serve_load[-s<scale>].json)")
    args = ap.parse_args()
    os.environ.setdefault("CXKPI_ARGON2_FAST", "1")  # the bench user's password is random and never typed

    work = Path(tempfile.mkdtemp(prefix="serve-load-"))
    server: Server | None = None
    try:
        db = work / "bench.duckdb"
        result: dict[str, Any] = {"users": args.users, "seconds": args.seconds, "cpus": os.cpu_count(),
                                  "load_avg_at_start": round(os.getloadavg()[0], 2)}
        if args.db:
            copy_warehouse(args.db, db)
            source: dict[str, Any] = {"source": str(args.db)}
        else:
            source = {"source": None, "build_s": round(build(db, args.scale), 1)}
        info = prepare(db, args.teams)
        scale = info["scale"] if info["scale"] is not None else (None if args.db else args.scale)
        result["warehouse"] = {**source, "scale": scale, "contacts": info["contacts"],
                               "mb": round(db.stat().st_size / 1e6, 1),
                               "days": f"{info['first_day']}..{info['last_day']}"}
        days = bench_days(info["first_day"], info["last_day"], args.days)
        views = overview_views(days, info["teams"])
        if args.max_views:
            views = views[:args.max_views]
        result["mix"] = {"days": days, "teams": info["teams"], "views": len(views),
                         "default_share": round(views[0][0] / sum(w for w, _ in views), 2)}
        print(f"warehouse: {info['contacts']:,} contacts; {len(views)} overview views", flush=True)

        server = Server(db, info["token"], work / "serve.log")
        result["server_start_s"] = round(server.wait_ready(), 2)
        result["cold"] = cold_and_warm(server, views)
        env = {**os.environ, "CXKPI_BENCH_TOKEN": info["token"], "CXKPI_BENCH_DAYS": ",".join(days),
               "CXKPI_BENCH_TEAMS": json.dumps(info["teams"])}
        if args.max_views:
            env["CXKPI_BENCH_VIEWS"] = json.dumps(views)
        result["baseline"] = run_locust(server, "BaselineUser", "me", args.users, args.seconds, work, env)
        result["overview"] = run_locust(server, "OverviewUser", "overview", args.users, args.seconds, work, env)
        alive = server.proc.poll() is None
        result["server_exit"] = server.stop()
        if not alive:
            raise SystemExit(f"cxkpi serve died during the load:\n{server.tail()}")
        base, over = result["baseline"]["p95_ms"], result["overview"]["p95_ms"]
        result["ratio_p95_overview_vs_baseline"] = round(over / base, 2) if base and over else None
        result["failures"] = result["baseline"]["failures"] + result["overview"]["failures"]
        result["load_avg_at_end"] = round(os.getloadavg()[0], 2)
    finally:
        if server is not None and server.proc.poll() is None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    report(result)
    out = args.out or OUT / ("serve_load.json" if scale == 20 else f"serve_load-s{scale:g}.json" if scale else "serve_load-db.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nwrote {out}")
    if result["failures"]:
        raise SystemExit(f"{result['failures']} failed requests")


if __name__ == "__main__":
    main()
