"""The ``cxkpi`` command: a thin layer over the library; user mistakes are one line on stderr."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxkpi import __version__
from cxkpi.cli.common import DEFAULT_WAIT_S, WAIT_ENV, State, check_format, db, emit, out, progress, say, settings, use_wait, warehouse
from cxkpi.cli.users import token_app, user_app
from cxkpi.config import UserError

if TYPE_CHECKING:
    from cxkpi.ingest import ReadOptions
    from cxkpi.service.queries import QueryArgs
    from cxkpi.service.settings import Settings
    from cxkpi.warehouse.control import ServerInfo
    from cxkpi.warehouse.engines import Engine

app = typer.Typer(
    name="cxkpi",
    help="Measure and steer customer-service performance from your own exports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        say(f"cxkpi {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    db: Annotated[str | None, typer.Option("--db", help="Warehouse file (else $CXKPI_DB, else ./cxkpi.duckdb).")] = None,
    wait: Annotated[float, typer.Option("--wait", envvar=WAIT_ENV, min=0.0, metavar="SECONDS",
                                        help="Wait this long for another process using the warehouse (0 = fail at once).")] = DEFAULT_WAIT_S,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True)] = False,
) -> None:
    """cxkpi: imports that lose nothing, one KPI catalogue, DuckDB or Spark."""
    State.db = db
    use_wait(wait)


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
    from cxkpi.ingest import ReadOptions
    from cxkpi.warehouse.control import read_control

    options = ReadOptions(format=file_format, delimiter=delimiter, encoding=encoding, decimal=decimal, sheet=sheet)
    served = read_control(db())
    if served is not None:
        _import_through(served, table, files, mapping, source_tz, options, rejects_dir, fmt)
        return
    from cxkpi.service.imports import import_file

    reports = []
    with warehouse() as con:
        for f in files:
            with progress(fmt == "text") as update:
                report = import_file(con, table, f, mapping=mapping, source_tz=source_tz, options=options,
                                     rejects_dir=rejects_dir, progress=update)
            reports.append(report)
            if fmt == "text":
                say(_report_line(report.as_dict()))
                if report.rejected:
                    say(f"  rejects: {report.rejects_file or 'the rejects table (cxkpi rejects)'}")
    if fmt == "json":
        docs = [r.as_dict() for r in reports]
        sys.stdout.write(json.dumps(docs[0] if len(docs) == 1 else docs, indent=2) + "\n")


def _report_line(r: dict[str, Any]) -> str:
    return (f"{r['file']}: read {r['read']:,}, accepted {r['accepted']:,} (new {r['new']:,}, changed {r['changed']:,}, "
            f"unchanged {r['unchanged']:,}), rejected {r['rejected']:,}")


def _import_through(served: ServerInfo, table: str, files: list[Path], mapping: str | None, source_tz: str | None,
                    options: ReadOptions, rejects_dir: Path | None, fmt: str) -> None:
    """Hand the files to the running server, the one process allowed to write the warehouse."""
    from cxkpi.warehouse.control import forward_import

    reports = []
    for f in files:
        if not f.exists():
            raise UserError(f"{f}: no such file")
        mapping_arg = str(Path(mapping).resolve()) if mapping and Path(mapping).exists() else mapping
        body = {"table": table, "path": str(f.resolve()), "mapping": mapping_arg, "source_tz": source_tz,
                "rejects_dir": str(rejects_dir.resolve()) if rejects_dir else None,
                "options": {k: v for k, v in vars(options).items() if v is not None}}
        report = forward_import(served, body)
        reports.append(report)
        if fmt == "text":
            say(_report_line(report) + f" (through cxkpi serve, pid {served.pid})")
            if report["rejected"]:
                say(f"  rejects: {report['rejects_file'] or 'the rejects table (cxkpi rejects)'}")
    if fmt == "json":
        sys.stdout.write(json.dumps(reports[0] if len(reports) == 1 else reports, indent=2) + "\n")


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
) -> None:
    """Serve the web dashboard and the REST API (described at /openapi.json) over the warehouse."""
    from cxkpi.server import serve

    if not 0 < port < 65536:
        raise UserError("--port must be between 1 and 65535")
    path = db()
    if not path.exists():
        raise UserError(f"no warehouse at {path} (run 'cxkpi demo' or 'cxkpi import' first)")
    say(f"serving {path} on http://{host}:{port} (Ctrl+C to stop)")
    serve(path, host, port)


@app.command("tables")
def tables_cmd(
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Row counts and date ranges of every table."""
    from cxkpi.warehouse.inspect import table_stats

    check_format(fmt, ("table", "json"))
    with warehouse(read_only=True) as con:
        stats = table_stats(con)
    if fmt == "json":
        sys.stdout.write(json.dumps(stats, indent=2, default=str) + "\n")
        return
    from rich.table import Table

    grid = Table(title=f"Warehouse {db()}")
    for name in ("table", "rows", "from", "to", "rejected"):
        grid.add_column(name, justify="right" if name in ("rows", "rejected") else "left")
    for s in stats:
        grid.add_row(s["table"], f"{s['rows']:,}", str(s["from"] or ""), str(s["to"] or ""), f"{s['rejected']:,}")
    out().print(grid)


