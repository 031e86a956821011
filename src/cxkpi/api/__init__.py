"""The web panel's server: the REST API, security and the served warehouse (``cxkpi serve``)."""

from __future__ import annotations

from cxkpi.api.app import create_app, serve

__all__ = ["create_app", "serve"]
