"""Mapping files: how a tool's own export becomes a canonical table.

A mapping is YAML. It names the target table, how to read the file, the source time
zone, and one entry per target column; each entry yields a text cell, so validation
stays the same for every source. Entry forms (see docs/mappings.md)::

    contact_id: call_id                          # rename
    channel: {value: phone}                      # constant
    contact_id: {template: "{date}-{call_id}"}   # cells and text joined
    outcome: {column: outcome, values: {AGENT: answered}, reject: {PHANTOM: "why"}}
    customer_id: {column: customer_id, null_if: ["0"]}
    created_at: {date: date, date_format: "%y%m%d", time: q_start, after: vru_entry}
    answered_at: {column: Date, format: "%d/%m/%Y %H:%M", add: [speed_s], when: {column: Answered, in: [Y]}}
    created_at: {coalesce: [ENTRY, ENTRY, ...]}  # first entry that gives a value
    flag: {sql: "..."}                            # escape hatch: a DuckDB expression

Names that are not columns of the target table are kept as extra columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Mapping as MappingType
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from cxkpi.config import UserError, check_tz
from cxkpi.ingest.sources import ReadOptions
from cxkpi.schema import TABLES, Table

ENTRY_KEYS = {
    "column", "value", "template", "coalesce", "sql", "date", "time", "date_format", "time_format",
    "format", "after", "add", "when", "null_if", "values", "reject",
}
ISO_DATE, ISO_TIME = "%Y-%m-%d", "%H:%M:%S"
NAIVE_OUT = "%Y-%m-%d %H:%M:%S.%f"
# names the warehouse uses itself: a source column so named is kept as source_NAME
RESERVED = frozenset({"rowid", "import_id", "next_inbound_at", "next_same_reason_at"})


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file; ``columns`` holds the raw entries, compiled against a file later."""

    name: str
    table: str
    description: str = ""
    source_tz: str | None = None
    read: ReadOptions = ReadOptions()
    unmapped: str = "keep"
    columns: dict[str, Any] = field(default_factory=dict)


@dataclass
class Compiled:
    """SQL over the staged text cells: one VARCHAR expression per target column, extra rejects."""

    fields: dict[str, str]
    rejects: list[tuple[str, str]]  # (target column, SQL giving a reason or NULL)


def available() -> list[str]:
    """Names of the mappings shipped with cxkpi."""
    folder = resources.files("cxkpi.ingest") / "mappings"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


MAX_MAPPING_BYTES = 1 << 20  # a mapping is a page of YAML; anything larger is not one


def load(name_or_file: str) -> Mapping:
    """Load a shipped mapping by name, or a mapping file by path.

    A shipped name wins over a file of the same name in the current folder, so that a name
    never reads the disk (the server accepts names only). Whatever the file holds (binary,
    not UTF-8, not YAML, not a mapping), the answer is a user error, never a crash.
    """
    if name_or_file in available():
        return load_shipped(name_or_file)
    path = Path(name_or_file)
    if path.suffix in (".yaml", ".yml") or _exists(path):
        return parse_text(_read_file(path), str(path))
    raise UserError(f"unknown mapping {name_or_file!r} (shipped: {', '.join(available())}; or give a .yaml file)")


def load_shipped(name: str) -> Mapping:
    """A mapping shipped with cxkpi, by name; anything else is a user error listing the names."""
    if name not in available():
        raise UserError(f"unknown mapping {name[:100]!r} (shipped: {', '.join(available())})")
    shipped = resources.files("cxkpi.ingest") / "mappings" / f"{name}.yaml"
    return parse_text(shipped.read_text(encoding="utf-8"), name)


def _read_file(path: Path) -> str:
    """The text of a mapping file: a regular file, at most ``MAX_MAPPING_BYTES``, UTF-8."""
    try:
        if not _exists(path):
            raise UserError(f"mapping file {path} does not exist")
        if not path.is_file():
            raise UserError(f"mapping file {path} is not a file")
        with path.open("rb") as f:
            data = f.read(MAX_MAPPING_BYTES + 1)
    except OSError as exc:
        raise UserError(f"mapping file {path}: cannot read it ({exc.strerror or exc})") from None
    if len(data) > MAX_MAPPING_BYTES:
        raise UserError(f"mapping file {path} is larger than {MAX_MAPPING_BYTES:,} bytes: not a mapping")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"mapping file {path} is not UTF-8 text (a mapping is a YAML file)") from None


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; a name the system cannot even look up (too long, a NUL) does not."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def parse_text(text: str, origin: str) -> Mapping:
    """A mapping from its YAML text (read with ``safe_load``: no code, no custom tags)."""
    try:
        doc = yaml.safe_load(text)
        return parse(doc, origin)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"mapping {origin}: not valid YAML ({first})") from None
    except RecursionError:  # nesting thousands deep, or an alias that contains itself
        raise UserError(f"mapping {origin}: nested too deep to be a mapping") from None


