"""Warehouse schema: frozen migrations agree with the declarations; upgrades keep data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from cxkpi.config import UserError
from cxkpi.schema import TABLES
from cxkpi.warehouse import IMPORT_ID, LATEST, MIGRATIONS, SQL_TYPES, Migration, current_version, migrate, open_warehouse
from cxkpi.warehouse.ddl import create_table_sql

try:  # columns the warehouse derives from the imported ones (kept by later migrations)
    from cxkpi.warehouse.derived import DERIVED_COLUMNS
except ImportError:  # pragma: no cover - older layout
    DERIVED_COLUMNS = {}

# DuckDB's information_schema spelling of the declared SQL types
SPELLED = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}


def columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return [
        (str(n), str(t))
        for n, t in con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
    ]


def test_migrations_are_numbered_from_one_without_gaps() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert LATEST == MIGRATIONS[-1].version
    assert all(m.description and m.sql.strip() for m in MIGRATIONS)


def test_fresh_warehouse_is_at_latest(wh: Any) -> None:
    assert current_version(wh.con) == LATEST
    assert [r[0] for r in wh.all("SELECT version FROM schema_version ORDER BY version")] == list(range(1, LATEST + 1))
    tables = {r[0] for r in wh.all("SELECT table_name FROM information_schema.tables")}
    assert {"schema_version", "warehouse_config", "import_log", "rejects", *TABLES} <= tables
    assert wh.scalar("SELECT current_setting('TimeZone')") == "UTC"


def test_reopening_does_not_migrate_again(db_file: Path) -> None:
    open_warehouse(db_file).close()
    con = open_warehouse(db_file)
    try:
        assert con.execute("SELECT count(*) FROM schema_version").fetchone() == (LATEST,)
    finally:
        con.close()


def _stored(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """The table's columns minus the derived ones (checked on their own below)."""
    derived = set(DERIVED_COLUMNS.get(table, ()))
    return [c for c in columns(con, table) if c[0] not in derived]


@pytest.mark.parametrize("table", list(TABLES))
def test_canonical_table_matches_its_declaration(wh: Any, table: str) -> None:
    declared = [(c.name, SPELLED.get(SQL_TYPES[c.type], SQL_TYPES[c.type])) for c in TABLES[table].columns]
    declared.append((IMPORT_ID, "BIGINT"))
    assert _stored(wh.con, table) == declared


@pytest.mark.parametrize("table", list(TABLES))
def test_migrated_table_matches_the_ddl_of_the_declaration(wh: Any, table: str) -> None:
    ref = duckdb.connect()
    try:
        ref.execute(create_table_sql(TABLES[table]))
        assert _stored(wh.con, table) == columns(ref, table)
    finally:
        ref.close()


def test_derived_columns_exist_and_are_not_canonical(wh: Any) -> None:
    for table, names in DERIVED_COLUMNS.items():
        assert table in TABLES
        have = dict(columns(wh.con, table))
        for name in names:
            assert name in have
            assert not TABLES[table].has(name)


def test_every_column_type_has_a_warehouse_type() -> None:
    for t in TABLES.values():
        for c in t.columns:
            assert c.type in SQL_TYPES


def test_import_log_and_rejects_shape(wh: Any) -> None:
    assert [n for n, _ in columns(wh.con, "rejects")] == ["import_id", "table_name", "file", "line", "column", "reason", "raw"]
    log = [n for n, _ in columns(wh.con, "import_log")]
    for name in ("import_id", "table_name", "file", "checksum", "rows_read", "rows_accepted", "rows_rejected",
                 "rows_new", "rows_changed", "rows_unchanged", "rejects_file", "source_tz"):
        assert name in log


def _seed(db_file: Path, files: Any) -> None:
    from cxkpi.service.imports import import_file

    con = open_warehouse(db_file)
    try:
        path = files.csv("c.csv", ["contact_id", "channel", "created_at"], [["c1", "phone", "2026-03-05 10:00"]])
        assert import_file(con, "contacts", path).accepted == 1
    finally:
        con.close()


def test_older_warehouse_is_upgraded_in_place(db_file: Path, files: Any) -> None:
    _seed(db_file, files)
    upgrade = Migration(
        LATEST + 1,
        "test only: a new column with a backfill",
        "ALTER TABLE contacts ADD COLUMN test_flag VARCHAR; UPDATE contacts SET test_flag = 'backfilled';",
    )
    con = duckdb.connect(str(db_file))
    try:
        assert current_version(con) == LATEST
        assert migrate(con, [*MIGRATIONS, upgrade]) == LATEST + 1
        assert current_version(con) == LATEST + 1
        assert con.execute("SELECT contact_id, channel, test_flag FROM contacts").fetchall() == [("c1", "phone", "backfilled")]
        assert con.execute("SELECT description FROM schema_version WHERE version = ?", [LATEST + 1]).fetchone() == (upgrade.description,)
        # applying again is a no-op
        assert migrate(con, [*MIGRATIONS, upgrade]) == LATEST + 1
        assert con.execute("SELECT count(*) FROM schema_version").fetchone() == (LATEST + 1,)
    finally:
        con.close()


