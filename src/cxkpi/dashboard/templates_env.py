"""The dashboard's Jinja2 templates (HTML autoescaped) and static files."""

from __future__ import annotations

from pathlib import Path

import plotly
from jinja2 import Environment, FileSystemLoader, select_autoescape

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"  # shipped inside the plotly package

templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