def parse(doc: object, origin: str) -> Mapping:
    """Check a mapping document's shape; every problem is one clear line."""
    if not isinstance(doc, dict):
        raise UserError(f"mapping {origin}: expected a YAML mapping at the top level")
    table = doc.get("table")
    if not isinstance(table, str) or table not in TABLES:
        raise UserError(f"mapping {origin}: 'table' must be one of {', '.join(TABLES)}")
    read = doc.get("read") or {}
    if not isinstance(read, dict) or set(read) - {"delimiter", "encoding", "decimal", "sheet", "format"}:
        raise UserError(f"mapping {origin}: 'read' accepts delimiter, encoding, decimal, sheet, format")
    columns = doc.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise UserError(f"mapping {origin}: 'columns' must map target columns to entries")
    for target, entry in columns.items():
        _check_entry(origin, str(target), entry)
    unmapped = doc.get("unmapped", "keep")
    if unmapped not in ("keep", "drop"):
        raise UserError(f"mapping {origin}: 'unmapped' must be keep or drop")
    tz = doc.get("source_tz")
    return Mapping(
        name=str(doc.get("name") or origin),
        table=str(table),
        description=str(doc.get("description") or ""),
        source_tz=check_tz(str(tz)) if tz else None,
        read=ReadOptions(**{k: str(v) for k, v in read.items()}),
        unmapped=str(unmapped),
        columns={str(k): v for k, v in columns.items()},
    )


