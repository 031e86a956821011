"""cxkpi: one trusted answer for customer-service performance.

Layers, lowest first: ``config`` and ``schema``; ``warehouse`` (the only place that
knows the engine); ``ingest`` and ``demo``; ``cli`` (thin).
"""

from __future__ import annotations

__version__ = "0.1.0"
