"""The SQL that types the text cells of a source and says why a row breaks a rule.

All checks run inside DuckDB over the whole file at once (no Python per row): each
canonical column gets a typed expression and a list of checks; a row's reason is the
list of the checks it fails, its column the first one. Nothing is "fixed": a cell
that is not exactly what the declaration allows makes the row a reject.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cxkpi.schema import Column, ColumnType, Table
from cxkpi.schema.tables import IfPresent, Implies, Literal, Order
from cxkpi.warehouse import SQL_TYPES, quote

TRUE_WORDS = ("true", "1", "yes", "y", "oui", "o", "vrai", "t")
FALSE_WORDS = ("false", "0", "no", "n", "non", "faux", "f")
DATE_RE = r"\d{4}-\d{2}-\d{2}([T ]00:00(:00(\.0+)?)?)?"
NAIVE_RE = r"\d{4}-\d{2}-\d{2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?"
OFFSET_RE = r"\d[T ]?\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|z|[+-]\d{2}(:?\d{2})?)$"


@dataclass(frozen=True)
class Check:
    column: str
    failed: str  # SQL condition, true when the row breaks the check
    message: str  # SQL expression of the reason


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _shown(cell: str) -> str:
    """The cell as quoted in a reason, cut to a readable length."""
    return f"'''' || left({cell}, 60) || ''''"


def typed_expr(column: Column, cell: str, source_tz: str, decimal: str) -> str:
    """SQL converting the text ``cell`` to the column's warehouse type (NULL when it cannot)."""
    t = column.type
    if t is ColumnType.TEXT:
        return f"lower(trim({cell}))" if column.choices else cell
    cell = f"trim({cell})"  # spaces around a number, date or flag are not part of it
    if t in (ColumnType.NUMBER, ColumnType.INTEGER):
        text = cell
        if decimal == ",":
            text = f"replace(regexp_replace({cell}, '[\\s\\x{{00A0}}\\x{{202F}}]', '', 'g'), ',', '.')"
        number = f"TRY_CAST({text} AS DOUBLE)"
        if t is ColumnType.INTEGER:
            return f"(CASE WHEN {number} = round({number}) AND abs({number}) < 9e18 THEN CAST({number} AS BIGINT) END)"
        return f"(CASE WHEN isfinite({number}) THEN {number} END)"
    if t is ColumnType.BOOL:
        true_words = ", ".join(_lit(w) for w in TRUE_WORDS)
        false_words = ", ".join(_lit(w) for w in FALSE_WORDS)
        return (
            f"(CASE WHEN lower({cell}) IN ({true_words}) THEN true "
            f"WHEN lower({cell}) IN ({false_words}) THEN false END)"
        )
    if t is ColumnType.DATE:
        # a date, or a date at midnight (spreadsheet date cells); never a truncated time
        return f"(CASE WHEN regexp_full_match({cell}, {_lit(DATE_RE)}) THEN TRY_CAST(left({cell}, 10) AS DATE) END)"
    if t is ColumnType.MONTH:
        # YYYY-MM, or the first day of the month as a date (Parquet/XLSX exports store months so)
        return (
            f"(CASE WHEN regexp_full_match({cell}, '\\d{{4}}-\\d{{2}}') THEN TRY_CAST({cell} || '-01' AS DATE) "
            f"WHEN regexp_full_match({cell}, '\\d{{4}}-\\d{{2}}-01') THEN TRY_CAST({cell} AS DATE) END)"
        )
    if t is ColumnType.TIMESTAMP:
        naive = f"(CASE WHEN regexp_full_match({cell}, {_lit(NAIVE_RE)}) THEN TRY_CAST({cell} AS TIMESTAMP) END)"
        return (
            f"(CASE WHEN regexp_matches({cell}, {_lit(OFFSET_RE)}) THEN TRY_CAST({cell} AS TIMESTAMPTZ) "
            f"ELSE timezone({_lit(source_tz)}, {naive}) END)"
        )
    raise AssertionError(t)


def _type_word(t: ColumnType) -> str:
    return {
        ColumnType.NUMBER: "a number",
        ColumnType.INTEGER: "a whole number",
        ColumnType.BOOL: "a boolean (true/false, 1/0, yes/no, oui/non)",
        ColumnType.DATE: "a date (YYYY-MM-DD)",
        ColumnType.MONTH: "a month (YYYY-MM, or the first day of the month)",
        ColumnType.TIMESTAMP: "a timestamp (ISO 8601)",
        ColumnType.TEXT: "text",
    }[t]