@app.command("rejects")
def rejects_cmd(
    table: Annotated[str | None, typer.Option("--table", help="Only this table.")] = None,
    import_id: Annotated[int | None, typer.Option("--import-id", help="Only this import.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many rows (0 = all).")] = 50,
    summary: Annotated[bool, typer.Option("--summary", help="Count rejects by table and reason instead.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """What was set aside, where (file, line, column) and why."""
    from cxkpi.warehouse.inspect import list_rejects

    check_format(fmt, ("table", "csv", "json"))
    if limit < 0:
        raise UserError("--limit must be 0 or more")
    with warehouse(read_only=True) as con:
        rows = list_rejects(con, table=table, import_id=import_id, limit=limit, summary=summary)
    emit(rows, fmt, title="Rejects by reason" if summary else "Rejected rows", empty="nothing was set aside")


@app.command("mappings")
def mappings_cmd() -> None:
    """The mappings an import can name: shipped with cxkpi, and stored in this warehouse."""
    from cxkpi.ingest import available_mappings, load_mapping

    for name in available_mappings():
        m = load_mapping(name)
        say(f"{name}  ({m.table})  {m.description}")
    if db().exists():
        from cxkpi.service.mappings import resolve
        from cxkpi.warehouse.mapping_store import stored_texts

        with warehouse(read_only=True) as con:
            for name in stored_texts(con):
                m = resolve(con, name, files=False)
                say(f"{name}  ({m.table})  {m.description} [stored]")


mapping_app = typer.Typer(help="Mappings stored in the warehouse (an upload to the server can name them).",
                          no_args_is_help=True)
app.add_typer(mapping_app, name="mapping")


@mapping_app.command("add")
def mapping_add_cmd(
    name: Annotated[str, typer.Argument(help="The name imports and uploads will give (lower case, digits, - and _).")],
    file: Annotated[Path, typer.Argument(help="The mapping YAML file (docs/mappings.md).")],
) -> None:
    """Check a mapping file and store it in the warehouse under NAME (replacing a stored one)."""
    from cxkpi.ingest.mapping import load
    from cxkpi.service.mappings import add

    load(str(file))  # the file's own checks first: a clear message naming the file
    with warehouse() as con:
        m = add(con, name, file.read_text(encoding="utf-8-sig"))
    say(f"stored mapping {name} for table {m.table}")


@mapping_app.command("remove")
def mapping_remove_cmd(name: Annotated[str, typer.Argument(help="A stored mapping's name.")]) -> None:
    """Remove a mapping stored in the warehouse."""
    from cxkpi.service.mappings import remove

    with warehouse() as con:
        remove(con, name)
    say(f"removed mapping {name}")


@app.command("demo")
def demo_cmd(
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same data.")] = 42,
    scale: Annotated[float, typer.Option("--scale", help="Volume multiplier (1 = ~500k contacts).")] = 1.0,
    reporting_tz: Annotated[str, typer.Option("--tz", help="Reporting time zone stored in the warehouse.")] = "Europe/Paris",
) -> None:
    """Build a demo warehouse: a year of a French retail bank's multichannel customer service.

    Large scales are generated and loaded region by region, in bounded memory: one bar
    follows the whole build, naming the region and its stage."""
    from collections.abc import Callable

    from cxkpi.cli.common import err
    from cxkpi.demo.load import build_demo
    from cxkpi.demo.targets import set_demo_targets

    from cxkpi.config import check_tz

    if not 0 < scale <= 1000:
        raise UserError("--scale must be above 0 and at most 1000")
    check_tz(reporting_tz)

    def build(update: Callable[[str, float], None] | None) -> str:
        return build_demo(db(), seed=seed, scale=scale, reporting_tz=reporting_tz, progress=update)

    if not err().is_terminal:
        summary = build(None)
    else:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                      TimeElapsedColumn(), TimeRemainingColumn(), console=err(), transient=True) as bar:
            task = bar.add_task("demo", total=1.0)
            summary = build(lambda step, fraction: bar.update(task, description=f"demo {step:<36}", completed=fraction))
    with warehouse() as con:
        set_demo_targets(con)
        admin = _first_admin(con)
    say(summary)
    if admin:
        say(f"web panel (cxkpi serve): user admin, password {admin} (shown once; cxkpi user passwd admin to change)")


def _first_admin(con: Any) -> str | None:
    """Create the first admin of a warehouse that has no user yet; its password, or None."""
    from cxkpi.access.users import Role, add_user, count_users, generate_password

    if count_users(con):
        return None
    password = generate_password()
    add_user(con, "admin", password, Role.ADMIN)
    return password


def _engine(engine: str, spark_master: str | None, spark_data: Path | None) -> tuple[Engine, Settings, Any]:
    """The query engine, the warehouse's reporting settings, and what to close afterwards."""
    from cxkpi.service.settings import Settings
    from cxkpi.warehouse import open_warehouse
    from cxkpi.warehouse.engines import duckdb_engine, spark_engine

    if engine == "duckdb":
        con = open_warehouse(db(), read_only=True)
        return duckdb_engine(con), settings(con), con
    if engine == "spark":
        found = Settings()
        if db().exists():
            with warehouse(read_only=True) as con:
                found = settings(con)
        return spark_engine(spark_master, spark_data), found, None
    raise UserError(f"unknown --engine {engine!r} (use duckdb or spark)")


def _query(found: Settings, args: QueryArgs) -> Any:
    from cxkpi.service.queries import build_query

    return build_query(args, found.tz, found.calendar)


ENGINE_OPT = typer.Option("--engine", help="duckdb (embedded warehouse) or spark.")
MASTER_OPT = typer.Option("--spark-master", help="Spark master URL (default $CXKPI_SPARK_MASTER or local[1]).")
DATA_OPT = typer.Option("--spark-data", help="Folder of Parquet tables for Spark (cxkpi export).")


@app.command("kpi")
def kpi_cmd(
    names: Annotated[list[str], typer.Argument(help="KPI names (cxkpi kpis lists them).")],
    by: Annotated[str | None, typer.Option("--by", help="Dimensions, comma-separated (channel,team...).")] = None,
    grain: Annotated[str, typer.Option("--grain", help="day, week, month, quarter, year or all.")] = "all",
    start: Annotated[str | None, typer.Option("--from", help="First local date, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last local date (inclusive), YYYY-MM-DD.")] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="Reporting time zone (default: the warehouse's, else UTC).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    with_counts: Annotated[bool, typer.Option("--with-counts", help="Add the numerators and denominators.")] = False,
    where: Annotated[list[str] | None, typer.Option("--where", help="Only rows with dim=value (repeat; same dim twice: either).")] = None,
    targets: Annotated[bool, typer.Option("--targets", help="Add each KPI's target and red/amber/green status.")] = False,
    param: Annotated[list[str] | None, typer.Option("--param", help="KPI parameter name=value (cxkpi kpis --params).")] = None,
    lang: Annotated[str, typer.Option("--lang", help="Labels and number format of the table: en or fr.")] = "en",
    engine: Annotated[str, ENGINE_OPT] = "duckdb",
    spark_master: Annotated[str | None, MASTER_OPT] = None,
    spark_data: Annotated[Path | None, DATA_OPT] = None,
) -> None:
    """Compute KPIs by dimensions and period."""
    from cxkpi.kpi.engine import compute
    from cxkpi.kpi.targets import load_targets, with_targets
    from cxkpi.service.queries import QueryArgs

    check_format(fmt, ("table", "csv", "json"))
    if lang not in ("en", "fr"):
        raise UserError("--lang must be en or fr")
    args = QueryArgs(kpis=tuple(names), by=by, grain=grain, start=start, end=end, tz=tz, where=tuple(where or ()),
                     params=tuple(param or ()), with_counts=with_counts)
    eng, found, closer = _engine(engine, spark_master, spark_data)
    try:
        q = _query(found, args)
        frame = compute(eng, q)
        if targets:
            frame = with_targets(frame, q, load_targets(closer) if closer is not None else [])
    finally:
        if closer is not None:
            closer.close()
    if fmt == "json":
        from cxkpi.kpi.output import frame_to_json

        sys.stdout.write(frame_to_json(frame) + "\n")
    elif fmt == "csv":
        frame.to_csv(sys.stdout, index=False)
    else:
        from cxkpi.cli.render import kpi_table

        out().print(kpi_table(frame, q, lang))


@app.command("kpis")
def kpis_cmd(
    lang: Annotated[str, typer.Option("--lang", help="en or fr.")] = "en",
    fmt: Annotated[str, typer.Option("--format", help="table, json or markdown.")] = "table",
    params: Annotated[bool, typer.Option("--params", help="List the configurable parameters instead.")] = False,
) -> None:
    """The KPI catalogue: names, labels, definitions, units, directions, dimensions."""
    if lang not in ("en", "fr"):
        raise UserError("--lang must be en or fr")
    from cxkpi.kpi.docs import catalogue_markdown, catalogue_rows
    from cxkpi.kpi.params import PARAMS

    check_format(fmt, ("table", "json", "markdown"))
    if params:
        for name, p in PARAMS.items():
            say(f"{name} = {p.default!r}: {p.doc}")
        return
    if fmt == "json":
        sys.stdout.write(json.dumps(catalogue_rows(lang), indent=2, ensure_ascii=False) + "\n")
    elif fmt == "markdown":
        sys.stdout.write(catalogue_markdown(lang))
    else:
        from rich.table import Table

        grid = Table(title="cxkpi KPIs" if lang == "en" else "Indicateurs cxkpi", show_lines=True)
        for col in ("name", "label", "definition", "unit", "direction", "dimensions"):
            grid.add_column(col, overflow="fold")
        for row in catalogue_rows(lang):
            grid.add_row(row["name"], row["label"], row["definition"], row["unit"], row["direction"], ", ".join(row["dimensions"]) or "-")
        out().print(grid)


@app.command("explain")
def explain_cmd(
    name: Annotated[str, typer.Argument(help="A KPI name.")],
    by: Annotated[str | None, typer.Option("--by", help="Dimensions, comma-separated.")] = None,
    grain: Annotated[str, typer.Option("--grain", help="day, week, month, quarter, year or all.")] = "all",
    tz: Annotated[str | None, typer.Option("--tz", help="Reporting time zone.")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="KPI parameter name=value.")] = None,
    lang: Annotated[str, typer.Option("--lang", help="en or fr.")] = "en",
) -> None:
    """A KPI's definition, parameters and the SQL it runs on the warehouse."""
    from cxkpi.kpi.inspect import explain
    from cxkpi.kpi.query import check_query
    from cxkpi.service.queries import QueryArgs

    if lang not in ("en", "fr"):
        raise UserError("--lang must be en or fr")
    eng, found, closer = _engine("duckdb", None, None)
    try:
        q = _query(found, QueryArgs(kpis=(name,), by=by, grain=grain, tz=tz, params=tuple(param or ())))
        check_query(eng, q)
        ex = explain(eng, name, q)
    finally:
        closer.close()
    k = ex.kpi
    out().print(f"[bold]{k.name}[/bold] — {k.label(lang)}")
    say(k.definition(lang))
    say(f"formula: {k.formula}")
    say(f"unit: {k.unit.value}   direction: {k.direction.value}   finest grain: {k.min_grain.value}")
    say(f"dimensions: {', '.join(k.dimensions) or 'none'}")
    say(f"inputs: {', '.join(k.inputs)}")
    for pname, value in ex.params.items():
        say(f"parameter {pname} = {value!r}")
    for source, sql in ex.sql.items():
        say(f"\n-- source: {source}")
        say(sql)


@app.command("drill")
def drill_cmd(
    name: Annotated[str, typer.Argument(help="A KPI name.")],
    where: Annotated[list[str] | None, typer.Option("--where", help="dim=value of the figure's group (repeat).")] = None,
    period: Annotated[str | None, typer.Option("--period", help="The figure's period label (2026-03, 2026-W10...).")] = None,
    grain: Annotated[str, typer.Option("--grain", help="Grain of --period.")] = "all",
    start: Annotated[str | None, typer.Option("--from", help="First local date.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last local date.")] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="Reporting time zone.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many rows.")] = 100,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """The rows behind a figure, with the flags that say how each one counts."""
    if limit <= 0:
        raise UserError("--limit must be above 0")
    if period is not None and grain == "all":
        grain = _grain_of_label(period)
    from cxkpi.kpi.inspect import drill, parse_where
    from cxkpi.kpi.output import frame_to_json
    from cxkpi.service.queries import QueryArgs

    check_format(fmt, ("table", "csv", "json"))
    eng, found, closer = _engine("duckdb", None, None)
    try:
        q = _query(found, QueryArgs(kpis=(name,), grain=grain, start=start, end=end, tz=tz))
        frame = drill(eng, name, parse_where(where or []), period, q, limit)
    finally:
        closer.close()
    rows = json.loads(frame_to_json(frame))
    emit(rows, fmt, title=f"Rows behind {name}", empty="no rows")


def _grain_of_label(label: str) -> str:
    if "-W" in label:
        return "week"
    if "-Q" in label:
        return "quarter"
    return {4: "year", 7: "month", 10: "day"}.get(len(label), "day")


@app.command("repeats")
def repeats_cmd(
    by: Annotated[str | None, typer.Option("--by", help="Dimensions of the first contact, comma-separated.")] = None,
    grain: Annotated[str, typer.Option("--grain", help="day, week, month, quarter, year or all.")] = "all",
    start: Annotated[str | None, typer.Option("--from", help="First local date.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last local date (inclusive).")] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="Reporting time zone.")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="KPI parameter name=value (fcr_window_days...).")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many rows (0 = all).")] = 50,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """What brought customers back: reasons of the repeat contacts that break FCR."""
    if limit < 0:
        raise UserError("--limit must be 0 or more")
    from cxkpi.kpi.output import frame_to_json
    from cxkpi.kpi.repeats import repeat_reasons
    from cxkpi.service.queries import QueryArgs, dimensions

    check_format(fmt, ("table", "csv", "json"))
    eng, found, closer = _engine("duckdb", None, None)
    try:
        q = _query(found, QueryArgs(kpis=("fcr",), grain=grain, start=start, end=end, tz=tz, params=tuple(param or ())))
        frame = repeat_reasons(eng, q, dimensions(by))
    finally:
        closer.close()
    rows = json.loads(frame_to_json(frame.head(limit) if limit else frame))
    emit(rows, fmt, title="Repeat contacts by reason", empty="no repeat contacts")


@app.command("export")
def export_cmd(
    folder: Annotated[Path, typer.Argument(help="Folder for NAME.parquet files.")],
) -> None:
    """Write every table as Parquet (for cxkpi kpi --engine spark --spark-data FOLDER)."""
    from cxkpi.schema import TABLES
    from cxkpi.warehouse.inspect import export_parquet

    with warehouse(read_only=True) as con:
        written = export_parquet(con, str(folder), list(TABLES))
    for w in written:
        say(w)


target_app = typer.Typer(help="KPI targets, for red/amber/green status (cxkpi kpi --targets).", no_args_is_help=True)
app.add_typer(target_app, name="target")


def _scope(where: str | None) -> tuple[str | None, str | None]:
    from cxkpi.kpi.inspect import parse_where

    if where is None:
        return None, None
    parsed = parse_where([where])
    return next(iter(parsed.items()))


@target_app.command("set")
def target_set_cmd(
    name: Annotated[str, typer.Argument(help="A KPI name.")],
    value: Annotated[float, typer.Argument(help="The target, in the KPI's unit (a rate as a fraction: 0.8).")],
    where: Annotated[str | None, typer.Option("--where", help="Only for dim=value (e.g. channel=phone).")] = None,
    amber: Annotated[float | None, typer.Option("--amber", help="Width of the amber band (default 5 % of the target).")] = None,
) -> None:
    """Set the target of a KPI, globally or for one value of a dimension."""
    from cxkpi.kpi.targets import Target, set_target

    dimension, dim_value = _scope(where)
    with warehouse() as con:
        set_target(con, Target(kpi=name, target=value, dimension=dimension, value=dim_value, amber=amber))
    say(f"target of {name}{f' for {where}' if where else ''}: {value:g}")


@target_app.command("list")
def target_list_cmd(fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table") -> None:
    """The targets in force."""
    from cxkpi.kpi.targets import load_targets

    check_format(fmt, ("table", "csv", "json"))
    with warehouse(read_only=True) as con:
        rows = [
            {"kpi": t.kpi, "dimension": t.dimension, "value": t.value, "target": t.target, "amber_band": t.band}
            for t in load_targets(con)
        ]
    emit(rows, fmt, title="Targets", empty="no targets (cxkpi target set KPI VALUE)")


@target_app.command("remove")
def target_remove_cmd(
    name: Annotated[str, typer.Argument(help="A KPI name.")],
    where: Annotated[str | None, typer.Option("--where", help="The dim=value scope of the target.")] = None,
) -> None:
    """Remove the target of a KPI for a scope."""
    from cxkpi.kpi.targets import remove_target

    dimension, dim_value = _scope(where)
    with warehouse() as con:
        removed = remove_target(con, name, dimension, dim_value)
    if not removed:
        raise UserError(f"no target of {name}{f' for {where}' if where else ''}")
    say(f"removed the target of {name}{f' for {where}' if where else ''}")


app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")

calendar_app = typer.Typer(help="The business-hours calendar of the warehouse (business-time KPIs).", no_args_is_help=True)
app.add_typer(calendar_app, name="calendar")


@calendar_app.command("set")
def calendar_set_cmd(file: Annotated[Path, typer.Argument(help="A calendar YAML file (docs/calendars.md).")]) -> None:
    """Store the warehouse's business-hours calendar."""
    if not file.exists():
        raise UserError(f"{file}: no such file")
    from cxkpi.kpi.calendar import parse_calendar
    from cxkpi.warehouse.inspect import set_config_value

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{file}: cannot read a calendar YAML file ({exc.__class__.__name__})") from None
    with warehouse() as con:
        cal = parse_calendar(text, settings(con).tz, str(file))
        set_config_value(con, "calendar", text)
    out().print(f"calendar {cal.name}: {cal.timezone}, holidays {cal.country or 'none'}, hours for {', '.join(cal.keys())}", highlight=False)


@calendar_app.command("show")
def calendar_show_cmd() -> None:
    """Print the warehouse's calendar (the default one when none is stored)."""
    from cxkpi.kpi.calendar import DEFAULT_YAML

    with warehouse(read_only=True) as con:
        found = settings(con)
    sys.stdout.write(found.calendar_yaml or DEFAULT_YAML)


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
    except Exception as exc:
        # the warehouse file cannot be opened (locked by another process, unreadable)
        if type(exc).__name__ == "IOException" and type(exc).__module__.startswith("duckdb"):
            _fail(str(exc).splitlines()[0])
        # usage errors of the option parser carry their own message and exit code
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            _fail(" ".join(str(exc.format_message()).split()), int(exc.exit_code))
        raise
