"""The demo data generator: contract (columns, types, row rules), determinism and realism.

Small scales keep the suite fast; the realism checks compare groups inside one data set
(understaffed vs well staffed half hours, bad vs good experiences...), so they hold at
any scale while still failing if the mechanism behind them breaks.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from cxkpi.demo import generate
from cxkpi.demo.generate import DemoData, build
from cxkpi.demo.reference import POOLS, TEL_PART
from cxkpi.demo.verbatims import FRAGMENT_TONE, tone_of
from cxkpi.schema.tables import TABLES, ColumnType, Implies, Order

SCALE = 0.04
SEED = 7
PARIS = ZoneInfo("Europe/Paris")

ARROW_TYPE = {
    ColumnType.TEXT: pa.string(),
    ColumnType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    ColumnType.DATE: pa.date32(),
    ColumnType.MONTH: pa.date32(),
    ColumnType.NUMBER: pa.float64(),
    ColumnType.INTEGER: pa.int64(),
    ColumnType.BOOL: pa.bool_(),
}
KEYS = {
    "contacts": ("contact_id",),
    "cases": ("case_id",),
    "surveys": ("survey_id",),
    "evaluations": ("evaluation_id", "criterion"),
    "agent_states": ("agent_id", "start_at"),
    "customers": ("customer_id",),
    "customer_revenue": ("customer_id", "period"),
    "cashflows": ("cashflow_id",),
    "loans": ("loan_id", "snapshot_date"),
}


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return build(seed=SEED, scale=SCALE)


@pytest.fixture(scope="module")
def tables(demo: DemoData) -> dict[str, pa.Table]:
    return demo.tables


def col(t: pa.Table, name: str) -> np.ndarray:
    """A column as numpy (timestamps as int64 microseconds, nulls as NaN for numbers)."""
    a = t.column(name).combine_chunks()
    if pa.types.is_timestamp(a.type):
        return np.asarray(pc.fill_null(a.cast(pa.int64()), -1).to_numpy(zero_copy_only=False))
    return np.asarray(a.to_numpy(zero_copy_only=False))


def present(t: pa.Table, name: str) -> np.ndarray:
    return np.asarray(pc.is_valid(t.column(name)).to_numpy(zero_copy_only=False))


def local_dates(us: np.ndarray) -> list[date]:
    return [datetime.fromtimestamp(x / 1e6, timezone.utc).astimezone(PARIS).date() for x in us.tolist()]


# --- determinism -------------------------------------------------------------------------


def test_same_seed_same_tables(tables: dict[str, pa.Table]) -> None:
    again = generate(seed=SEED, scale=SCALE)
    assert list(again) == list(tables)
    for name, t in tables.items():
        assert again[name].equals(t), name


def test_other_seed_other_tables(tables: dict[str, pa.Table]) -> None:
    other = generate(seed=SEED + 1, scale=SCALE)
    assert not other["contacts"].equals(tables["contacts"])
    assert not other["surveys"].equals(tables["surveys"])


def test_progress_is_reported() -> None:
    seen: list[tuple[str, float]] = []
    generate(seed=1, scale=0.02, progress=lambda stage, f: seen.append((stage, f)))
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert {"queue", "surveys", "agent_states"} <= {s for s, _ in seen}


def test_compact_text_keeps_the_values() -> None:
    plain = generate(seed=2, scale=0.02)
    compact = generate(seed=2, scale=0.02, compact_text=True)
    for name, t in compact.items():
        for field in t.schema:
            if pa.types.is_dictionary(field.type):
                assert field.type.value_type == pa.string()
                assert t.column(field.name).cast(pa.string()).equals(plain[name].column(field.name))
            else:
                assert t.column(field.name).equals(plain[name].column(field.name))
    assert pa.types.is_dictionary(compact["contacts"].schema.field("channel").type)


def test_tiny_scale_is_valid_and_scale_is_roughly_linear() -> None:
    small = generate(seed=3, scale=0.02)
    assert all(t.num_rows > 0 for t in small.values())
    bigger = generate(seed=3, scale=0.04)
    ratio = bigger["contacts"].num_rows / small["contacts"].num_rows
    assert 1.7 < ratio < 2.3


# --- contract ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(TABLES))
def test_columns_and_types(tables: dict[str, pa.Table], name: str) -> None:
    t = tables[name]
    decl = TABLES[name]
    assert tuple(t.column_names) == decl.names
    for c in decl.columns:
        assert t.schema.field(c.name).type == ARROW_TYPE[c.type], (name, c.name)


@pytest.mark.parametrize("name", list(TABLES))
def test_keys_are_unique(tables: dict[str, pa.Table], name: str) -> None:
    t = tables[name]
    keys = KEYS[name]
    for k in keys:
        assert t.column(k).null_count == 0, (name, k)
    grouped = t.group_by(list(keys)).aggregate([])
    assert grouped.num_rows == t.num_rows, name


@pytest.mark.parametrize("name", list(TABLES))
def test_declared_row_rules_hold(tables: dict[str, pa.Table], name: str) -> None:
    """Every rule of the declaration: required, vocabularies, bounds, orders, implications."""
    t = tables[name]
    decl = TABLES[name]
    for c in decl.columns:
        a = t.column(c.name)
        if c.required:
            assert a.null_count == 0, (name, c.name)
        if c.choices is not None:
            values = set(pc.unique(a.drop_null()).to_pylist())
            assert values <= set(c.choices), (name, c.name, values - set(c.choices))
        if c.minimum is not None:
            assert pc.all(pc.greater_equal(a.drop_null(), c.minimum)).as_py() is not False, (name, c.name)
        if c.maximum is not None:
            assert pc.all(pc.less_equal(a.drop_null(), c.maximum)).as_py() is not False, (name, c.name)
        if c.above is not None:
            assert pc.all(pc.greater(a.drop_null(), c.above)).as_py() is not False, (name, c.name)
    for rule in decl.rules:
        if isinstance(rule, Order):
            both = pc.and_(pc.is_valid(t.column(rule.before)), pc.is_valid(t.column(rule.after)))
            sub = t.filter(both)
            ok = pc.less_equal(sub.column(rule.before), sub.column(rule.after))
            assert pc.all(ok).as_py() is not False, (name, rule)
        elif isinstance(rule, Implies):
            sub = t.filter(pc.is_in(t.column(rule.column), pa.array(rule.values)))
            valid = pc.is_valid(sub.column(rule.other))
            expected = rule.present
            assert pc.all(valid if expected else pc.invert(valid)).as_py() is not False, (name, rule)


def test_contacts_rules(tables: dict[str, pa.Table]) -> None:
    c = tables["contacts"]
    outcome = col(c, "outcome")
    answered = present(c, "answered_at")
    assert np.array_equal(answered, outcome == "answered")  # answered iff answered_at
    assert present(c, "ended_at").all()
    channel = col(c, "channel")
    selfcare = channel == "selfcare"
    assert (outcome[selfcare] == "deflected").all() and not present(c, "agent_id")[selfcare].any()
    assert set(np.unique(outcome)) == {"answered", "abandoned", "deflected", "callback"}
    assert (col(c, "direction") == "outbound").any()
    talk = (col(c, "ended_at") - col(c, "answered_at"))[answered] / 1e6
    hold = np.nan_to_num(col(c, "hold_seconds")[answered].astype(float))
    assert (hold <= talk).all()
    assert present(c, "agent_id")[answered].all() and present(c, "queue")[~selfcare].all()
    created = col(c, "created_at")
    assert (np.diff(created) >= 0).all()  # ids in created order


def test_timestamps_are_whole_seconds_inside_the_period(tables: dict[str, pa.Table]) -> None:
    created = col(tables["contacts"], "created_at")
    assert (created % 1_000_000 == 0).all()
    start = int(np.datetime64("2025-10-31T23:00:00", "us").astype(np.int64))  # 2025-11-01 00:00 Paris
    end = int(np.datetime64("2026-10-31T23:00:00", "us").astype(np.int64))  # 2026-11-01 00:00 Paris
    assert created.min() >= start and created.max() < end


def test_references_between_tables(tables: dict[str, pa.Table]) -> None:
    contacts, cases, surveys = tables["contacts"], tables["cases"], tables["surveys"]
    customers = set(col(tables["customers"], "customer_id").tolist())
    for name in ("contacts", "cases", "surveys", "customer_revenue", "loans"):
        ids = tables[name].column("customer_id").drop_null().to_pylist()
        assert set(ids) <= customers, name
    case_ids = set(col(cases, "case_id").tolist())
    assert set(contacts.column("case_id").drop_null().to_pylist()) == case_ids
    contact_ids = set(col(contacts, "contact_id").tolist())
    assert set(col(surveys, "contact_id").tolist()) <= contact_ids
    # An evaluation scores a contact handled by the evaluated agent.
    ev = tables["evaluations"]
    agent_of = dict(zip(col(contacts, "contact_id").tolist(), contacts.column("agent_id").to_pylist()))
    assert all(agent_of[c] == a for c, a in zip(col(ev, "contact_id").tolist(), col(ev, "agent_id").tolist()))
    agents = set(col(tables["agent_states"], "agent_id").tolist())
    assert set(contacts.column("agent_id").drop_null().to_pylist()) <= agents


def test_no_contact_after_churn(tables: dict[str, pa.Table]) -> None:
    cu = tables["customers"]
    churned = dict(zip(col(cu, "customer_id").tolist(), col(cu, "churned_at").tolist()))
    acquired = dict(zip(col(cu, "customer_id").tolist(), col(cu, "acquired_at").tolist()))
    c = tables["contacts"]
    for cust, created in zip(c.column("customer_id").to_pylist(), col(c, "created_at").tolist()):
        assert acquired[cust] <= created
        assert churned[cust] < 0 or created < churned[cust]


def test_survey_scores_and_response_modes(tables: dict[str, pa.Table]) -> None:
    s = tables["surveys"]
    responded = present(s, "responded_at")
    assert present(s, "sent_at").all()
    assert not present(s, "csat")[~responded].any() and present(s, "csat")[responded].all()
    mode = col(s, "mode")
    rate = {m: responded[mode == m].mean() for m in np.unique(mode)}
    assert rate["call"] > rate["ivr"] > rate["email"]
    assert set(np.unique(col(s, "language"))) == {"fr", "en"}


def test_evaluation_grid(tables: dict[str, pa.Table]) -> None:
    ev = tables["evaluations"]
    per_eval = ev.group_by("evaluation_id").aggregate([("criterion", "count"), ("agent_id", "count_distinct")])
    assert set(col(per_eval, "criterion_count").tolist()) == {6}
    assert set(col(per_eval, "agent_id_count_distinct").tolist()) == {1}
    assert set(np.unique(col(ev, "mode"))) == {"cold", "live"}
    assert len(np.unique(col(ev, "evaluator_id"))) >= 5


def test_cashflows_and_loans(tables: dict[str, pa.Table]) -> None:
    cf = tables["cashflows"]
    assert set(np.unique(col(cf, "direction"))) == {"in", "out"}
    assert cf.column("team").null_count < cf.num_rows and cf.column("team").null_count > 0
    loans = tables["loans"]
    dpd = col(loans, "days_past_due")
    live = col(loans, "outstanding") > 0
    share_90 = (dpd[live] >= 90).mean()
    assert 0.002 < share_90 < 0.08
    # Balances amortise: a performing loan's balance does not grow from month to month.
    t = loans.sort_by([("loan_id", "ascending"), ("snapshot_date", "ascending")])
    lid, bal, d = col(t, "loan_id"), col(t, "outstanding"), col(t, "days_past_due")
    same = lid[1:] == lid[:-1]
    performing = (d[1:] == 0) & (d[:-1] == 0)
    assert (bal[1:][same & performing] <= bal[:-1][same & performing] + 1e-6).all()


# --- time: opening hours, holidays, DST ----------------------------------------------------


def test_phone_calls_arrive_in_local_opening_hours(tables: dict[str, pa.Table]) -> None:
    c = tables["contacts"]
    inbound_phone = (col(c, "channel") == "phone") & (col(c, "direction") == "inbound")
    local = [datetime.fromtimestamp(x / 1e6, timezone.utc).astimezone(PARIS) for x in col(c, "created_at")[inbound_phone]]
    hours = np.array([x.hour + x.minute / 60 for x in local])
    weekday = np.array([x.weekday() for x in local])
    assert (hours >= 8).all() and (hours < 20).all()
    assert (weekday < 6).all()
    saturday = weekday == 5
    assert (hours[saturday] >= 9).all() and (hours[saturday] < 17).all()
    days = {x.date() for x in local}
    assert date(2025, 12, 25) not in days and date(2026, 5, 1) not in days
    # Both DST periods are present and the profile keeps its local shape on each side.
    summer = np.array([x.utcoffset().total_seconds() == 7200 for x in local])
    assert 0.3 < summer.mean() < 0.8
    for sel in (summer, ~summer):
        morning = ((hours[sel] >= 10) & (hours[sel] < 11)).mean()
        evening = ((hours[sel] >= 19) & (hours[sel] < 20)).mean()
        assert morning > 2.5 * evening


def test_selfcare_runs_through_the_night_and_sundays(tables: dict[str, pa.Table]) -> None:
    c = tables["contacts"]
    selfcare = col(c, "channel") == "selfcare"
    days = local_dates(col(c, "created_at")[selfcare])
    assert any(d.weekday() == 6 for d in days)


# --- realism -----------------------------------------------------------------------------


def test_monday_busier_than_saturday(tables: dict[str, pa.Table]) -> None:
    c = tables["contacts"]
    weekday = np.array([d.weekday() for d in local_dates(col(c, "created_at"))])
    counts = np.bincount(weekday, minlength=7)
    assert counts[0] > 1.4 * counts[5] and counts[5] > counts[6]


def test_winter_busier_than_august(tables: dict[str, pa.Table]) -> None:
    months = np.array([d.month for d in local_dates(col(tables["contacts"], "created_at"))])
    assert (months == 1).sum() > 1.4 * (months == 8).sum()


def test_digital_share_grows(tables: dict[str, pa.Table]) -> None:
    c = tables["contacts"]
    inbound = col(c, "direction") == "inbound"
    phone = col(c, "channel") == "phone"
    created = col(c, "created_at")
    q1, q3 = np.quantile(created, [0.25, 0.75])
    first = 1 - phone[inbound & (created < q1)].mean()
    last = 1 - phone[inbound & (created >= q3)].mean()
    assert last > first + 0.03


def test_understaffed_half_hours_wait_and_abandon_more(demo: DemoData) -> None:
    """Waits and abandons emerge from staffing: compare half hours by staff per unit of load."""
    cal, staff, c = demo.calendar, demo.staff, demo.contacts
    on_duty = staff.on_duty(cal.n_slots)[TEL_PART]
    offered = (~c.outbound) & ((c.outcome == 0) | (c.outcome == 1))
    seg = demo.arrivals.issue_segment[c.issue]
    sel = offered & (c.channel == 0) & (seg == 0)  # the TEL_PART pool: phone, particuliers
    slot = (c.t[sel] // 1800).astype(np.int64)
    arrivals = np.bincount(slot, minlength=cal.n_slots).astype(float)
    abandoned = np.bincount(slot, weights=(c.outcome[sel] == 1), minlength=cal.n_slots)
    wait = np.bincount(slot, weights=np.nan_to_num(c.answered[sel] - c.t[sel]), minlength=cal.n_slots)
    answered = np.bincount(slot, weights=(c.outcome[sel] == 0), minlength=cal.n_slots)
    busy = 420.0  # seconds of talk and wrap per call, roughly
    busy_slots = arrivals >= 3
    ratio = on_duty / np.maximum(arrivals * busy / 1800.0, 1e-9)
    low = busy_slots & (ratio <= np.quantile(ratio[busy_slots], 0.25))
    high = busy_slots & (ratio >= np.quantile(ratio[busy_slots], 0.75))
    assert abandoned[low].sum() / arrivals[low].sum() > 1.5 * abandoned[high].sum() / arrivals[high].sum()
    assert wait[low].sum() / answered[low].sum() > 1.5 * wait[high].sum() / answered[high].sum()
    assert POOLS[TEL_PART].name == "TEL_PART"


def test_phone_service_level_and_abandon_are_plausible(tables: dict[str, pa.Table]) -> None:
    c = tables["contacts"]
    sel = (col(c, "channel") == "phone") & (col(c, "direction") == "inbound")
    outcome = col(c, "outcome")[sel]
    wait = (col(c, "ended_at") - col(c, "created_at"))[sel] / 1e6
    answer = (col(c, "answered_at") - col(c, "created_at"))[sel] / 1e6
    offered = (outcome == "answered") | ((outcome == "abandoned") & (wait >= 5))
    abandon_rate = ((outcome == "abandoned") & (wait >= 5)).sum() / offered.sum()
    service_level = ((outcome == "answered") & (answer <= 20)).sum() / offered.sum()
    assert 0.02 < abandon_rate < 0.25
    assert 0.5 < service_level < 0.95
    transferred = col(c, "transferred")[sel][outcome == "answered"].astype(bool)
    assert 0.03 < transferred.mean() < 0.15


def test_first_contact_resolution_is_plausible(tables: dict[str, pa.Table]) -> None:
    """Once & done on the phone (SPEC fcr): no other inbound contact within 7 days."""
    c = tables["contacts"].filter(pc.equal(tables["contacts"].column("direction"), "inbound"))
    c = c.sort_by([("customer_id", "ascending"), ("created_at", "ascending"), ("contact_id", "ascending")])
    cust = col(c, "customer_id")
    created = col(c, "created_at")
    week = 7 * 86400 * 1_000_000
    nxt_same = np.r_[cust[1:] == cust[:-1], False]
    nxt = np.r_[created[1:], 0]
    repeat = nxt_same & (nxt <= created + week)
    eligible = present(c, "answered_at") & (col(c, "channel") == "phone") & (created + week <= created.max())
    fcr = 1 - repeat[eligible].mean()
    assert 0.6 < fcr < 0.9
    # Unresolved contacts are followed by a repeat far more often than resolved ones.
    resolved = c.column("resolved").to_pylist()
    ok = eligible & np.array([x is True for x in resolved])
    ko = eligible & np.array([x is False for x in resolved])
    assert repeat[ko].mean() > repeat[ok].mean() + 0.3


def test_churn_follows_bad_experiences(tables: dict[str, pa.Table]) -> None:
    c, s, cu = tables["contacts"], tables["surveys"], tables["customers"]
    wait = (col(c, "ended_at") - col(c, "created_at")) / 1e6
    abandon = (col(c, "outcome") == "abandoned") & (wait >= 5) & (col(c, "direction") == "inbound")
    unresolved = np.array([x is False for x in c.column("resolved").to_pylist()])
    bad = set(col(c, "customer_id")[abandon | unresolved].tolist())
    csat = col(s, "csat")
    low = present(s, "csat") & (np.nan_to_num(csat.astype(float)) <= 2)
    bad |= set(s.column("customer_id").to_pylist()[i] for i in np.flatnonzero(low))
    contacted = set(col(c, "customer_id").tolist())
    ids = col(cu, "customer_id")
    churned = col(cu, "churned_at") >= 0
    is_bad = np.array([x in bad for x in ids.tolist()])
    is_contacted = np.array([x in contacted for x in ids.tolist()])
    rate_bad = churned[is_bad].mean()
    rate_good = churned[is_contacted & ~is_bad].mean()
    assert rate_bad > 1.3 * rate_good


def test_verbatim_tone_matches_the_score(demo: DemoData, tables: dict[str, pa.Table]) -> None:
    s = tables["surveys"]
    texts = s.column("verbatim").to_pylist()
    csat = s.column("csat").to_pylist()
    by_tone: dict[str, list[int]] = {"positive": [], "neutral": [], "negative": []}
    for text, score in zip(texts, csat):
        if text is None or score is None:
            continue
        tone = tone_of(text)
        assert tone is not None, text
        by_tone[tone].append(score)
    assert np.mean(by_tone["negative"]) + 1.5 < np.mean(by_tone["positive"])
    assert np.mean(by_tone["negative"]) < np.mean(by_tone["neutral"]) < np.mean(by_tone["positive"])
    french = [t for t, lg in zip(texts, s.column("language").to_pylist()) if t and lg == "fr"]
    assert any("é" in t for t in french)


def test_verbatim_bank_fragments_have_one_tone() -> None:
    assert len(FRAGMENT_TONE) > 150
    assert tone_of("Plus de vingt minutes d'attente, c'est inadmissible.") == "negative"
    assert tone_of("Conseiller très aimable et à l'écoute.") == "positive"


def test_scores_follow_the_experience(tables: dict[str, pa.Table]) -> None:
    s = tables["surveys"].filter(pc.is_valid(tables["surveys"].column("csat")))
    c = tables["contacts"]
    resolved = dict(zip(col(c, "contact_id").tolist(), c.column("resolved").to_pylist()))
    csat = col(s, "csat")
    res = np.array([resolved[x] is True for x in col(s, "contact_id").tolist()])
    assert csat[res].mean() > csat[~res].mean() + 0.3
    nps = col(s.filter(pc.is_valid(s.column("nps"))), "nps")
    score = 100 * ((nps >= 9).mean() - (nps <= 6).mean())
    assert -40 < score < 60


def test_agent_states_do_not_overlap(tables: dict[str, pa.Table]) -> None:
    st = tables["agent_states"]  # sorted by agent then start
    agent = col(st, "agent_id")
    start = col(st, "start_at")
    end = col(st, "end_at")
    same = agent[1:] == agent[:-1]
    assert (start[1:][same] >= end[:-1][same]).all()
    assert (end > start).all()
    assert set(np.unique(col(st, "state"))) >= {"available", "handling", "wrap", "break", "absence"}


def test_agent_states_match_handled_contacts(tables: dict[str, pa.Table]) -> None:
    st, c = tables["agent_states"], tables["contacts"]
    handling = st.filter(pc.equal(st.column("state"), "handling"))
    answered = c.filter(pc.is_valid(c.column("answered_at")))
    keys_states = set(zip(col(handling, "agent_id").tolist(), col(handling, "start_at").tolist()))
    keys_contacts = set(zip(col(answered, "agent_id").tolist(), col(answered, "answered_at").tolist()))
    assert keys_contacts <= keys_states
    secs = (col(st, "end_at") - col(st, "start_at")) / 1e6
    state = col(st, "state")
    productive = np.isin(state, ("available", "handling", "wrap"))
    occupancy = secs[np.isin(state, ("handling", "wrap"))].sum() / secs[productive].sum()
    shrinkage = secs[np.isin(state, ("break", "training", "meeting", "absence"))].sum() / secs.sum()
    assert 0.02 < occupancy < 0.95  # small scales are idle: pools keep a minimum staff while open
    assert 0.05 < shrinkage < 0.35


def test_sites_teams_and_agents(tables: dict[str, pa.Table]) -> None:
    c = tables["contacts"]
    assert set(c.column("site").drop_null().to_pylist()) == {"Lyon", "Rabat (prestataire)"}
    assert len(set(c.column("team").drop_null().to_pylist())) == 6
    assert set(c.column("segment").to_pylist()) == {"particulier", "professionnel", "patrimonial"}
