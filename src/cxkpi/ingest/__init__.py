"""Importers: any source file into a canonical table, every row accepted or set aside."""

from __future__ import annotations

from cxkpi.ingest.importer import ImportReport, import_arrow, import_file
from cxkpi.ingest.mapping import Mapping, available as available_mappings, load as load_mapping
from cxkpi.ingest.sources import ReadOptions

__all__ = ["ImportReport", "Mapping", "ReadOptions", "available_mappings", "import_arrow", "import_file", "load_mapping"]
