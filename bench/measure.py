"""Wall time, CPU time and peak memory of one command, its own and nobody else's.

Linux starts a child's ``ru_maxrss`` at its parent's high-water RSS (fork copies the address
space, exec keeps the maximum seen), so a benchmark parent that has loaded pandas or run DuckDB
floors every child's peak at its own: measured from a parent that once held 500 MB, ``python
-c pass`` "peaks" at 510 MB. A tiny launcher (``python -S``, about 10 MB) forks the command and
reports the command's own ``wait4`` rusage, so the floor is the launcher's size instead; it
also times the command from fork to exit, leaving the launcher's start-up out.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

LAUNCHER = r"""
import json, os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as e:
        sys.stderr.write(f"cannot run {sys.argv[2]}: {e}\n")
    os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(sys.argv[1], "w") as f:
    json.dump({"code": os.waitstatus_to_exitcode(status), "wall_s": wall, "peak_kb": usage.ru_maxrss,
               "cpu_s": usage.ru_utime + usage.ru_stime}, f)
"""


@dataclass(frozen=True)
class Measured:
    """A finished command: exit code, wall and CPU seconds, its own peak RSS, what it printed."""

    code: int
    wall_s: float
    cpu_s: float
    peak_mb: int
    stdout: str
    stderr: str


def measure(cmd: list[str]) -> Measured:
    """Run ``cmd`` (its output to temporary files, so a large one cannot block it) under the launcher."""
    with tempfile.TemporaryDirectory(prefix="cxkpi-measure-") as d:
        usage_file, out_file, err_file = Path(d) / "usage.json", Path(d) / "out", Path(d) / "err"
        with out_file.open("w") as out, err_file.open("w") as err:
            subprocess.run([sys.executable, "-S", "-c", LAUNCHER, str(usage_file), *cmd], stdout=out, stderr=err,
                           check=False)
        stdout, stderr = out_file.read_text(errors="replace"), err_file.read_text(errors="replace")
        if not usage_file.exists():
            return Measured(-1, 0.0, 0.0, 0, stdout, stderr + "\n(the measuring launcher failed)")
        u = json.loads(usage_file.read_text())
    return Measured(u["code"], u["wall_s"], u["cpu_s"], u["peak_kb"] // 1024, stdout, stderr)
