"""The canonical tables of SPEC §2, declared once: importers, warehouse and docs read them."""

from __future__ import annotations

from cxkpi.schema.tables import TABLES, Column, ColumnType, Order, Table, table

__all__ = ["TABLES", "Column", "ColumnType", "Order", "Table", "table"]
