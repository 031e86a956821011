"""Demo data: a year of a French retail bank's multichannel customer service.

``generate(seed, scale)`` returns one Arrow table per canonical table (SPEC §2), with
queues simulated from the staffing, so waits, abandons, repeats, satisfaction, quality,
churn and money hang together. See ``cxkpi.demo.generate`` for the stages.
"""

from __future__ import annotations

from cxkpi.demo.generate import generate

__all__ = ["generate"]