def _check_entry(origin: str, target: str, entry: object) -> None:
    if isinstance(entry, str):
        return
    if not isinstance(entry, dict):
        raise UserError(f"mapping {origin}: entry for {target!r} must be a column name or a mapping")
    unknown = set(entry) - ENTRY_KEYS
    if unknown:
        raise UserError(f"mapping {origin}: entry for {target!r} has unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    for key, kind, text in (("values", dict, "a mapping"), ("reject", dict, "a mapping"), ("add", list, "a list")):
        if key in entry and not isinstance(entry[key], kind):
            raise UserError(f"mapping {origin}: '{key}' of {target!r} must be {text}")
    when = entry.get("when")
    if "when" in entry and not (isinstance(when, dict) and "column" in when and isinstance(when.get("in"), list)):
        raise UserError(f"mapping {origin}: 'when' of {target!r} needs column and in (a list of values)")
    sources = [k for k in ("column", "value", "template", "coalesce", "sql", "date") if k in entry]
    if len(sources) != 1:
        raise UserError(
            f"mapping {origin}: entry for {target!r} needs exactly one of column, value, template, coalesce, sql, date"
        )
    if "coalesce" in entry:
        if not isinstance(entry["coalesce"], list) or not entry["coalesce"]:
            raise UserError(f"mapping {origin}: 'coalesce' of {target!r} must be a non-empty list")
        for sub in entry["coalesce"]:
            _check_entry(origin, target, sub)


def identity(table: Table, columns: list[str], ref: Callable[[str], str]) -> Compiled:
    """No mapping: source columns named like canonical ones (any case) are used as they are;
    the others are kept (a second ``Team`` beside ``team`` becomes ``team_2``)."""
    fields: dict[str, str] = {}
    for c in columns:
        fields[_free(normalize_name(c), fields)] = blank_is_null(ref(c))
    return Compiled(fields=fields, rejects=[])


def _free(name: str, taken: MappingType[str, str]) -> str:
    n, out = 2, name
    while out in taken:
        out, n = f"{name}_{n}", n + 1
    return out


def blank_is_null(cell: str) -> str:
    """A cell as read; only a blank (empty or whitespace-only) cell is empty."""
    return f"(CASE WHEN trim({cell}) = '' THEN NULL ELSE {cell} END)"


def normalize_name(name: str) -> str:
    """A column name as a warehouse identifier: lower case, words joined by underscores."""
    out = re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")
    if not out:
        return "column"
    if out in RESERVED:
        return f"source_{out}"
    return out if not out[0].isdigit() else f"c_{out}"


def compile_mapping(
    mapping: Mapping, table: Table, columns: list[str], file_label: str, ref: Callable[[str], str]
) -> Compiled:
    """Compile a mapping against the columns a file actually has."""
    ctx = _Context(mapping.name, columns, file_label, ref)
    fields: dict[str, str] = {}
    rejects: list[tuple[str, str]] = []
    for target, entry in mapping.columns.items():
        name = target if table.has(target) else normalize_name(target)
        fields[name] = ctx.entry(entry, name, rejects)
    if mapping.unmapped == "keep":
        used = ctx.used
        for c in columns:
            name = normalize_name(c)
            if c not in used:
                fields[_free(name, fields)] = blank_is_null(ref(c))
    return Compiled(fields=fields, rejects=rejects)


class _Context:
    def __init__(self, mapping: str, columns: list[str], file_label: str, ref: Callable[[str], str]) -> None:
        self.mapping = mapping
        self.columns = columns
        self.file_label = file_label
        self.ref = ref
        self.used: set[str] = set()

    def col(self, name: object) -> str:
        name = str(name)
        if name not in self.columns:
            raise UserError(
                f"mapping {self.mapping} names column {name!r}, which {self.file_label} does not have "
                f"(it has: {', '.join(self.columns)})"
            )
        self.used.add(name)
        return f"NULLIF(trim({self.ref(name)}), '')"

    def entry(self, entry: Any, target: str, rejects: list[tuple[str, str]]) -> str:
        if isinstance(entry, str):
            return self.col(entry)
        if "coalesce" in entry:
            parts = [self.entry(sub, target, rejects) for sub in entry["coalesce"]]
            base = f"coalesce({', '.join(parts)})"
        elif "value" in entry:
            base = "NULL" if entry["value"] is None else _lit(str(entry["value"]))
        elif "template" in entry:
            base = self.template(str(entry["template"]))
        elif "sql" in entry:
            base = f"CAST(({entry['sql']}) AS VARCHAR)"
        elif "date" in entry:
            base = self.timestamp(entry, date_col=entry["date"])
        else:
            base = self.col(entry["column"])
            if "format" in entry:
                base = self.timestamp(entry, date_col=None, single=base)
        if "null_if" in entry and "date" not in entry and "format" not in entry:
            base = _null_if(base, entry["null_if"])
        if "reject" in entry:
            reject = entry["reject"]
            if not isinstance(reject, dict):
                raise UserError(f"mapping {self.mapping}: 'reject' of {target!r} must map values to reasons")
            cases = " ".join(f"WHEN {_lit(str(k))} THEN {_lit(f'{target}: {v}')}" for k, v in reject.items())
            rejects.append((target, f"CASE {base} {cases} END"))
        if "values" in entry:
            values = entry["values"]
            if not isinstance(values, dict):
                raise UserError(f"mapping {self.mapping}: 'values' of {target!r} must map source values to canonical ones")
            cases = " ".join(
                f"WHEN {_lit(str(k))} THEN {'NULL' if v is None else _lit(str(v))}" for k, v in values.items()
            )
            base = f"(CASE {base} {cases} ELSE {base} END)"
        if "when" in entry:
            base = f"(CASE WHEN {self.condition(entry['when'], target)} THEN {base} END)"
        return base

    def condition(self, when: Any, target: str) -> str:
        if not isinstance(when, dict) or "column" not in when or "in" not in when:
            raise UserError(f"mapping {self.mapping}: 'when' of {target!r} needs column and in")
        values = ", ".join(_lit(str(v)) for v in when["in"])
        return f"{self.col(when['column'])} IN ({values})"

    def template(self, text: str) -> str:
        parts: list[str] = []
        for literal, name in re.findall(r"([^{]*)(?:\{([^}]*)\})?", text):
            if literal:
                parts.append(_lit(literal))
            if name:
                parts.append(self.col(name))
        return "(" + " || ".join(parts or ["''"]) + ")"

    def timestamp(self, entry: dict[str, Any], date_col: object, single: str | None = None) -> str:
        """Parse a timestamp written in the source's own format; output stays text.

        A failed parse passes the source text on, so validation reports it as read.
        """
        null_if = entry.get("null_if", [])
        if single is not None:
            text = _null_if(single, null_if)
            fmt = str(entry["format"])
        else:
            date_text = self.col(date_col)
            time_fmt = str(entry.get("time_format", ISO_TIME))
            date_fmt = str(entry.get("date_format", ISO_DATE))
            if "time" in entry:
                time_text = _null_if(self.col(entry["time"]), null_if)
                text = f"({date_text} || ' ' || {time_text})"
                fmt = f"{date_fmt} {time_fmt}"
            else:
                text = _null_if(date_text, null_if)
                fmt = date_fmt
        parsed = f"try_strptime({text}, {_lit(fmt)})"
        if "after" in entry:
            if single is not None or "time" not in entry:
                raise UserError(f"mapping {self.mapping}: 'after' needs date and time entries")
            ref_fmt = f"{entry.get('date_format', ISO_DATE)} {entry.get('time_format', ISO_TIME)}"
            ref = f"try_strptime({self.col(date_col)} || ' ' || {self.col(entry['after'])}, {_lit(ref_fmt)})"
            parsed = f"(CASE WHEN {parsed} < {ref} THEN {parsed} + INTERVAL 1 DAY ELSE {parsed} END)"
        for add in entry.get("add", []) or []:
            cell = self.col(add)
            parsed = (
                f"({parsed} + coalesce(to_microseconds(CAST(round(TRY_CAST({cell} AS DOUBLE) * 1e6) AS BIGINT)), "
                f"TRY_CAST({cell} AS INTERVAL)))"
            )
        out = "%Y-%m-%d %H:%M:%S.%f%z" if "%z" in fmt else NAIVE_OUT
        return f"coalesce(strftime({parsed}, {_lit(out)}), {text})"


def _null_if(sql: str, values: Any) -> str:
    if not values:
        return sql
    if not isinstance(values, list):
        values = [values]
    return f"(CASE WHEN {sql} IN ({', '.join(_lit(str(v)) for v in values)}) THEN NULL ELSE {sql} END)"


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
