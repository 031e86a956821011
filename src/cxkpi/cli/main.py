"""The ``cxkpi`` command: a thin layer over the library; user mistakes are one line on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from cxkpi import __version__
from cxkpi.config import UserError, check_tz, db_path
from cxkpi.ingest import ReadOptions, available_mappings, import_file
from cxkpi.warehouse import open_warehouse
from cxkpi.warehouse.inspect import list_rejects, table_stats

app = typer.Typer(
    name="cxkpi",
    help="Measure and steer customer-service performance from your own exports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True)


class _State:
    db: str | None = None


@app.callback()
def main(
    db: Annotated[str | None, typer.Option("--db", help="Warehouse file (else $CXKPI_DB, else ./cxkpi.duckdb).")] = None,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    """cxkpi: imports that lose nothing, one KPI catalogue, DuckDB or Spark."""
    if version:
        out.print(f"cxkpi {__version__}")
        raise typer.Exit()
    _State.db = db


def _db() -> Path:
    return db_path(_State.db)


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, float], None] | None]:
    """A Rich progress bar on a terminal; nothing when output is piped."""
    if not enabled or not err.is_terminal:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(step: str, fraction: float) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=1.0)
            bar.update(tasks[step], completed=fraction)

        yield update


@app.command("import")
def import_cmd(
    table: Annotated[str, typer.Argument(help="Target table: contacts, cases, surveys, evaluations, agent_states, customers, customer_revenue, cashflows, loans.")],
    files: Annotated[list[Path], typer.Argument(help="CSV, XLSX, Parquet or JSON Lines files.")],
    mapping: Annotated[str | None, typer.Option("--mapping", "-m", help="Shipped mapping name or a mapping YAML file.")] = None,
    source_tz: Annotated[str | None, typer.Option("--source-tz", help="Zone of timestamps written without offset (e.g. Europe/Paris).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="Report format: text or json.")] = "text",
    file_format: Annotated[str | None, typer.Option("--file-format", help="csv, xlsx, parquet or jsonl (default: from the extension).")] = None,
    delimiter: Annotated[str | None, typer.Option("--delimiter", help="CSV delimiter (default: sniffed).")] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help="utf-8, cp1252, latin-1 or utf-16 (default: sniffed).")] = None,
    decimal: Annotated[str | None, typer.Option("--decimal", help="Decimal mark, '.' or ',' (default: ',' when the delimiter is ';').")] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX sheet name (default: the first).")] = None,
    rejects_dir: Annotated[Path | None, typer.Option("--rejects-dir", help="Folder for NAME.rejects.csv (default: beside the file).")] = None,
) -> None:
    """Import files into a table; rows that break a rule are set aside with line and reason."""
    if fmt not in ("text", "json"):
        raise UserError(f"unknown --format {fmt!r} (use text or json)")
    if delimiter is not None:
        delimiter = delimiter.replace("\\t", "\t")
    if decimal not in (None, ".", ","):
        raise UserError("--decimal must be '.' or ','")
    options = ReadOptions(format=file_format, delimiter=delimiter, encoding=encoding, decimal=decimal, sheet=sheet)
    con = open_warehouse(_db())
    reports = []
    try:
        for f in files:
            with _progress(fmt == "text") as progress:
                report = import_file(con, table, f, mapping=mapping, source_tz=source_tz, options=options,
                                     rejects_dir=rejects_dir, progress=progress)
            reports.append(report)
            if fmt == "text":
                line = (f"{report.file}: read {report.read:,}, accepted {report.accepted:,} "
                        f"(new {report.new:,}, changed {report.changed:,}, unchanged {report.unchanged:,}), "
                        f"rejected {report.rejected:,}")
                out.print(line, highlight=False)
                if report.rejected:
                    where = report.rejects_file or "the rejects table (cxkpi rejects)"
                    out.print(f"  rejects: {where}", highlight=False)
    finally:
        con.close()
    if fmt == "json":
        docs = [r.as_dict() for r in reports]
        sys.stdout.write(json.dumps(docs[0] if len(docs) == 1 else docs, indent=2) + "\n")


@app.command("tables")
def tables_cmd(
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Row counts and date ranges of every table."""
    con = open_warehouse(_db(), read_only=True)
    try:
        stats = table_stats(con)
    finally:
        con.close()
    if fmt == "json":
        sys.stdout.write(json.dumps(stats, indent=2, default=str) + "\n")
        return
    grid = RichTable(title=f"Warehouse {_db()}")
    for name in ("table", "rows", "from", "to", "rejected"):
        grid.add_column(name, justify="right" if name in ("rows", "rejected") else "left")
    for s in stats:
        grid.add_row(s["table"], f"{s['rows']:,}", str(s["from"] or ""), str(s["to"] or ""), f"{s['rejected']:,}")
    out.print(grid)


