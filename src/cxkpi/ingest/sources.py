"""Reading a source file as text cells, whatever its format, without losing a row.

Every format is exposed to the validation step the same way: a DuckDB relation of
VARCHAR cells with ``_row`` (0-based record number) plus the records that could not
even be split into cells (structural rejects), each with its line number. CSV and JSON
Lines are streamed by DuckDB; XLSX is read with calamine (a sheet is at most ~1 M rows).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import duckdb
import pyarrow as pa

from cxkpi.config import UserError
from cxkpi.warehouse import quote

FORMATS = ("csv", "xlsx", "parquet", "jsonl")
SNIFF_BYTES = 1 << 20
DELIMITERS = (",", ";", "\t", "|")
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8", "cp1252": "cp1252",
             "windows-1252": "cp1252", "latin-1": "latin-1", "latin1": "latin-1",
             "iso-8859-1": "latin-1", "utf-16": "utf-16"}


@dataclass(frozen=True)
class ReadOptions:
    """How to read a file; ``None`` means sniff it."""

    format: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    decimal: str | None = None
    sheet: str | None = None


@dataclass
class Staged:
    """A file seen as text cells.

    ``relation_sql`` selects one VARCHAR column per source column, in file order, named
    ``_s0``, ``_s1``... (``ref(name)``: source names may differ only by case, which SQL
    would not tell apart), plus ``_line`` when ``line_column``; otherwise ``line_of(row)``
    turns a record number (the rowid of the table the relation is stored in) into the
    file's line.
    """

    path: Path
    format: str
    columns: list[str]
    relation_sql: str
    structural: list[tuple[int, str, str]]  # (line, reason, raw text)
    first_line: int
    delimiter: str | None = None
    encoding: str | None = None
    decimal: str = "."
    cleanup: list[Path] = field(default_factory=list)
    line_column: bool = False
    blank_lines: list[int] = field(default_factory=list)  # blank lines the reader skipped

    def ref(self, name: str) -> str:
        """The SQL column of source column ``name`` in ``relation_sql``."""
        return alias(self.columns.index(name))

    def named_relation(self) -> str:
        """``relation_sql`` where source columns can also be called by their names (for the
        ``sql`` entries of mappings), when no other name differs from them only by case."""
        lower = [c.lower() for c in self.columns]
        names = [
            f"{alias(i)} AS {quote(c)}"
            for i, c in enumerate(self.columns)
            if lower.count(c.lower()) == 1 and not c.lower().startswith(("_s", "_line"))
        ]
        return f"SELECT *{''.join(', ' + n for n in names)} FROM ({self.relation_sql})"

    def line_of(self, row_sql: str) -> str:
        """SQL for the file line of record ``row_sql``: skips the lines set aside before it.

        Exact for files whose records hold no line break inside quotes (the usual export);
        XLSX/Parquet rows and JSON lines are exact always.
        """
        if self.line_column:
            return "_line"
        lines = sorted({line for line, _, _ in self.structural} | set(self.blank_lines))
        if self.format != "csv" or not lines:
            return f"({row_sql} + {self.first_line})"
        # record k lands on line k + first_line + #{j : t_j <= k}, t_j = line_j - first_line - j + 1
        thresholds = [line - self.first_line - j + 1 for j, line in enumerate(lines, start=1)]
        values = ", ".join(str(t) for t in thresholds)
        return (
            f"({row_sql} + {self.first_line} + "
            f"(SELECT count(*) FROM unnest([{values}]::BIGINT[]) AS u(t) WHERE u.t <= {row_sql}))"
        )


def detect_format(path: Path, forced: str | None) -> str:
    """The file format from ``--format``-like option or the extension."""
    if forced:
        if forced not in FORMATS:
            raise UserError(f"unknown file format {forced!r} (use one of {', '.join(FORMATS)})")
        return forced
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv", ".tab"):
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise UserError(f"{path}: cannot tell the format from the extension {suffix!r} (use --file-format csv|xlsx|parquet|jsonl)")


def sniff_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) when the sample decodes as such, else Windows-1252."""
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        raise UserError("the file looks binary, not text (NUL bytes): is it really a CSV?")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def sniff_delimiter(text: str) -> str:
    """The candidate delimiter whose count per line is the most consistent, and non-zero."""
    lines = [ln for ln in text.splitlines()[:200] if ln.strip()]
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # possibly cut by the sample
    best, best_score = ",", -1.0
    for d in DELIMITERS:
        counts = [_count_outside_quotes(ln, d) for ln in lines]
        if not counts or counts[0] == 0:
            continue
        mode, freq = Counter(counts).most_common(1)[0]
        score = freq / len(counts) + (0.001 * mode if mode else -1)
        if mode > 0 and score > best_score:
            best, best_score = d, score
    return best


