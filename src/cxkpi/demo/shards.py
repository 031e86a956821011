"""A large demo as a network of regional centres, generated one at a time.

The generator (``cxkpi.demo.generate``) holds a whole year in memory: about 0.5 GB at
scale 1, growing with the scale. Above ``CHUNK_SCALE`` the demo is therefore the sum of
K = ceil(scale / CHUNK_SCALE) independent regional centres ("shards"), each one year of
the same bank at scale ``scale / K``, so memory depends on the chunk, not on the scale.

Each shard draws from its own random streams, spawned from (seed, shard index): the
same seed and scale always give the same tables, and a shard can be generated without
the others. Its identifiers are made distinct by a region tag after their letters
(``CT00000001`` becomes ``CT03-00000001`` in region 3 of 10, ``AG0041`` ``AG03-0041``),
team names get the region (``Lyon Digital (R03)``): every key and every team belongs to
one shard, so shards never collide in the warehouse nor merge into one team. Sites,
queues, channels and the other vocabularies stay shared, and aggregate across regions.
A demo of one shard (scale at most ``CHUNK_SCALE``) is exactly ``generate(seed, scale)``.

Customers of one region only contact that region, so repeat contacts and churn are
simulated within it; the whole is a bank whose regions share nothing but their sites.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cxkpi.demo.generate import Progress, generate

#: Largest scale generated in one piece. Generation peaks at about 0.45 GB per unit of
#: scale (compact text) and the import adds DuckDB's memory (1 GB at most, see
#: ``cxkpi.demo.load``). Measured peaks with chunks of 1: 0.95 to 1.2 GB at scale 4,
#: 1.36 GB at scale 20; with chunks of 2: 1.41 GB at scale 4, and no faster (the import's
#: cost is per row). 1 keeps the most room under 2 GB.
CHUNK_SCALE = 1.0

#: Columns holding identifiers, per table: each gets the shard's region tag.
ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": ("contact_id", "customer_id", "case_id", "agent_id"),
    "cases": ("case_id", "customer_id", "agent_id"),
    "surveys": ("survey_id", "contact_id", "customer_id", "agent_id"),
    "evaluations": ("evaluation_id", "agent_id", "evaluator_id", "contact_id"),
    "agent_states": ("agent_id",),
    "customers": ("customer_id",),
    "customer_revenue": ("customer_id",),
    "cashflows": ("cashflow_id",),
    "loans": ("loan_id", "customer_id"),
}
#: Columns holding team names: each gets the shard's region.
TEAM_COLUMNS: dict[str, tuple[str, ...]] = {"contacts": ("team",), "cases": ("team",), "cashflows": ("team",)}


@dataclass(frozen=True)
class ShardPlan:
    """How a demo of ``scale`` is cut: ``count`` shards of ``scale / count`` each."""

    seed: int
    scale: float
    count: int

    @property
    def shard_scale(self) -> float:
        return self.scale / self.count

    def tag(self, index: int) -> str:
        """The region tag of shard ``index`` (0-based): its 1-based number, zero-padded to
        one width for the whole demo (two digits at least), so ids keep one shape."""
        if not 0 <= index < self.count:
            raise ValueError(f"shard {index} of a demo in {self.count}")
        return f"{index + 1:0{max(2, len(str(self.count)))}d}"


def plan(seed: int, scale: float, chunk_scale: float = CHUNK_SCALE) -> ShardPlan:
    """Cut a demo of ``scale`` into the fewest shards of at most ``chunk_scale`` each."""
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    if not chunk_scale > 0:
        raise ValueError(f"chunk scale must be positive, got {chunk_scale!r}")
    # a scale that is a whole number of chunks up to rounding (3 * 0.1 / 0.1) is not one more
    return ShardPlan(seed, scale, max(1, math.ceil(round(scale / chunk_scale, 9))))


def generate_shard(
    shards: ShardPlan, index: int, progress: Progress | None = None, *, compact_text: bool = False
) -> dict[str, pa.Table]:
    """The tables of shard ``index`` of ``shards``; with one shard, ``generate(seed, scale)``."""
    if shards.count == 1:
        shards.tag(index)  # checks the index
        return generate(shards.seed, shards.scale, progress, compact_text=compact_text)
    tag = shards.tag(index)
    stream = np.random.SeedSequence([shards.seed, index])
    tables = generate(stream, shards.shard_scale, progress, compact_text=compact_text)
    return {name: retag(name, t, tag) for name, t in tables.items()}


def retag(name: str, table: pa.Table, tag: str) -> pa.Table:
    """Table ``name`` of one shard with its identifiers and team names made the region's."""
    for column in ID_COLUMNS.get(name, ()):
        table = _map_text(table, column, lambda a: pc.replace_substring_regex(a, pattern="^([A-Z]+)",
                                                                             replacement="\\1" + tag + "-"))
    for column in TEAM_COLUMNS.get(name, ()):
        table = _map_text(table, column, lambda a: pc.binary_join_element_wise(a, pa.scalar(f" (R{tag})"), ""))
    return table


def _map_text(table: pa.Table, column: str, fn: Callable[[pa.Array], pa.Array]) -> pa.Table:
    """Apply ``fn`` to the text of ``column``: to the values of a plain string column, to
    the dictionary only of a dictionary-encoded one (a few labels instead of every row)."""
    chunks = []
    for chunk in table.column(column).chunks:
        if isinstance(chunk, pa.DictionaryArray):
            chunks.append(pa.DictionaryArray.from_arrays(chunk.indices, fn(chunk.dictionary)))
        else:
            chunks.append(fn(chunk))
    i = table.schema.get_field_index(column)
    return table.set_column(i, table.schema.field(i), pa.chunked_array(chunks, type=table.schema.field(i).type))