@app.command("rejects")
def rejects_cmd(
    table: Annotated[str | None, typer.Option("--table", help="Only this table.")] = None,
    import_id: Annotated[int | None, typer.Option("--import-id", help="Only this import.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many rows (0 = all).")] = 50,
    summary: Annotated[bool, typer.Option("--summary", help="Count rejects by table and reason instead.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """What was set aside, where (file, line, column) and why."""
    if fmt not in ("table", "csv", "json"):
        raise UserError(f"unknown --format {fmt!r} (use table, csv or json)")
    if limit < 0:
        raise UserError("--limit must be 0 or more")
    con = open_warehouse(_db(), read_only=True)
    try:
        rows = list_rejects(con, table=table, import_id=import_id, limit=limit, summary=summary)
    finally:
        con.close()
    _emit(rows, fmt, title="Rejects by reason" if summary else "Rejected rows")


def _emit(rows: list[dict[str, Any]], fmt: str, title: str) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, indent=2, default=str) + "\n")
        return
    if fmt == "csv":
        import csv

        if rows:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return
    grid = RichTable(title=title)
    if not rows:
        out.print("nothing was set aside")
        return
    for name in rows[0]:
        grid.add_column(name, overflow="fold")
    for r in rows:
        grid.add_row(*("" if v is None else str(v) for v in r.values()))
    out.print(grid)


@app.command("mappings")
def mappings_cmd() -> None:
    """The mappings shipped with cxkpi (use one with import --mapping NAME)."""
    from cxkpi.ingest import load_mapping

    for name in available_mappings():
        m = load_mapping(name)
        out.print(f"{name}  ({m.table})  {m.description}", highlight=False)


@app.command("demo")
def demo_cmd(
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same data.")] = 42,
    scale: Annotated[float, typer.Option("--scale", help="Volume multiplier (1 = ~500k contacts).")] = 1.0,
    reporting_tz: Annotated[str, typer.Option("--tz", help="Reporting time zone stored in the warehouse.")] = "Europe/Paris",
) -> None:
    """Build a demo warehouse: a year of a French retail bank's multichannel customer service."""
    from cxkpi.demo.load import build_demo

    if scale <= 0:
        raise UserError("--scale must be above 0")
    check_tz(reporting_tz)
    with _progress(True) as progress:
        summary = build_demo(_db(), seed=seed, scale=scale, reporting_tz=reporting_tz, progress=progress)
    out.print(summary, highlight=False)


def _fail(message: str, code: int = 2) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.exit(code)


def run() -> None:
    """Entry point: user mistakes become one line on stderr and a non-zero exit, no traceback."""
    try:
        app(standalone_mode=False)
    except UserError as exc:
        _fail(str(exc))
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        sys.exit(code or 0)
    except (typer.Abort, KeyboardInterrupt):
        _fail("interrupted: the warehouse keeps what it had before the unfinished import", 130)
    except duckdb.IOException as exc:
        _fail(str(exc).splitlines()[0])
    except Exception as exc:
        # usage errors of the option parser carry their own message and exit code
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            _fail(" ".join(str(exc.format_message()).split()), int(exc.exit_code))
        raise