def _count_outside_quotes(line: str, d: str) -> int:
    return len(re.sub(r'"[^"]*"', "", line).split(d)) - 1


def _cp1252_error(err: UnicodeError) -> tuple[str, int]:
    """Bytes Windows-1252 leaves undefined are read as Latin-1 (control characters)."""
    assert isinstance(err, UnicodeDecodeError)
    return err.object[err.start : err.end].decode("latin-1"), err.end


codecs.register_error("cxkpi-cp1252", _cp1252_error)


def _transcode(path: Path, encoding: str) -> Path:
    """Stream ``path`` from ``encoding`` into a UTF-8 temporary file (DuckDB reads UTF-8)."""
    out = Path(tempfile.mkstemp(prefix="cxkpi-", suffix=".csv")[1])
    decoder = codecs.getincrementaldecoder(encoding)(errors="cxkpi-cp1252" if encoding == "cp1252" else "strict")
    with path.open("rb") as src, out.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(16 << 20):
            dst.write(decoder.decode(chunk))
        dst.write(decoder.decode(b"", final=True))
    return out


def _header(text: str, delimiter: str) -> list[str]:
    first = next(csv.reader(io.StringIO(text), delimiter=delimiter), None)
    if not first:
        raise UserError("the file is empty (no header line)")
    return first


def alias(position: int) -> str:
    """The SQL name of the source column at ``position`` in a staged relation."""
    return f"_s{position}"


def aliased(cells: list[str]) -> str:
    """``cell AS _s0, cell AS _s1, ...``."""
    return ", ".join(f"{cell} AS {alias(i)}" for i, cell in enumerate(cells))


def unique_names(names: list[str]) -> list[str]:
    """Header names made usable: blanks become ``column_N``; a repeated name is an error."""
    out: list[str] = []
    for i, raw in enumerate(names, start=1):
        name = raw.strip().lstrip("\ufeff") or f"column_{i}"
        if name in out:
            raise UserError(f"the header names column {name!r} twice")
        out.append(name)
    return out


def stage(con: duckdb.DuckDBPyConnection, path: Path, options: ReadOptions, tag: str) -> Staged:
    """Expose ``path`` as text cells to ``con``; ``tag`` names the temporary objects."""
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path} is a folder, not a file")
    fmt = detect_format(path, options.format)
    if fmt == "csv":
        return _stage_csv(con, path, options, tag)
    if fmt == "jsonl":
        return _stage_jsonl(con, path, tag)
    if fmt == "parquet":
        return _stage_parquet(con, path, tag)
    return _stage_xlsx(con, path, options, tag)