def test_partial_history_is_completed(db_file: Path) -> None:
    """A warehouse left at version 1 with data opens at LATEST with its data (and backfills)."""
    con = duckdb.connect(str(db_file))
    try:
        assert migrate(con, MIGRATIONS[:1]) == 1
        con.execute("INSERT INTO warehouse_config VALUES ('source_tz', 'Europe/Paris')")
        con.execute(
            """INSERT INTO contacts (contact_id, channel, created_at, direction, customer_id, outcome, reason, _import_id)
               VALUES ('c1', 'phone', TIMESTAMPTZ '2026-03-05 10:00:00+00', 'inbound', 'u1', 'abandoned', 'card', 1),
                      ('c2', 'chat',  TIMESTAMPTZ '2026-03-06 10:00:00+00', 'inbound', 'u1', 'abandoned', 'card', 1),
                      ('c3', 'email', TIMESTAMPTZ '2026-03-07 10:00:00+00', 'outbound', 'u1', 'abandoned', 'card', 1)"""
        )
    finally:
        con.close()
    con = open_warehouse(db_file)
    try:
        assert current_version(con) == LATEST
        assert con.execute("SELECT value FROM warehouse_config WHERE key = 'source_tz'").fetchone() == ("Europe/Paris",)
        assert con.execute("SELECT contact_id, channel FROM contacts ORDER BY 1").fetchall() == [
            ("c1", "phone"), ("c2", "chat"), ("c3", "email"),
        ]
        if "next_inbound_at" in DERIVED_COLUMNS.get("contacts", ()):
            got = con.execute("SELECT contact_id, CAST(next_inbound_at AS VARCHAR) FROM contacts ORDER BY 1").fetchall()
            # c1's next inbound contact is c2; c2 has none; c3 is outbound
            assert got == [("c1", "2026-03-06 10:00:00+00"), ("c2", None), ("c3", None)]
    finally:
        con.close()


def test_failed_migration_is_rolled_back(db_file: Path, files: Any) -> None:
    _seed(db_file, files)
    broken = Migration(LATEST + 1, "test only: fails half-way", "ALTER TABLE contacts ADD COLUMN half VARCHAR; SELECT * FROM no_such_table;")
    con = duckdb.connect(str(db_file))
    try:
        with pytest.raises(duckdb.Error):
            migrate(con, [*MIGRATIONS, broken])
        assert current_version(con) == LATEST
        assert "half" not in [n for n, _ in columns(con, "contacts")]
        assert con.execute("SELECT count(*) FROM contacts").fetchone() == (1,)
    finally:
        con.close()


def test_newer_warehouse_is_refused(db_file: Path, files: Any) -> None:
    _seed(db_file, files)
    future = Migration(LATEST + 1, "test only: from the future", "CREATE TABLE future_things (x INTEGER);")
    con = duckdb.connect(str(db_file))
    try:
        migrate(con, [*MIGRATIONS, future])
    finally:
        con.close()
    with pytest.raises(UserError, match=f"schema version {LATEST + 1}, newer than this cxkpi \\({LATEST}\\)"):
        open_warehouse(db_file)
    # the refusal changed nothing
    con = duckdb.connect(str(db_file), read_only=True)
    try:
        assert current_version(con) == LATEST + 1
        assert con.execute("SELECT count(*) FROM contacts").fetchone() == (1,)
    finally:
        con.close()


def test_newer_warehouse_is_refused_by_the_cli(db_file: Path, files: Any, cli: Any, user_error: Any) -> None:
    _seed(db_file, files)
    con = duckdb.connect(str(db_file))
    try:
        migrate(con, [*MIGRATIONS, Migration(LATEST + 1, "future", "CREATE TABLE future_things (x INTEGER);")])
    finally:
        con.close()
    path = files.csv("d.csv", ["contact_id", "channel", "created_at"], [["c2", "phone", "2026-03-05 10:00"]])
    user_error(cli("import", "contacts", str(path)), "newer than this cxkpi")


def test_read_only_open_of_a_missing_warehouse(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no warehouse"):
        open_warehouse(tmp_path / "absent.duckdb", read_only=True)
    assert not (tmp_path / "absent.duckdb").exists()


def test_open_in_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        open_warehouse(tmp_path / "nope" / "wh.duckdb")


def test_open_a_file_that_is_not_a_warehouse(tmp_path: Path) -> None:
    junk = tmp_path / "junk.duckdb"
    junk.write_text("hello\n" * 1000)
    with pytest.raises(UserError):
        open_warehouse(junk)