def column_checks(column: Column, cell: str, value: str, source_tz: str) -> list[Check]:
    """Checks of one cell: presence, type, vocabulary, bounds."""
    name = column.name
    checks: list[Check] = []
    if column.required and column.default is None:
        checks.append(Check(name, f"{cell} IS NULL", _lit(f"{name}: missing (required)")))
    if column.type is not ColumnType.TEXT:
        checks.append(
            Check(name, f"{cell} IS NOT NULL AND {value} IS NULL", f"{_lit(name + ': ')} || {_shown(cell)} || {_lit(' is not ' + _type_word(column.type))}")
        )
    if column.type is ColumnType.TIMESTAMP and source_tz != "UTC":
        local = f"TRY_CAST({cell} AS TIMESTAMP)"
        checks.append(
            Check(
                name,
                f"NOT regexp_matches({cell}, {_lit(OFFSET_RE)}) AND {local} IS NOT NULL "
                f"AND timezone({_lit(source_tz)}, timezone({_lit(source_tz)}, {local})) <> {local}",
                f"{_lit(name + ': ')} || {_shown(cell)} || {_lit(' does not exist in ' + source_tz + ' (clocks skip it)')}",
            )
        )
    if column.choices:
        allowed = ", ".join(_lit(c) for c in column.choices)
        checks.append(
            Check(name, f"{value} NOT IN ({allowed})", f"{_lit(name + ': ')} || {_shown(cell)} || {_lit(' is not one of ' + ', '.join(column.choices))}")
        )
    if column.minimum is not None:
        checks.append(Check(name, f"{value} < {column.minimum!r}", f"{_lit(name + ': ')} || {_shown(cell)} || {_lit(f' is below {column.minimum:g}')}"))
    if column.maximum is not None:
        checks.append(Check(name, f"{value} > {column.maximum!r}", f"{_lit(name + ': ')} || {_shown(cell)} || {_lit(f' is above {column.maximum:g}')}"))
    if column.above is not None:
        checks.append(Check(name, f"{value} <= {column.above!r}", f"{_lit(name + ': ')} || {_shown(cell)} || {_lit(f' must be above {column.above:g}')}"))
    return checks


def with_default(column: Column, value: str, values: dict[str, str]) -> str:
    """The typed value, or the declared default when the cell is empty."""
    d = column.default
    if d is None:
        return value
    if isinstance(d, Literal):
        fallback = typed_literal(column, d.value)
    else:
        assert isinstance(d, IfPresent)
        fallback = f"(CASE WHEN {values[d.column]} IS NOT NULL THEN {_lit(d.then)} ELSE {_lit(d.otherwise)} END)"
    return f"coalesce({value}, {fallback})"


def typed_literal(column: Column, text: str) -> str:
    if column.type in (ColumnType.NUMBER,):
        return f"CAST({float(text)!r} AS DOUBLE)"
    return _lit(text)


def rule_checks(table: Table, values: dict[str, str]) -> list[Check]:
    """Checks across cells of a row (SPEC §2 rules)."""
    checks: list[Check] = []
    for rule in table.rules:
        if isinstance(rule, Order):
            a, b = values[rule.before], values[rule.after]
            checks.append(Check(rule.after, f"{a} > {b}", _lit(f"{rule.after}: before {rule.before}")))
        elif isinstance(rule, Implies):
            v, other = values[rule.column], values[rule.other]
            choices = ", ".join(_lit(x) for x in rule.values)
            if rule.present:
                checks.append(Check(rule.other, f"{v} IN ({choices}) AND {other} IS NULL", _lit(f"{rule.other}: missing while {rule.column} is {'/'.join(rule.values)}")))
            else:
                checks.append(Check(rule.other, f"{v} IN ({choices}) AND {other} IS NOT NULL", _lit(f"{rule.other}: present while {rule.column} is {'/'.join(rule.values)}")))
    return checks