def _stage_csv(con: duckdb.DuckDBPyConnection, path: Path, options: ReadOptions, tag: str) -> Staged:
    with path.open("rb") as fh:
        sample = fh.read(SNIFF_BYTES)
    if not sample.strip():
        raise UserError(f"{path}: the file is empty")
    if options.encoding:
        encoding = ENCODINGS.get(options.encoding.lower())
        if encoding is None:
            raise UserError(f"unknown encoding {options.encoding!r} (use utf-8, cp1252, latin-1 or utf-16)")
    else:
        encoding = sniff_encoding(sample)
    try:
        text = sample.decode(encoding if encoding != "cp1252" else "cp1252", errors="cxkpi-cp1252" if encoding == "cp1252" else "ignore")
    except LookupError:
        raise UserError(f"unknown encoding {encoding!r}") from None
    text = text.lstrip("\ufeff")
    delimiter = options.delimiter or sniff_delimiter(text)
    columns = unique_names(_header(text, delimiter))
    cleanup: list[Path] = []
    source = path
    duck_encoding = "utf-8"
    if encoding in ("cp1252", "utf-16"):
        source = _transcode(path, encoding)
        cleanup.append(source)
    elif encoding == "latin-1":
        duck_encoding = "latin-1"
    decimal = options.decimal or ("," if delimiter == ";" else ".")
    spec = ", ".join(f"'{alias(i)}': 'VARCHAR'" for i in range(len(columns)))
    rejects_table, rejects_scan = f"_rj_{tag}", f"_rs_{tag}"
    reader = (
        f"read_csv({_sql_str(str(source))}, columns={{{spec}}}, header=true, auto_detect=false, "
        f"delim={_sql_str(delimiter)}, quote='\"', escape='\"', encoding='{duck_encoding}', "
        f"store_rejects=true, rejects_table='{rejects_table}', rejects_scan='{rejects_scan}', "
        f"strict_mode=true, null_padding=false)"
    )
    names = ", ".join(alias(i) for i in range(len(columns)))
    return _StagedCsv(
        path=path,
        format="csv",
        columns=columns,
        relation_sql=f"SELECT {names} FROM {reader}",
        structural=[],
        first_line=2,
        delimiter=delimiter,
        encoding=encoding,
        decimal=decimal,
        cleanup=cleanup,
        rejects_table=rejects_table,
        sniffed_utf8=options.encoding is None and encoding == "utf-8",
    )


