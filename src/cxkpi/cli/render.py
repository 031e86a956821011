"""KPI results as a Rich table: labels and numbers in the user's language, status coloured."""

from __future__ import annotations

import pandas as pd
from rich.table import Table
from rich.text import Text

from cxkpi.kpi import KpiQuery, kpi_named
from cxkpi.kpi.format import format_value
from cxkpi.kpi.output import records

STATUS_STYLE = {"green": "green", "amber": "yellow", "red": "red"}


def kpi_table(frame: pd.DataFrame, q: KpiQuery, lang: str = "en") -> Table:
    """Columns headed by KPI names (short, as typed on the command line); labels in the caption."""
    kpis = {name: kpi_named(name) for name in q.kpis}
    caption = "; ".join(f"{k.name}: {k.label(lang)}" for k in kpis.values())
    grid = Table(show_lines=False, caption=caption, caption_justify="left")
    for col in frame.columns:
        if col in kpis:
            grid.add_column(col, justify="right", overflow="fold")
        elif col.endswith("_status") or col.endswith("_target"):
            grid.add_column(col.rsplit("_", 1)[1] if lang == "en" else {"status": "statut", "target": "objectif"}[col.rsplit("_", 1)[1]], justify="right")
        else:
            grid.add_column(col, justify="left" if col in (*q.by, "period") else "right")
    for row in records(frame):
        cells: list[Text | str] = []
        for col, value in row.items():
            if col in kpis:
                cells.append(format_value(value, kpis[col].unit, lang))
            elif col.endswith("_target") and col[: -len("_target")] in kpis:
                cells.append(format_value(value, kpis[col[: -len("_target")]].unit, lang))
            elif col.endswith("_status"):
                cells.append(Text(value or "", style=STATUS_STYLE.get(value or "", "")))
            elif isinstance(value, float):
                cells.append(f"{value:,.2f}")
            else:
                cells.append("" if value is None else str(value))
        grid.add_row(*cells)
    return grid
