"""The vocabulary of KPI declarations: units, directions, grains, parameters, measures, KPIs.

A KPI is data: labels, a formula, a unit, a direction, the dimensions it accepts and the
measures it is computed from. Measures are aggregations of one *source* (a table seen by
one of its timestamps); KPIs combine measures, so a monthly rate is always the ratio of
monthly sums, never a mean of daily rates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pandas as pd


class Unit(StrEnum):
    RATE = "rate"  # a fraction in [0, 1]
    POINTS = "points"  # NPS, in [-100, 100]
    SECONDS = "seconds"
    COUNT = "count"
    CURRENCY = "currency"
    SCORE = "score"  # a mean of a scale (CSAT 1-5, CES 1-7, quality 0-100, sentiment -1..1)
    PER_HOUR = "per_hour"


class Direction(StrEnum):
    HIGHER = "higher_is_better"
    LOWER = "lower_is_better"
    NEUTRAL = "neutral"


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    ALL = "all"


@dataclass(frozen=True)
class Param:
    """A configurable parameter of one or more KPIs, with its default."""

    name: str
    default: Any
    doc: str


@dataclass(frozen=True)
class Measure:
    """One aggregation of a source: ``build(table, params)`` returns an Ibis scalar expression.

    ``table`` is the source's enriched table (derived columns included); measures of one
    source are computed together in one grouped aggregation. An ``additive`` measure is a
    sum or a count over rows, so its value over a set of rows is the sum of its values over
    any partition of them (null only when every part is null): pre-aggregated daily
    rollups can answer it exactly (``kpi.rollups``). Quantiles and counts of distinct
    entities are not additive.
    """

    name: str
    source: str
    build: Callable[[Any, Mapping[str, Any]], Any]
    business: bool = False  # needs business-time columns (a calendar join)
    additive: bool = False  # a row sum or count: re-aggregated by summing
    # a flag column: only rows where it is true take part (a quantile's nulls elsewhere), so a
    # query that has its groups from elsewhere may read those rows alone
    only_where: str | None = None


# A KPI's arithmetic, written once and column-wise because the engine computes every group
# at once: ``(frame, params)`` to one value per row of ``frame``, which holds one row per group
# and one column per measure (null where the group has no row of the measure's source; a
# measure absent from the frame is null everywhere).
Formula = Callable[[pd.DataFrame, Mapping[str, Any]], pd.Series]


@dataclass(frozen=True)
class Kpi:
    """A KPI declaration; ``formula_of(frame, params)`` turns every group's measure values
    (one row each) into the KPI's values, and ``formula`` says the same in words for the docs."""

    name: str
    label_en: str
    label_fr: str
    definition_en: str
    definition_fr: str
    formula: str
    unit: Unit
    direction: Direction
    measures: tuple[str, ...]
    formula_of: Formula
    dimensions: tuple[str, ...]
    inputs: tuple[str, ...]
    params: tuple[str, ...] = ()
    min_grain: Grain = Grain.DAY
    counts: tuple[str, ...] = field(default=())  # measures shown by --with-counts (default: all)

    @property
    def shown_counts(self) -> tuple[str, ...]:
        return self.counts or self.measures

    def label(self, lang: str) -> str:
        return self.label_fr if lang == "fr" else self.label_en

    def definition(self, lang: str) -> str:
        return self.definition_fr if lang == "fr" else self.definition_en


def ratio(num: str, den: str, scale: float = 1.0) -> Formula:
    """``scale * num / den``; null when either is missing or the denominator is 0 (no eligible
    rows), so an empty group shows no rate rather than 0 or infinity."""

    def formula(frame: pd.DataFrame, p: Mapping[str, Any]) -> pd.Series:
        n, d = floats(frame, num), floats(frame, den)
        return ((scale * n) / d).mask(n.isna() | missing_or_zero(d))

    return formula


def value(measure: str) -> Formula:
    """The measure itself: null when the group has no row of the measure's source."""

    def formula(frame: pd.DataFrame, p: Mapping[str, Any]) -> pd.Series:
        return floats(frame, measure)

    return formula


def floats(frame: pd.DataFrame, column: str) -> pd.Series:
    """A measure column as nullable floats (a measure absent from the frame: all null)."""
    if column not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="Float64")
    return frame[column].astype("Float64")


def missing_or_zero(s: pd.Series) -> pd.Series:
    """Where ``s`` cannot be a denominator: null, or 0."""
    return s.isna() | (s == 0)


def compute_column(kpi: Kpi, frame: pd.DataFrame, params: Mapping[str, Any]) -> pd.Series:
    """``kpi`` for every group (row) of ``frame`` at once, by its formula."""
    values: pd.Series = kpi.formula_of(frame, params)
    return values
