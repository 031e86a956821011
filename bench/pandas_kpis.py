"""A straightforward pandas implementation of the SPEC §3 KPI definitions (benchmark contender).

Written the way a pandas user would: load the needed columns of each table from DuckDB
(through Arrow, 3-5x faster than ``.df()`` for text columns), convert to the reporting zone with ``tz_convert``, compute the per-row flags,
``groupby`` sums / counts / linear quantiles, then ratios. FCR is computed here from the
contacts themselves (sorted by customer and time, shifted), not from the warehouse's
``next_inbound_at``; the backlog is a loop over the periods' ends. It is independent of
``cxkpi.kpi`` on purpose, so ``bench/kpi_catalogue.py --check`` cross-checks the two.

Scope: the sources the benchmark workloads use (contacts, contact customers, closed cases,
backlog, agent states, survey responses and sends, evaluations, agent-week coverage), any
``by`` among their dimensions, grains day..year, the whole data range, default parameters.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

warnings.filterwarnings("ignore", category=Warning, module="duckdb")
warnings.filterwarnings("ignore", message=".*inplace keyword.*")

PERIOD = "period"

# SPEC §3 defaults
THRESHOLDS = {"phone": 20, "video": 20, "chat": 60, "sms": 3600, "social": 3600, "email": 86400, "web_form": 86400}
SHORT_ABANDON_S = 5.0
FCR_WINDOW = pd.Timedelta(days=7)
CSAT_TOP = 4
DIGITAL = ("email", "chat", "social", "web_form", "sms", "selfcare")
DAY_S = 86_400.0

CONTACT_DIMS = ("channel", "queue", "team", "site", "agent_id", "reason", "product", "segment", "language", "direction")
CASE_DIMS = ("channel", "status", "reason", "priority", "team", "site", "agent_id")
SURVEY_CONTACT_DIMS = ("channel", "queue", "team", "site", "reason", "product", "segment")
SURVEY_DIMS = ("mode", "language", "agent_id", *SURVEY_CONTACT_DIMS)

# KPI -> (unit kind, sources it reads, formula over the merged measures frame)
Formula = Callable[[pd.DataFrame], pd.Series]


def _ratio(num: str, den: str, scale: float = 1.0) -> Formula:
    def f(m: pd.DataFrame) -> pd.Series:
        n, d = m[num].astype("float64"), m[den].astype("float64")
        return (scale * n / d).where(d.notna() & (d != 0) & n.notna())

    return f


def _value(col: str) -> Formula:
    return lambda m: m[col].astype("float64")


def _flag_rate(flag: str, known: str) -> Formula:
    def f(m: pd.DataFrame) -> pd.Series:
        k = m[known].astype("float64")
        return _ratio(flag, "answered")(m).where(k.notna() & (k != 0))

    return f


def _nps(m: pd.DataFrame) -> pd.Series:
    n = m["nps_n"].astype("float64")
    out = 100.0 * (m["promoters"].astype("float64").fillna(0) - m["detractors"].astype("float64").fillna(0)) / n
    return out.where(n.notna() & (n != 0))


def _per_hour(m: pd.DataFrame) -> pd.Series:
    """Answered contacts per logged productive hour; hours logged with no contact give 0."""
    a, s = m["answered"].astype("float64").fillna(0.0), m["productive_s"].astype("float64")
    return (a / (s / 3600.0)).where(s.notna() & (s != 0))


C, CU, CC, BL, AS, RS, SS, EV, AW = (
    "contacts", "contact_customers", "cases_closed", "backlog", "agent_states", "responses", "surveys_sent",
    "evaluations", "agent_weeks",
)

KPIS: dict[str, tuple[str, tuple[str, ...], Formula]] = {
    "contacts_offered": ("count", (C,), _value("offered")),
    "contacts_answered": ("count", (C,), _value("answered")),
    "contacts_abandoned": ("count", (C,), _value("abandoned")),
    "short_abandons": ("count", (C,), _value("short_abandoned")),
    "answer_rate": ("rate", (C,), _ratio("answered", "offered")),
    "abandon_rate": ("rate", (C,), _ratio("abandoned", "offered")),
    "service_level": ("rate", (C,), _ratio("answered_in_t", "offered")),
    "asa": ("seconds", (C,), _ratio("wait_sum_s", "wait_n")),
    "wait_p90": ("seconds", (C,), _value("wait_p90_s")),
    "aht": ("seconds", (C,), _ratio("handle_sum_s", "handle_n")),
    "communication_time": ("seconds", (C,), _ratio("comm_sum_s", "comm_n")),
    "fcr": ("rate", (C,), _ratio("fcr_ok", "fcr_base")),
    "transfer_rate": ("rate", (C,), _flag_rate("transferred", "transfer_known")),
    "selfcare_rate": ("rate", (C,), _ratio("selfcare", "inbound")),
    "digital_rate": ("rate", (C,), _ratio("digital", "inbound")),
    "conversion_rate": ("rate", (C,), _flag_rate("converted", "conversion_known")),
    "repeat_contact_rate": ("rate", (CU,), _ratio("customers_repeating", "customers_in_contact")),
    "backlog_open": ("count", (BL,), _value("backlog")),
    "backlog_age_mean": ("seconds", (BL,), _ratio("backlog_age_sum_s", "backlog")),
    "backlog_aged_lt_1d": ("count", (BL,), _value("backlog_lt_1d")),
    "backlog_aged_1_3d": ("count", (BL,), _value("backlog_1_3d")),
    "backlog_aged_3_7d": ("count", (BL,), _value("backlog_3_7d")),
    "backlog_aged_gt_7d": ("count", (BL,), _value("backlog_gt_7d")),
    "resolution_time": ("seconds", (CC,), _ratio("resolution_sum_s", "cases_closed")),
    "resolution_time_median": ("seconds", (CC,), _value("resolution_median_s")),
    "resolution_time_p90": ("seconds", (CC,), _value("resolution_p90_s")),
    "once_and_done_rate": ("rate", (CC,), _ratio("cases_one_contact", "cases_closed")),
    "contacts_per_case": ("score", (CC,), _ratio("case_contacts", "cases_closed")),
    "occupancy": ("rate", (AS,), _ratio("busy_s", "productive_s")),
    "shrinkage": ("rate", (AS,), _ratio("shrink_s", "present_s")),
    "contacts_per_hour": ("per_hour", (C, AS), _per_hour),
    "csat": ("rate", (RS,), _ratio("csat_top", "csat_n")),
    "csat_mean": ("score", (RS,), _ratio("csat_sum", "csat_n")),
    "nps": ("points", (RS,), _nps),
    "ces": ("score", (RS,), _ratio("ces_sum", "ces_n")),
    "survey_response_rate": ("rate", (SS,), _ratio("surveys_responded", "surveys_sent")),
    "quality_score": ("score", (EV,), _ratio("quality_sum", "evaluations")),
    "evaluation_coverage": ("rate", (AW,), _ratio("agent_weeks_covered", "agent_weeks")),
}


# ---------------------------------------------------------------- time helpers


def local_period(ts: pd.Series, grain: str, tz: str) -> pd.Series:
    """First local day of the period of each UTC timestamp, as a naive datetime64."""
    local = ts.dt.tz_convert(tz).dt.tz_localize(None)
    return _truncate(local, grain)


def _truncate(local: pd.Series, grain: str) -> pd.Series:
    day = local.dt.normalize()
    if grain == "day":
        return day
    if grain == "week":
        return day - pd.to_timedelta(day.dt.weekday, unit="D")
    freq = {"month": "M", "quarter": "Q", "year": "Y"}[grain]
    return local.dt.to_period(freq).dt.start_time.astype(day.dtype)


def label(start: pd.Timestamp, grain: str) -> str:
    if grain == "day":
        return str(start.strftime("%Y-%m-%d"))
    if grain == "week":
        iso = start.isocalendar()
        return f"{iso[0]}-W{iso[1]:02d}"
    if grain == "month":
        return str(start.strftime("%Y-%m"))
    if grain == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def seconds(a: pd.Series, b: pd.Series) -> pd.Series:
    """b - a in seconds (NaN when either is missing)."""
    return (b - a).dt.total_seconds()


# ---------------------------------------------------------------- loading


class Data:
    """The tables, loaded lazily (each once) with the columns the requested sources need."""

    def __init__(self, con: duckdb.DuckDBPyConnection, needs: dict[str, set[str]]):
        self.con, self.needs = con, needs
        self._cache: dict[str, pd.DataFrame] = {}

    def __getitem__(self, table: str) -> pd.DataFrame:
        if table not in self._cache:
            cols = ", ".join(sorted(self.needs[table]))
            # Arrow -> pandas (3-5x faster than .df() for text columns); nullable booleans stay boolean
            batches = self.con.sql(f"SELECT {cols} FROM {table}").arrow()
            arrow = batches.read_all() if hasattr(batches, "read_all") else batches
            self._cache[table] = arrow.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
        return self._cache[table]


def columns_needed(sources: set[str], by: Sequence[str]) -> dict[str, set[str]]:
    need: dict[str, set[str]] = {}

    def add(table: str, *cols: str) -> None:
        need.setdefault(table, set()).update(cols)

    if C in sources:
        add("contacts", "direction", "outcome", "channel", "created_at", "answered_at", "ended_at", "wrap_seconds",
            "customer_id", "transferred", "converted", *by)
    if CU in sources:
        add("contacts", "direction", "customer_id", "created_at", *by)
    if CC in sources or BL in sources:
        add("cases", "opened_at", "closed_at", *by)
    if CC in sources:
        add("cases", "case_id")
        add("contacts", "case_id")
    if RS in sources or SS in sources:
        add("surveys", "contact_id", "responded_at", "sent_at", "csat", "nps", "ces",
            *(d for d in by if d not in SURVEY_CONTACT_DIMS))
        contact_dims = [d for d in by if d in SURVEY_CONTACT_DIMS or d == "agent_id"]
        if contact_dims:
            add("contacts", "contact_id", *contact_dims)
    if AS in sources:
        add("agent_states", "agent_id", "state", "start_at", "end_at")
    if EV in sources or AW in sources:
        add("evaluations", "evaluation_id", "agent_id", "evaluated_at", "mode", "score", "max_score", "weight")
    if AW in sources:
        add("contacts", "direction", "answered_at", "agent_id", "created_at")
    return need


# ---------------------------------------------------------------- sources


def _group(df: pd.DataFrame, keys: list[str]) -> Any:
    return df.groupby(keys, dropna=False, sort=False, observed=True)


def contacts(d: Data, by: list[str], grain: str, tz: str) -> pd.DataFrame:
    c = d["contacts"]
    inbound = c["direction"] == "inbound"
    wait = seconds(c["created_at"], c["answered_at"])
    end_wait = seconds(c["created_at"], c["ended_at"])
    threshold = c["channel"].astype("category").map(THRESHOLDS).astype("float64")
    abandoned = inbound & (c["outcome"] == "abandoned")
    short = abandoned & end_wait.notna() & (end_wait < SHORT_ABANDON_S)
    answered = inbound & c["answered_at"].notna()
    ended = answered & c["ended_at"].notna()
    offered = inbound & c["outcome"].isin(["answered", "abandoned"]) & ~short

    # FCR: the same customer's next inbound contact strictly later, on any channel
    # (sort by customer and time, shift; a contact at the very same time is not a later one)
    eligible = inbound & c["customer_id"].notna()
    times = c.loc[eligible, ["customer_id", "created_at"]].sort_values(["customer_id", "created_at"], kind="stable")
    nxt = times.groupby("customer_id", sort=False)["created_at"].shift(-1)
    nxt = nxt.where(nxt != times["created_at"])
    nxt = nxt.groupby(times["customer_id"], sort=False).bfill()
    next_at = pd.Series(pd.NaT, index=c.index, dtype=c["created_at"].dtype)
    next_at.loc[times.index] = nxt
    data_end = c["created_at"].max()
    fcr_base = answered & c["customer_id"].notna() & (c["created_at"] + FCR_WINDOW <= data_end)
    limit = c["created_at"] + FCR_WINDOW
    fcr_ok = fcr_base & (next_at.isna() | (next_at > limit))

    f = pd.DataFrame({k: c[k] for k in by})
    f[PERIOD] = local_period(c["created_at"], grain, tz)
    f["inbound"] = inbound
    f["offered"] = offered
    f["answered"] = answered
    f["abandoned"] = abandoned & ~short
    f["short_abandoned"] = short
    f["answered_in_t"] = answered & (wait <= threshold).fillna(False)
    f["abandoned_in_t"] = abandoned & ~short & (end_wait <= threshold).fillna(False)
    f["wait_s"] = wait.where(answered)
    f["handle_s"] = (seconds(c["answered_at"], c["ended_at"]) + c["wrap_seconds"].fillna(0.0)).where(ended)
    f["comm_s"] = end_wait.where(ended)
    f["fcr_base"] = fcr_base
    f["fcr_ok"] = fcr_ok
    f["transferred"] = answered & c["transferred"].fillna(False).astype(bool)
    f["transfer_known"] = answered & c["transferred"].notna()
    f["converted"] = answered & c["converted"].fillna(False).astype(bool)
    f["conversion_known"] = answered & c["converted"].notna()
    f["selfcare"] = inbound & ((c["outcome"] == "deflected") | (c["channel"] == "selfcare"))
    f["digital"] = inbound & c["channel"].isin(DIGITAL)

    flags = ["inbound", "offered", "answered", "abandoned", "short_abandoned", "answered_in_t", "abandoned_in_t",
             "fcr_base", "fcr_ok", "transferred", "transfer_known", "converted", "conversion_known", "selfcare",
             "digital"]
    g = _group(f, [*by, PERIOD])
    out = g[flags].sum()
    for col, name in (("wait_s", "wait"), ("handle_s", "handle"), ("comm_s", "comm")):
        out[f"{name}_sum_s"] = g[col].sum(min_count=1)
        out[f"{name}_n"] = g[col].count()
    out["wait_p90_s"] = g["wait_s"].quantile(0.9, interpolation="linear")
    return out.reset_index()


def contact_customers(d: Data, by: list[str], grain: str, tz: str) -> pd.DataFrame:
    c = d["contacts"]
    c = c[(c["direction"] == "inbound") & c["customer_id"].notna()]
    f = pd.DataFrame({k: c[k] for k in [*by, "customer_id"]})
    f[PERIOD] = local_period(c["created_at"], grain, tz)
    per_customer = _group(f, [*by, PERIOD, "customer_id"]).size().rename("n").reset_index()
    per_customer["repeating"] = per_customer["n"] >= 2
    g = _group(per_customer, [*by, PERIOD])
    return pd.DataFrame({"customers_in_contact": g.size(), "customers_repeating": g["repeating"].sum()}).reset_index()


def cases_closed(d: Data, by: list[str], grain: str, tz: str) -> pd.DataFrame:
    c = d["contacts"]
    per_case = c.loc[c["case_id"].notna(), "case_id"].value_counts().rename("n_contacts")
    cases = d["cases"]
    closed = cases[cases["closed_at"].notna()].merge(per_case, left_on="case_id", right_index=True, how="left")
    closed["n_contacts"] = closed["n_contacts"].fillna(0).astype("int64")
    closed["res_s"] = seconds(closed["opened_at"], closed["closed_at"])
    closed["one"] = closed["n_contacts"] == 1
    closed[PERIOD] = local_period(closed["closed_at"], grain, tz)
    g = _group(closed, [*by, PERIOD])
    out = pd.DataFrame({
        "cases_closed": g.size(),
        "resolution_sum_s": g["res_s"].sum(min_count=1),
        "resolution_median_s": g["res_s"].quantile(0.5, interpolation="linear"),
        "resolution_p90_s": g["res_s"].quantile(0.9, interpolation="linear"),
        "cases_one_contact": g["one"].sum(),
        "case_contacts": g["n_contacts"].sum(),
    })
    return out.reset_index()


def _windows(first: pd.Timestamp, last: pd.Timestamp, grain: str, tz: str) -> list[tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp]]:
    """(local period start, UTC start, UTC end) of every period covering local days first..last;
    the first and last periods are cut to that range (the backlog of the last, partial period is
    looked at the end of the data, not in the future)."""
    start = _truncate(pd.Series([first]), grain).iloc[0]
    step = {"day": pd.DateOffset(days=1), "week": pd.DateOffset(weeks=1), "month": pd.DateOffset(months=1),
            "quarter": pd.DateOffset(months=3), "year": pd.DateOffset(years=1)}[grain]
    lo = first.tz_localize(tz).tz_convert("UTC")
    hi = (last + pd.Timedelta(days=1)).tz_localize(tz).tz_convert("UTC")
    out = []
    while start <= last:
        nxt = start + step
        out.append((start, max(start.tz_localize(tz).tz_convert("UTC"), lo), min(nxt.tz_localize(tz).tz_convert("UTC"), hi)))
        start = nxt
    return out


def backlog(d: Data, by: list[str], grain: str, tz: str) -> pd.DataFrame:
    cases = d["cases"]
    opened, closed = cases["opened_at"], cases["closed_at"]
    first = opened.min().tz_convert(tz).tz_localize(None).normalize()
    last = max(closed.max(), opened.max()).tz_convert(tz).tz_localize(None).normalize()
    parts = []
    for local_start, _start, end in _windows(first, last, grain, tz):
        open_ = cases[(opened <= end) & (closed.isna() | (closed > end))]
        age = (end - open_["opened_at"]).dt.total_seconds()
        f = pd.DataFrame({k: open_[k] for k in by})
        f["age"] = age
        f["lt1d"] = age < DAY_S
        f["d1_3"] = (age >= DAY_S) & (age < 3 * DAY_S)
        f["d3_7"] = (age >= 3 * DAY_S) & (age < 7 * DAY_S)
        f["gt7d"] = age >= 7 * DAY_S
        g = _group(f, list(by)) if by else None
        if g is None:
            part = pd.DataFrame({"backlog": [len(f)], "backlog_age_sum_s": [age.sum(min_count=1)],
                                 "backlog_lt_1d": [f["lt1d"].sum()], "backlog_1_3d": [f["d1_3"].sum()],
                                 "backlog_3_7d": [f["d3_7"].sum()], "backlog_gt_7d": [f["gt7d"].sum()]})
        else:
            part = pd.DataFrame({
                "backlog": g.size(), "backlog_age_sum_s": g["age"].sum(min_count=1), "backlog_lt_1d": g["lt1d"].sum(),
                "backlog_1_3d": g["d1_3"].sum(), "backlog_3_7d": g["d3_7"].sum(), "backlog_gt_7d": g["gt7d"].sum(),
            }).reset_index()
        part[PERIOD] = local_start
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def agent_states(d: Data, by: list[str], grain: str, tz: str) -> pd.DataFrame:
    s = d["agent_states"]
    dur = seconds(s["start_at"], s["end_at"])
    state = s["state"]
    f = pd.DataFrame({k: s[k] for k in by})
    f[PERIOD] = local_period(s["start_at"], grain, tz)
    f["busy_s"] = dur.where(state.isin(["handling", "wrap"]), 0.0)
    f["productive_s"] = dur.where(state.isin(["available", "handling", "wrap"]), 0.0)
    f["shrink_s"] = dur.where(state.isin(["break", "training", "meeting", "absence"]), 0.0)
    f["present_s"] = dur.where(state != "offline", 0.0)
    g = _group(f, [*by, PERIOD])
    return pd.DataFrame({col: g[col].sum(min_count=1) for col in ("busy_s", "productive_s", "shrink_s", "present_s")}).reset_index()


def _surveys_with_contact(d: Data, by: list[str]) -> pd.DataFrame:
    s = d["surveys"]
    contact_dims = [k for k in by if k in SURVEY_CONTACT_DIMS or k == "agent_id"]
    if not contact_dims:
        return s
    c = d["contacts"][["contact_id", *contact_dims]].rename(columns={"agent_id": "_contact_agent"})
    j = s.merge(c, on="contact_id", how="left")
    if "agent_id" in by:
        j["agent_id"] = j["agent_id"].fillna(j["_contact_agent"])
    return j


def responses(d: Data, by: list[str], grain: str, tz: str) -> pd.DataFrame:
    s = _surveys_with_contact(d, by)
    s = s[s["responded_at"].notna()]
    f = pd.DataFrame({k: s[k] for k in by})
    f[PERIOD] = local_period(s["responded_at"], grain, tz)
    csat, nps, ces = (s[k].astype("float64") for k in ("csat", "nps", "ces"))
    f["csat"], f["nps"], f["ces"] = csat, nps, ces
    f["csat_top"] = (csat >= CSAT_TOP).fillna(False)
    f["promoter"] = (nps >= 9).fillna(False)
    f["detractor"] = (nps <= 6).fillna(False)
    g = _group(f, [*by, PERIOD])
    return pd.DataFrame({
        "csat_n": g["csat"].count(), "csat_top": g["csat_top"].sum(), "csat_sum": g["csat"].sum(min_count=1),
        "nps_n": g["nps"].count(), "promoters": g["promoter"].sum(), "detractors": g["detractor"].sum(),
        "ces_n": g["ces"].count(), "ces_sum": g["ces"].sum(min_count=1),
    }).reset_index()


def surveys_sent(d: Data, by: list[str], grain: str, tz: str) -> pd.DataFrame:
    s = _surveys_with_contact(d, by)
    s = s[s["sent_at"].notna()]
    f = pd.DataFrame({k: s[k] for k in by})
    f[PERIOD] = local_period(s["sent_at"], grain, tz)
    f["responded"] = s["responded_at"].notna()
    g = _group(f, [*by, PERIOD])
    return pd.DataFrame({"surveys_sent": g.size(), "surveys_responded": g["responded"].sum()}).reset_index()


def evaluations(d: Data, by: list[str], grain: str, tz: str) -> pd.DataFrame:
    e = d["evaluations"]
    e = e[e["evaluation_id"].notna()]
    w = e["weight"].fillna(1.0)
    f = pd.DataFrame({k: e[k] for k in by})
    f["evaluation_id"] = e["evaluation_id"]
    f[PERIOD] = local_period(e["evaluated_at"], grain, tz)
    f["ws"] = w * e["score"] / e["max_score"]
    f["w"] = w
    per_eval = _group(f, [*by, PERIOD, "evaluation_id"])[["ws", "w"]].sum()
    per_eval["score"] = 100.0 * per_eval["ws"] / per_eval["w"]
    g = _group(per_eval.reset_index(), [*by, PERIOD])
    return pd.DataFrame({"evaluations": g.size(), "quality_sum": g["score"].sum(min_count=1)}).reset_index()


def agent_weeks(d: Data, by: list[str], grain: str, tz: str) -> pd.DataFrame:
    if grain == "day":
        raise ValueError("evaluation_coverage needs a grain of week or coarser")
    c = d["contacts"]
    answered = c[(c["direction"] == "inbound") & c["answered_at"].notna() & c["agent_id"].notna()]
    weeks = pd.DataFrame({"agent_id": answered["agent_id"], "week": local_period(answered["created_at"], "week", tz)})
    weeks = weeks.drop_duplicates()
    e = d["evaluations"]
    per_eval = e.groupby("evaluation_id").agg(agent_id=("agent_id", "first"), evaluated_at=("evaluated_at", "min"),
                                               mode=("mode", "first"))
    per_eval["week"] = local_period(per_eval["evaluated_at"], "week", tz)
    per_eval["cold"] = per_eval["mode"] == "cold"
    per_eval["live"] = per_eval["mode"] == "live"
    ev = per_eval.groupby(["agent_id", "week"]).agg(evals=("cold", "size"), cold=("cold", "sum"), live=("live", "sum"))
    j = weeks.merge(ev.reset_index(), on=["agent_id", "week"], how="left")
    j["covered"] = (j["evals"].fillna(0) >= 3) & (j["cold"].fillna(0) >= 1) & (j["live"].fillna(0) >= 1)
    j[PERIOD] = _truncate(j["week"], grain)
    g = _group(j, [*by, PERIOD])
    return pd.DataFrame({"agent_weeks": g.size(), "agent_weeks_covered": g["covered"].sum()}).reset_index()


SOURCES: dict[str, Callable[[Data, list[str], str, str], pd.DataFrame]] = {
    C: contacts, CU: contact_customers, CC: cases_closed, BL: backlog, AS: agent_states, RS: responses,
    SS: surveys_sent, EV: evaluations, AW: agent_weeks,
}


def compute(con: duckdb.DuckDBPyConnection, kpis: Sequence[str], by: Sequence[str], grain: str, tz: str) -> pd.DataFrame:
    """The KPIs by ``by`` and ``grain`` periods in zone ``tz``: dims, ``period`` label, one column per KPI,
    sorted by period then dims (nulls last), like ``cxkpi.kpi.compute``."""
    by = list(by)
    unknown = [k for k in kpis if k not in KPIS]
    if unknown:
        raise ValueError(f"not implemented in the pandas contender: {unknown}")
    sources = sorted({s for k in kpis for s in KPIS[k][1]}, key=list(SOURCES).index)
    data = Data(con, columns_needed(set(sources), by))
    keys = [*by, PERIOD]
    merged: pd.DataFrame | None = None
    for name in sources:
        part = SOURCES[name](data, by, grain, tz)
        merged = part if merged is None else merged.merge(part, on=keys, how="outer")
    assert merged is not None
    out = merged[keys].copy()
    out[PERIOD] = [label(pd.Timestamp(v), grain) for v in merged[PERIOD]]
    for k in kpis:
        unit, _, formula = KPIS[k]
        v = formula(merged)
        out[k] = v.round().astype("Int64") if unit == "count" else v.astype("Float64")
    out = out.sort_values([PERIOD, *by], na_position="last", kind="stable")
    return out.reset_index(drop=True)
