"""Which mapping an import uses: a shipped one, one an administrator stored, or (on the
command line only) a YAML file of the user's own.

A server never opens a path named in a request: an upload names a shipped or a stored
mapping, and an administrator stores a mapping by giving its text (``cxkpi mapping add``),
checked before it is kept.
"""

from __future__ import annotations

import re

import duckdb

from cxkpi.config import UserError
from cxkpi.ingest import mapping as mappings
from cxkpi.ingest.mapping import Mapping
from cxkpi.warehouse import mapping_store

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_TEXT = 1 << 20  # bytes of one mapping's YAML


def names(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """The mappings an upload may name: ``shipped`` and ``stored``."""
    return {"shipped": mappings.available(), "stored": list(mapping_store.stored_texts(con))}


def resolve(con: duckdb.DuckDBPyConnection, name: str, files: bool) -> Mapping:
    """The mapping ``name`` designates: shipped, else stored, else (``files``) a YAML file."""
    if name in mappings.available():
        return mappings.load_shipped(name)
    text = mapping_store.stored_text(con, name) if NAME.match(name) else None
    if text is not None:
        return mappings.parse_text(text, name)
    if files:
        return mappings.load(name)
    known = names(con)
    listed = ", ".join(known["shipped"] + known["stored"])
    raise UserError(f"unknown mapping {name[:100]!r}: name a shipped or stored mapping ({listed}), not a file")


def add(con: duckdb.DuckDBPyConnection, name: str, text: str) -> Mapping:
    """Check and store the mapping ``text`` under ``name`` (replacing a stored one)."""
    if not NAME.match(name):
        raise UserError("a mapping name is 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter or digit")
    if name in mappings.available():
        raise UserError(f"{name!r} is the name of a shipped mapping: choose another")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT:
        raise UserError(f"a mapping is at most {MAX_TEXT:,} bytes of YAML")
    m = mappings.parse_text(text, name)
    mapping_store.store_text(con, name, text)
    return m


def remove(con: duckdb.DuckDBPyConnection, name: str) -> None:
    if not mapping_store.remove_text(con, name):
        raise UserError(f"no stored mapping {name[:100]!r}")
