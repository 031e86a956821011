"""The one process of ``cxkpi serve``: the REST API and the dashboard mounted on one application."""

from __future__ import annotations

from cxkpi.server.app import create_app, serve

__all__ = ["create_app", "serve"]