def reason_sql(checks: Sequence[Check]) -> tuple[str, str]:
    """SQL for (reason, first failing column) of a row; both NULL for a valid row."""
    if not checks:
        return "CAST(NULL AS VARCHAR)", "CAST(NULL AS VARCHAR)"
    parts = ", ".join(f"CASE WHEN coalesce({c.failed}, false) THEN {c.message} END" for c in checks)
    first = ", ".join(f"CASE WHEN coalesce({c.failed}, false) THEN {_lit(c.column)} END" for c in checks)
    return f"NULLIF(concat_ws('; ', {parts}), '')", f"coalesce({first})"


def typed_select(
    table: Table,
    fields: dict[str, str],
    extra_rejects: list[tuple[str, str]],
    relation: str,
    source_tz: str,
    decimal: str,
    raw_columns: list[tuple[str, str]],
    line_column: bool = False,
) -> tuple[str, list[str]]:
    """A SELECT giving (``_line`` when ``line_column``), typed canonical columns, extra text columns, ``_reason``, ``_column``, ``_raw``.

    ``fields`` maps target names to text expressions over ``relation``; canonical columns
    absent from it stay NULL (and take their default). Returns the SQL and the extra names.
    """
    cells = {name: f"_c_{i}" for i, name in enumerate(fields)}
    inner = ", ".join(f"{expr} AS {cells[name]}" for name, expr in fields.items())
    raw_refs = {name: (sql, f"_r_{i}") for i, (name, sql) in enumerate(raw_columns)}
    inner += "".join(f", {sql} AS {ref}" for sql, ref in raw_refs.values())
    inner += "".join(f", {sql} AS _mr_{i}" for i, (_, sql) in enumerate(extra_rejects))

    values: dict[str, str] = {}
    typed: list[str] = []  # each cell typed once, in its own projection: checks and defaults refer to it
    checks: list[Check] = []
    for i, col in enumerate(table.columns):
        cell = cells.get(col.name)
        if cell is None:
            values[col.name] = f"CAST(NULL AS {_sql_type(col)})"
            if col.required and col.default is None and not (col.name in table.key and table.derive_key_from):
                checks.append(Check(col.name, "true", _lit(f"{col.name}: missing (required)")))
            continue
        typed.append(f"{typed_expr(col, cell, source_tz, decimal)} AS _v_{i}")
        values[col.name] = f"_v_{i}"
        checks.extend(column_checks(col, cell, values[col.name], source_tz))
    finals = {c.name: with_default(c, values[c.name], values) for c in table.columns}
    checks.extend(rule_checks(table, finals))
    # a value the mapping sets aside explains the row by itself; other checks would only echo it
    mapped = [Check(target, f"_mr_{i} IS NOT NULL", f"_mr_{i}") for i, (target, _) in enumerate(extra_rejects)]
    reason, first = reason_sql(checks)
    if mapped:
        m_reason, m_first = reason_sql(mapped)
        reason, first = f"coalesce({m_reason}, {reason})", f"coalesce({m_first}, {first})"
    extras = [n for n in fields if not table.has(n)]
    lead = ["_line"] if line_column else []
    outer = list(lead)
    outer += [f"{finals[c.name]} AS {quote(c.name)}" for c in table.columns]
    outer += [f"{cells[n]} AS {quote(n)}" for n in extras]
    outer += [f"{reason} AS _reason", f"{first} AS _column"]
    outer += [ref for _, ref in raw_refs.values()]
    keep = [*lead, *(quote(c.name) for c in table.columns), *(quote(n) for n in extras), "_reason", "_column"]
    raw = f"CASE WHEN _reason IS NOT NULL THEN {raw_json([(n, ref) for n, (_, ref) in raw_refs.items()])} END" if raw_refs else "NULL"
    sql = (
        f"SELECT {', '.join(keep)}, {raw} AS _raw FROM ("
        f"SELECT {', '.join(outer)} FROM (SELECT *{''.join(', ' + t for t in typed)} FROM ("
        f"SELECT {''.join(l + ', ' for l in lead)}{inner} FROM ({relation}))))"
    )
    return sql, extras


def raw_json(cells: list[tuple[str, str]]) -> str:
    """SQL of a row as read, as a JSON object keyed by the source's column names (any case)."""
    return "json_object(" + ", ".join(f"{_lit(name)}, {sql}" for name, sql in cells) + ")"


def _sql_type(col: Column) -> str:
    return SQL_TYPES[col.type]