@dataclass
class _StagedCsv(Staged):
    rejects_table: str = ""
    sniffed_utf8: bool = False

    def collect_structural(self, con: duckdb.DuckDBPyConnection) -> None:
        """After the scan, fetch the records DuckDB could not split into the header's cells."""
        try:
            rows = con.execute(
                f"SELECT line, error_type, error_message, csv_line FROM {self.rejects_table} ORDER BY line"
            ).fetchall()
        except duckdb.CatalogException:
            rows = []
        reasons = {
            "MISSING COLUMNS": "fewer cells than the header",
            "TOO MANY COLUMNS": "more cells than the header",
            "INVALID ENCODING": "bytes that are not valid in the file's encoding",
            "INVALID UNICODE": "bytes that are not valid in the file's encoding",
            "UNQUOTED VALUE": "a quote that is not closed or a value after a closing quote",
            "LINE SIZE OVER MAXIMUM": "a line longer than the reader's maximum",
        }
        seen: set[int] = set()
        self.structural = []
        for line, kind, message, raw in rows:
            if int(line) in seen:
                continue
            seen.add(int(line))
            detail = reasons.get(str(kind), str(message).splitlines()[0])
            self.structural.append((int(line), f"unreadable record: {detail}", str(raw or "").strip("\r\n")))
        self.drop_rejects_tables(con)

    def drop_rejects_tables(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(f"DROP TABLE IF EXISTS {self.rejects_table}")
        con.execute(f"DROP TABLE IF EXISTS _rs_{self.rejects_table[4:]}")


def _stage_jsonl(con: duckdb.DuckDBPyConnection, path: Path, tag: str) -> Staged:
    src = _sql_str(str(path))
    lines = (
        f"SELECT (row_number() OVER () - 1) AS _row, j FROM read_csv({src}, columns={{'j': 'VARCHAR'}}, "
        "header=false, auto_detect=false, delim=E'\\x01', quote='', escape='', strict_mode=false, "
        "null_padding=true)"
    )
    table = f"_jl_{tag}"
    try:
        con.execute(f"CREATE TEMP TABLE {table} AS {lines}")
    except duckdb.Error as exc:
        raise UserError(f"{path}: cannot read as JSON Lines: {str(exc).splitlines()[0]}") from None
    bad = con.execute(
        f"SELECT _row, j FROM {table} WHERE j IS NOT NULL AND NOT {_IS_OBJECT} ORDER BY _row"
    ).fetchall()
    keys = [
        r[0]
        for r in con.execute(
            f"SELECT k FROM (SELECT unnest(json_keys(CASE WHEN {_IS_OBJECT} THEN j END)) AS k, _row FROM {table}) "
            "GROUP BY k ORDER BY min(_row), k"
        ).fetchall()
    ]
    if not keys:
        raise UserError(f"{path}: no JSON object found (one object per line expected)")
    cells = aliased([f"CASE WHEN {_IS_OBJECT} THEN j->>{_sql_str('$.' + _json_key(k))} END" for k in keys])
    relation = (
        f"SELECT _row + 1 AS _line, {cells} FROM {table} "
        f"WHERE j IS NOT NULL AND {_IS_OBJECT}"
    )
    return Staged(
        path=path,
        format="jsonl",
        columns=unique_names(keys),
        relation_sql=relation,
        structural=[(int(r) + 1, "unreadable record: not a JSON object", str(raw)) for r, raw in bad],
        first_line=1,
        line_column=True,
    )


_IS_OBJECT = "(CASE WHEN json_valid(j) THEN json_type(j) = 'OBJECT' ELSE false END)"


def _json_key(key: str) -> str:
    return '"' + key.replace('"', '\\"') + '"'


def _stage_parquet(con: duckdb.DuckDBPyConnection, path: Path, tag: str) -> Staged:
    src = _sql_str(str(path))
    try:
        desc = con.execute(f"DESCRIBE SELECT * FROM read_parquet({src})").fetchall()
    except duckdb.Error as exc:
        raise UserError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    raw = [str(r[0]) for r in desc]
    columns = unique_names(raw)
    cells = aliased([f"CAST({quote(c)} AS VARCHAR)" for c in raw])
    return Staged(
        path=path,
        format="parquet",
        columns=columns,
        relation_sql=f"SELECT {cells} FROM read_parquet({src})",
        structural=[],
        first_line=1,
    )


def _cell_text(value: object) -> str | None:
    """A spreadsheet cell as the text an export would have written."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


def _stage_xlsx(con: duckdb.DuckDBPyConnection, path: Path, options: ReadOptions, tag: str) -> Staged:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own exception types
        raise UserError(f"{path}: not a readable XLSX workbook ({str(exc).splitlines()[0]})") from None
    names = book.sheet_names
    if options.sheet is not None and options.sheet not in names:
        raise UserError(f"{path}: no sheet {options.sheet!r} (sheets: {', '.join(names)})")
    sheet = book.get_sheet_by_name(options.sheet or names[0])
    rows = sheet.to_python(skip_empty_area=False)
    if not rows:
        raise UserError(f"{path}: the sheet is empty")
    columns = unique_names([_cell_text(v) or "" for v in rows[0]])
    width = len(columns)
    data: dict[str, list[str | None]] = {c: [] for c in columns}
    row_numbers: list[int] = []
    structural: list[tuple[int, str, str]] = []
    for number, row in enumerate(rows[1:], start=2):
        cells = [_cell_text(v) for v in row]
        if all(c is None for c in cells):
            continue  # blank spreadsheet row: not a record
        if len(cells) > width and any(c is not None for c in cells[width:]):
            structural.append((number, "unreadable record: cells beyond the header's columns", "\t".join(c or "" for c in cells)))
            continue
        cells = (cells + [None] * width)[:width]
        for c, v in zip(columns, cells):
            data[c].append(v)
        row_numbers.append(number)
    arrow = pa.table(
        {"_line": pa.array(row_numbers, pa.int64()), **{alias(i): pa.array(v, pa.string()) for i, v in enumerate(data.values())}}
    )
    view = f"_xl_{tag}"
    con.register(view, arrow)
    names_sql = ", ".join(alias(i) for i in range(len(columns)))
    return Staged(
        path=path,
        format="xlsx",
        columns=columns,
        relation_sql=f"SELECT _line, {names_sql} FROM {view}",
        structural=structural,
        first_line=2,
        line_column=True,
    )


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
