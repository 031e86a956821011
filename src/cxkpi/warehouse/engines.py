"""Query engines behind one portable layer (Ibis): DuckDB embedded, Apache Spark distributed.

KPI definitions are Ibis expressions and never know the engine. The few operations Ibis
does not translate portably (UTC to local wall time, exact epoch microseconds) are
provided here per engine, as the ``Engine`` object's functions, and so is the way small
in-memory tables (``ibis.memtable``: periods, a calendar's open days) reach Spark with their
declared types: this module is the only place that names an engine.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.datatypes as dt
from ibis.backends.duckdb import Backend as DuckDBBackend  # at import: not at a query's first call
from ibis.expr import operations as ops

from cxkpi.config import UserError
from cxkpi.schema import TABLES

UTC_TS = dt.Timestamp(timezone="UTC")

# ibis 12 calls APIs that duckdb 2.0 and pandas 3.1 deprecate; harmless, and not the user's concern
THIRD_PARTY_WARNINGS = (
    r"fetch_arrow_table\(\) is deprecated",
    r"The 'future\.infer_string' option is deprecated",
)
for _message in THIRD_PARTY_WARNINGS:
    warnings.filterwarnings("ignore", message=_message)


class EngineKind(StrEnum):
    DUCKDB = "duckdb"
    SPARK = "spark"


@ibis.udf.scalar.builtin(name="timezone")
def _duck_local(tz: str, ts: UTC_TS) -> dt.Timestamp():  # type: ignore[valid-type]
    """DuckDB: the wall-clock time of ``ts`` in zone ``tz``."""


@ibis.udf.scalar.builtin(name="epoch_us")
def _duck_epoch_us(ts: UTC_TS) -> dt.int64:  # type: ignore[valid-type]
    """DuckDB: microseconds since 1970-01-01 UTC."""


@ibis.udf.scalar.builtin(name="from_utc_timestamp")
def _spark_local(ts: UTC_TS, tz: str) -> dt.Timestamp():  # type: ignore[valid-type]
    """Spark: the wall-clock time of ``ts`` in zone ``tz`` (session zone UTC)."""


@ibis.udf.scalar.builtin(name="unix_micros")
def _spark_epoch_us(ts: UTC_TS) -> dt.int64:  # type: ignore[valid-type]
    """Spark: microseconds since 1970-01-01 UTC."""


@dataclass
class Engine:
    """An Ibis backend plus the engine-specific pieces the KPI layer needs."""

    kind: EngineKind
    backend: Any
    _local: Callable[[Any, str], Any]
    _epoch_us: Callable[[Any], Any]
    raw: Any = None  # the DuckDB connection, when the engine is DuckDB
    # facts about the data (latest timestamps, spans, columns...): a server shares one dict per
    # data version between its requests; otherwise each engine has its own
    facts: dict[Any, Any] = field(default_factory=dict)
    # False where tables can change under a live engine without a data version (Spark views
    # registered again by the caller): then nothing is remembered
    remembers: bool = True
    _tables: dict[str, Any] = field(default_factory=dict, repr=False)

    def table(self, name: str) -> Any:
        if not self.remembers:
            return self.backend.table(name)
        if name not in self._tables:
            self._tables[name] = self.backend.table(name)
        return self._tables[name]

    def narrowed(self, name: str, other: str) -> Engine:
        """A copy of this engine reading table ``other`` wherever ``name`` is asked for, with
        a copy of its facts: a refresh of a few days computes them, by the same expressions,
        from a temporary table of the rows on those days, while facts about the whole data
        (the latest contact) stay the whole table's."""
        return replace(self, facts=dict(self.facts), _tables={**self._tables, name: self.backend.table(other)})

    def has_table(self, name: str) -> bool:
        def look() -> bool:
            try:
                self.table(name)
            except Exception:  # each backend raises its own "not found"
                return False
            return True

        found: bool = self.fact(("has_table", name), look)
        return found

    def fact(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per data version (see ``facts``)."""
        if not self.remembers:
            return compute()
        if key not in self.facts:
            self.facts[key] = compute()
        return self.facts[key]

    def local_time(self, ts: Any, tz: str) -> Any:
        """Naive wall-clock timestamp of a UTC timestamp expression in zone ``tz``."""
        return self._local(ts, tz)

    def epoch_us(self, ts: Any) -> Any:
        """Exact microseconds since the epoch (int64) of a timestamp expression."""
        return self._epoch_us(ts)

    def seconds_between(self, start: Any, end: Any) -> Any:
        """``end - start`` in seconds (float64), exact to the microsecond on every engine."""
        return (self.epoch_us(end) - self.epoch_us(start)).cast("float64") / 1_000_000.0


def duckdb_engine(con: duckdb.DuckDBPyConnection, facts: dict[Any, Any] | None = None) -> Engine:
    """The embedded engine over an open warehouse connection (``facts``: see ``Engine.facts``)."""
    return Engine(
        kind=EngineKind.DUCKDB,
        backend=DuckDBBackend.from_connection(con),
        _local=lambda ts, tz: _duck_local(tz, ts),
        _epoch_us=_duck_epoch_us,
        raw=con,
        facts={} if facts is None else facts,
    )


_SPARK: Any = None


def spark_session(master: str | None = None) -> Any:
    """One Spark session per process, in UTC; local mode shrunk to one partition by default.

    ``master`` is a Spark master URL (``local[2]``, ``spark://host:7077``...); the default,
    ``$CXKPI_SPARK_MASTER`` or ``local[1]``, suits tests and one machine.
    """
    global _SPARK
    if _SPARK is not None:
        return _SPARK
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UserError("the Spark engine needs pyspark: pip install 'cxkpi[spark]'") from None
    url = master or os.environ.get("CXKPI_SPARK_MASTER") or "local[1]"
    builder = (
        SparkSession.builder.master(url)
        .appName("cxkpi")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="cxkpi-spark-"))  # never in the caller's folder
        .config("spark.ui.enabled", "false")
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.sql.parquet.inferTimestampNTZ.enabled", "false")
    )
    if url.startswith("local"):
        builder = builder.config("spark.sql.shuffle.partitions", "1").config("spark.default.parallelism", "1")
    try:
        _SPARK = builder.getOrCreate()
    except Exception as exc:  # Java missing, bad master URL
        raise UserError(f"cannot start Spark ({str(exc).splitlines()[0]})") from None
    _SPARK.sparkContext.setLogLevel("ERROR")
    return _SPARK


@cache
def _spark_backend_class() -> type:
    """Ibis's PySpark backend, with in-memory tables handed to Spark as Arrow tables.

    Ibis hands Spark a pandas frame (``verifySchema=False``): an int64 column holding nulls
    is a float column in pandas, and Spark silently turns every float of a LONG column into
    null (a calendar's open segments: business time then counted whole days). Arrow keeps
    each column's declared type and its nulls (dates as DATE, UTC timestamps as TIMESTAMP).
    """
    from ibis.backends.pyspark import Backend as PySparkBackend

    getattr(ibis, "pyspark")  # loads the backend the ibis way: registers ibis.options.pyspark

    class SparkBackend(PySparkBackend):  # type: ignore[misc]
        def _register_in_memory_table(self, op: ops.InMemoryTable) -> None:
            data = op.data.to_pyarrow(op.schema)
            self._session.createDataFrame(data).createOrReplaceTempView(op.name)

    return SparkBackend


def spark_engine(master: str | None = None, data: Path | None = None) -> Engine:
    """The distributed engine. ``data`` is a folder of Parquet files, one per table
    (``cxkpi export``); without it the tables must already be in the Spark catalog.
    """
    session = spark_session(master)
    if data is not None:
        if not data.is_dir():
            raise UserError(f"{data}: no such folder of Parquet tables")
        for name in TABLES:
            path = data / f"{name}.parquet"
            if path.exists():
                session.read.parquet(str(path)).createOrReplaceTempView(name)
    return Engine(
        kind=EngineKind.SPARK,
        backend=_spark_backend_class()().connect(session),
        _local=_spark_local,
        _epoch_us=_spark_epoch_us,
        remembers=False,
    )
