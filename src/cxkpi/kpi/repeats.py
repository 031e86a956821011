"""What brought customers back: the reasons of the repeat contacts that break FCR.

For every answered inbound contact counted in FCR (customer known, window within the
data) whose customer came back within the window, the repeat is the customer's next
inbound contact (on any channel); this pairs the first contact's reason with the
repeat's reason and channel. Counts, and shares of the first contacts of that reason.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from cxkpi.config import UserError
from cxkpi.kpi import params as kpi_params
from cxkpi.kpi.query import PERIOD, KpiQuery
from cxkpi.kpi.scan import period_label, rows
from cxkpi.kpi.model import Grain
from cxkpi.kpi.sources import CONTACT_DIMS, SOURCES
from cxkpi.warehouse.engines import Engine

__all__ = ["repeat_reasons"]


def repeat_reasons(engine: Engine, q: KpiQuery, by: Sequence[str] = ()) -> pd.DataFrame:
    """Per (dimensions of the first contact, period, first reason, repeat reason, repeat
    channel): first contacts, those that came back, and the share that came back for that
    repeat reason."""
    for dim in by:
        if dim not in CONTACT_DIMS:
            raise UserError(f"repeats accept the contact dimensions ({', '.join(CONTACT_DIMS)}), not {dim!r}")
    p = kpi_params.resolve(q.params)
    if p["fcr_same_reason"]:
        raise UserError("repeat reasons look at any next contact: leave fcr_same_reason off")
    base = rows(engine, SOURCES["contacts"], q, p)
    base = base.filter(base._fcr_base)
    keys = [*by, *([PERIOD] if q.grain is not Grain.ALL else []), "reason"]
    totals = base.group_by(keys).aggregate(first_contacts=base.count())
    back = base.filter(~base._fcr_ok)
    contacts = engine.table("contacts")
    nxt = contacts.filter(contacts.direction == "inbound").select(
        customer_id="customer_id", next_at="created_at", repeat_reason="reason", repeat_channel="channel"
    )
    pairs = back.join(nxt, [back.customer_id == nxt.customer_id, back.next_inbound_at == nxt.next_at])
    # several contacts at the very same time: each is a repeat of its own reason, counted once per first contact
    pairs = pairs.select(*keys, "contact_id", "repeat_reason", "repeat_channel").distinct()
    counts = pairs.group_by([*keys, "repeat_reason", "repeat_channel"]).aggregate(came_back=pairs.contact_id.nunique())
    joined = counts.join(totals, keys).select(counts, totals.first_contacts)
    df = joined.to_pandas()
    if df.empty:
        return df
    if q.grain is not Grain.ALL:
        df[PERIOD] = [period_label(v, q.grain) for v in df[PERIOD]]
    df["share"] = df["came_back"] / df["first_contacts"]
    order = [*by, *([PERIOD] if q.grain is not Grain.ALL else []), "reason", "came_back"]
    df = df.sort_values(order, ascending=[True] * (len(order) - 1) + [False], na_position="last", kind="stable")
    return df[[*keys, "repeat_reason", "repeat_channel", "first_contacts", "came_back", "share"]].reset_index(drop=True)
