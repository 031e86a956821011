"""Downloads never turn imported text into spreadsheet formulas (CSV and XLSX)."""

from __future__ import annotations

import csv
import io

import openpyxl
import pandas as pd

from cxkpi.dashboard.widgets import export_response

FRAME = pd.DataFrame({"team": ['=HYPERLINK("http://evil")', "Lyon", None, "@SUM(A1)"], "fcr": [0.5, -0.25, None, 1.0]})


def test_csv_cells_that_look_like_formulas_are_text() -> None:
    body = bytes(export_response(FRAME, "csv", "t").body).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["team"] for r in rows] == ["'=HYPERLINK(\"http://evil\")", "Lyon", "", "'@SUM(A1)"]
    assert [r["fcr"] for r in rows] == ["0.5", "-0.25", "", "1.0"]  # numbers stay numbers, negatives included


def test_xlsx_cells_that_look_like_formulas_are_strings() -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(bytes(export_response(FRAME, "xlsx", "t").body))).active
    assert sheet is not None
    cells = [(c.value, c.data_type) for c in sheet["A"][1:]]
    assert cells[0] == ('=HYPERLINK("http://evil")', "s") and cells[3] == ("@SUM(A1)", "s")
    assert [c.value for c in sheet["B"][1:]] == [0.5, -0.25, None, 1.0]
