"""The documented surface exists: curated __all__ lists are complete and every command the
README names answers --help."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from conftest import InProcessCli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("module", ["cxkpi.schema", "cxkpi.warehouse", "cxkpi.ingest", "cxkpi.kpi", "cxkpi.access", "cxkpi.server"])
def test_all_names_exist(module: str) -> None:
    mod = importlib.import_module(module)
    assert mod.__all__, module
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name}"


def test_readme_python_entry_points() -> None:
    from cxkpi.service.imports import import_file  # noqa: F401
    from cxkpi.kpi import KpiQuery, compute  # noqa: F401
    from cxkpi.warehouse import open_warehouse  # noqa: F401
    from cxkpi.warehouse.engines import duckdb_engine, spark_engine  # noqa: F401


CODE = "\n".join(re.findall(r"```sh\n(.*?)```", README, flags=re.S))
COMMANDS = sorted(set(re.findall(r"^cxkpi ([a-z]+(?: (?:set|show|list|remove))?)", CODE, flags=re.M)))


def test_the_readme_names_commands() -> None:
    assert {"kpi", "kpis", "import", "tables", "rejects", "explain", "drill", "export"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_readme_command_has_help(cli_fast: InProcessCli, command: str) -> None:
    proc = cli_fast(*command.split(), "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout
