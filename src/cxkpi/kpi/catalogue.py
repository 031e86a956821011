"""The KPI catalogue (SPEC §3), declared once: code, docs, CLI help and dashboards read it.

Measures are grouped by source; each KPI names its measures and how to combine them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from cxkpi.kpi.model import Direction, Formula, Grain, Kpi, Measure, Unit, floats, missing_or_zero, ratio, value
from cxkpi.kpi.sources import CONTACT_DIMS

D, U = Direction, Unit


def _count(flag: str) -> Any:
    return lambda t, p: t[flag].sum().cast("int64")


def _sum(col: str) -> Any:
    return lambda t, p: t[col].sum().cast("float64")


def _n(col: str) -> Any:
    return lambda t, p: t[col].count().cast("int64")


def _quantile(col: str, q: float) -> Any:
    return lambda t, p: t[col].quantile(q).cast("float64")


def _median(col: str) -> Any:
    return _quantile(col, 0.5)


# additive=True: a count or sum over the rows of an events source, so daily rollups can
# answer it exactly (kpi.rollups). Quantiles are not; neither are measures of two-stage
# sources (an entity spans days) nor of snapshot ones (a stock at each period's end).
MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure("inbound", "contacts", _count("_inbound"), additive=True),
        Measure("offered", "contacts", _count("_offered"), additive=True),
        Measure("answered", "contacts", _count("_answered"), additive=True),
        Measure("abandoned", "contacts", _count("_abandoned"), additive=True),
        Measure("short_abandoned", "contacts", _count("_short_abandon"), additive=True),
        Measure("answered_in_t", "contacts", _count("_answered_in_t"), additive=True),
        Measure("abandoned_in_t", "contacts", _count("_abandoned_in_t"), additive=True),
        Measure("wait_sum_s", "contacts", _sum("_wait_s"), additive=True),
        Measure("wait_n", "contacts", _n("_wait_s"), additive=True),
        Measure("wait_p90_s", "contacts", _quantile("_wait_s", 0.9), only_where="_answered"),
        Measure("handle_sum_s", "contacts", _sum("_handle_s"), additive=True),
        Measure("handle_n", "contacts", _n("_handle_s"), additive=True),
        Measure("comm_sum_s", "contacts", _sum("_comm_s"), additive=True),
        Measure("comm_n", "contacts", _n("_comm_s"), additive=True),
        Measure("fcr_base", "contacts", _count("_fcr_base"), additive=True),
        Measure("fcr_ok", "contacts", _count("_fcr_ok"), additive=True),
        Measure("transferred", "contacts", _count("_transferred"), additive=True),
        Measure("transfer_known", "contacts", _count("_transfer_known"), additive=True),
        Measure("converted", "contacts", _count("_converted"), additive=True),
        Measure("conversion_known", "contacts", _count("_conversion_known"), additive=True),
        Measure("selfcare", "contacts", _count("_selfcare"), additive=True),
        Measure("digital", "contacts", _count("_digital"), additive=True),
        Measure("customers_in_contact", "contact_customers", lambda t, p: t.count().cast("int64")),
        Measure("customers_repeating", "contact_customers", lambda t, p: (t._contacts >= 2).sum().cast("int64")),
        Measure("cases_closed", "cases_closed", lambda t, p: t.count().cast("int64"), additive=True),
        Measure("resolution_sum_s", "cases_closed", _sum("_res_s"), additive=True),
        Measure("resolution_median_s", "cases_closed", _median("_res_s")),
        Measure("resolution_p90_s", "cases_closed", _quantile("_res_s", 0.9)),
        Measure("cases_one_contact", "cases_closed", lambda t, p: (t._n_contacts == 1).sum().cast("int64"), additive=True),
        Measure("case_contacts", "cases_closed", lambda t, p: t._n_contacts.sum().cast("int64"), additive=True),
        Measure("backlog", "backlog", lambda t, p: t.count().cast("int64")),
        Measure("backlog_age_sum_s", "backlog", _sum("_age_s")),
        Measure("backlog_lt_1d", "backlog", _count("_lt1d")),
        Measure("backlog_1_3d", "backlog", _count("_1_3d")),
        Measure("backlog_3_7d", "backlog", _count("_3_7d")),
        Measure("backlog_gt_7d", "backlog", _count("_gt7d")),
        Measure("wait_business_sum_s", "contacts", _sum("_wait_b_s"), business=True, additive=True),
        Measure("wait_business_p90_s", "contacts", _quantile("_wait_b_s", 0.9), only_where="_answered", business=True),
        Measure("handle_business_sum_s", "contacts", _sum("_handle_b_s"), business=True, additive=True),
        Measure("comm_business_sum_s", "contacts", _sum("_comm_b_s"), business=True, additive=True),
        Measure("offered_open", "contacts", _count("_offered_open"), business=True, additive=True),
        Measure("answered_in_t_open", "contacts", _count("_answered_in_t_open"), business=True, additive=True),
        Measure("answered_open", "contacts", _count("_answered_open"), business=True, additive=True),
        Measure("abandoned_in_t_open", "contacts", _count("_abandoned_in_t_open"), business=True, additive=True),
        Measure("resolution_business_sum_s", "cases_closed", _sum("_res_b_s"), business=True, additive=True),
        Measure("resolution_business_median_s", "cases_closed", _median("_res_b_s"), business=True),
        Measure("resolution_business_p90_s", "cases_closed", _quantile("_res_b_s", 0.9), business=True),
        Measure("backlog_age_business_sum_s", "backlog", _sum("_age_b_s"), business=True),
        Measure("busy_s", "agent_states", _sum("_busy_s"), additive=True),
        Measure("productive_s", "agent_states", _sum("_productive_s"), additive=True),
        Measure("shrink_s", "agent_states", _sum("_shrink_s"), additive=True),
        Measure("present_s", "agent_states", _sum("_present_s"), additive=True),
        Measure("csat_n", "responses", _n("_csat"), additive=True),
        Measure("csat_top", "responses", _count("_csat_top"), additive=True),
        Measure("csat_sum", "responses", _sum("_csat"), additive=True),
        Measure("nps_n", "responses", _n("_nps"), additive=True),
        Measure("promoters", "responses", _count("_promoter"), additive=True),
        Measure("detractors", "responses", _count("_detractor"), additive=True),
        Measure("ces_n", "responses", _n("_ces"), additive=True),
        Measure("ces_sum", "responses", _sum("_ces"), additive=True),
        Measure("sentiment_sum", "responses", _sum("_sentiment"), additive=True),
        Measure("sentiment_n", "responses", _n("_sentiment"), additive=True),
        Measure("negative_verbatims", "responses", _count("_negative"), additive=True),
        Measure("surveys_sent", "surveys_sent", lambda t, p: t.count().cast("int64"), additive=True),
        Measure("surveys_responded", "surveys_sent", _count("_responded"), additive=True),
        Measure("evaluations", "evaluations", _n("_score")),
        Measure("quality_sum", "evaluations", _sum("_score")),
        Measure("agent_weeks", "agent_weeks", lambda t, p: t.count().cast("int64")),
        Measure("agent_weeks_covered", "agent_weeks", _count("_covered")),
        Measure("active_at_start", "customers", _count("_active_start")),
        Measure("churned", "customers", _count("_churned")),
        Measure("retained", "customers", _count("_retained")),
        Measure("active_customers", "customers", _count("_active")),
        Measure("engaged_customers", "customers", _count("_engaged")),
        Measure("month_active_at_start", "customer_months", _count("_active_start")),
        Measure("month_churned", "customer_months", _count("_churned")),
        Measure("margin_sum", "revenue", _sum("_margin"), additive=True),
        Measure("customer_months", "revenue", lambda t, p: t.count().cast("int64"), additive=True),
        Measure("cash_in", "cashflows", _sum("_in"), additive=True),
        Measure("cash_out", "cashflows", _sum("_out"), additive=True),
        Measure("loans_live", "loans", _count("_live")),
        Measure("loans_delinquent", "loans", _count("_late")),
        Measure("balance_live", "loans", _sum("_live_balance")),
        Measure("balance_delinquent", "loans", _sum("_late_balance")),
    )
}


def _service_level_of(met_m: str, offered_m: str, answered_m: str, abandoned_in_t_m: str) -> Formula:
    """Service level with the abandon rule of parameter ``service_level_abandons``:
    against (base = offered, SPEC), ignored (base = answered), met_within_t (an abandon
    within T counts as met; a missing count of those abandons adds 0). Null when the
    count met or the base is missing, or the base is 0."""

    def formula(frame: pd.DataFrame, p: Mapping[str, Any]) -> pd.Series:
        mode = p["service_level_abandons"]
        met, base = floats(frame, met_m), floats(frame, answered_m if mode == "ignored" else offered_m)
        if mode == "met_within_t":
            met = met + floats(frame, abandoned_in_t_m).fillna(0.0)
        return (met / base).mask(met.isna() | missing_or_zero(base))

    return formula


_service_level = _service_level_of("answered_in_t", "offered", "answered", "abandoned_in_t")


def _flag_rate(flag: str, known: str) -> Formula:
    """``flag / contacts_answered`` (SPEC §3); null when no answered contact of the group
    carries the flag at all (``known`` missing or 0: the source does not export it), else as
    ``ratio``."""

    rate = ratio(flag, "answered")

    def formula(frame: pd.DataFrame, p: Mapping[str, Any]) -> pd.Series:
        return rate(frame, p).mask(missing_or_zero(floats(frame, known)))

    return formula


def _net_cash_flow(frame: pd.DataFrame, p: Mapping[str, Any]) -> pd.Series:
    """Inflows − outflows, a missing side counting 0; null only when both are missing (no
    cash flow at all), since one-sided periods are real."""
    cin, cout = floats(frame, "cash_in"), floats(frame, "cash_out")
    return (cin.fillna(0.0) - cout.fillna(0.0)).mask(cin.isna() & cout.isna())


def _nps(frame: pd.DataFrame, p: Mapping[str, Any]) -> pd.Series:
    """``100 × (promoters − detractors) / responses``, a missing count of promoters or
    detractors counting 0; null without NPS responses (missing or 0)."""
    n = floats(frame, "nps_n")
    net = floats(frame, "promoters").fillna(0.0) - floats(frame, "detractors").fillna(0.0)
    return (100.0 * net / n).mask(missing_or_zero(n))


def _per_hour(frame: pd.DataFrame, p: Mapping[str, Any]) -> pd.Series:
    """Answered contacts per productive hour; hours logged without a contact give 0, no
    productive time (missing or 0) gives null."""
    seconds = floats(frame, "productive_s")
    return (floats(frame, "answered").fillna(0.0) / (seconds / 3600.0)).mask(missing_or_zero(seconds))


def _clv(frame: pd.DataFrame, p: Mapping[str, Any]) -> pd.Series:
    """``(margin / customer-months) / (churned / active at month start)``; null when the margin
    is missing or any of the three counts is missing or 0 (no churn: no finite lifetime)."""
    months, margin = floats(frame, "customer_months"), floats(frame, "margin_sum")
    at_risk, churned = floats(frame, "month_active_at_start"), floats(frame, "month_churned")
    out = (margin / months) / (churned / at_risk)
    return out.mask(missing_or_zero(months) | margin.isna() | missing_or_zero(at_risk) | missing_or_zero(churned))


def _kpi(
    name: str,
    en: tuple[str, str],
    fr: tuple[str, str],
    formula: str,
    unit: Unit,
    direction: Direction,
    measures: tuple[str, ...],
    formula_of: Formula,
    dims: tuple[str, ...],
    inputs: tuple[str, ...],
    params: tuple[str, ...] = (),
    min_grain: Grain = Grain.DAY,
) -> Kpi:
    return Kpi(
        name=name, label_en=en[0], definition_en=en[1], label_fr=fr[0], definition_fr=fr[1], formula=formula,
        unit=unit, direction=direction, measures=measures, formula_of=formula_of, dimensions=dims, inputs=inputs,
        params=params, min_grain=min_grain,
    )


_C = "contacts"
CASE_DIMS = ("channel", "status", "reason", "priority", "team", "site", "agent_id")
SURVEY_DIMS = ("mode", "language", "agent_id", "channel", "queue", "team", "site", "reason", "product", "segment")
_OFFER = ("short_abandon_s",)

KPIS: dict[str, Kpi] = {
    k.name: k
    for k in (
        _kpi("contacts_offered",
             ("Contacts offered", "Inbound contacts answered or abandoned, short abandons excluded (deflected and callback contacts were never offered to an agent)."),
             ("Contacts présentés", "Contacts entrants décrochés ou abandonnés, hors abandons courts (les contacts résolus en selfcare ou rappelés n'ont pas été présentés à un conseiller)."),
             "count(inbound ∧ outcome ∈ {answered, abandoned} ∧ ¬short abandon)", U.COUNT, D.NEUTRAL,
             ("offered",), value("offered"), CONTACT_DIMS, (f"{_C}.direction", f"{_C}.outcome", f"{_C}.created_at", f"{_C}.ended_at"), _OFFER),
        _kpi("contacts_answered",
             ("Contacts answered", "Inbound contacts with an answer time."),
             ("Contacts décrochés", "Contacts entrants ayant une heure de réponse."),
             "count(inbound ∧ answered_at present)", U.COUNT, D.NEUTRAL,
             ("answered",), value("answered"), CONTACT_DIMS, (f"{_C}.direction", f"{_C}.answered_at")),
        _kpi("contacts_abandoned",
             ("Contacts abandoned", "Inbound contacts abandoned after waiting at least S seconds (or an unknown time)."),
             ("Contacts abandonnés", "Contacts entrants abandonnés après au moins S secondes d'attente (ou une attente inconnue)."),
             "count(inbound ∧ outcome = abandoned ∧ wait ≥ S)", U.COUNT, D.LOWER,
             ("abandoned",), value("abandoned"), CONTACT_DIMS, (f"{_C}.outcome", f"{_C}.created_at", f"{_C}.ended_at"), _OFFER),
        _kpi("short_abandons",
             ("Short abandons", "Inbound contacts abandoned after waiting less than S seconds (wait = ended_at − created_at)."),
             ("Abandons courts", "Contacts entrants abandonnés après moins de S secondes d'attente (attente = fin − arrivée)."),
             "count(inbound ∧ outcome = abandoned ∧ wait < S)", U.COUNT, D.NEUTRAL,
             ("short_abandoned",), value("short_abandoned"), CONTACT_DIMS, (f"{_C}.outcome", f"{_C}.created_at", f"{_C}.ended_at"), _OFFER),
        _kpi("answer_rate",
             ("Answer rate", "Contacts answered / contacts offered."),
             ("Taux de décroché", "Contacts décrochés / contacts présentés."),
             "contacts_answered / contacts_offered", U.RATE, D.HIGHER,
             ("answered", "offered"), ratio("answered", "offered"), CONTACT_DIMS, (f"{_C}.answered_at", f"{_C}.outcome"), _OFFER),
        _kpi("abandon_rate",
             ("Abandon rate", "Contacts abandoned / contacts offered."),
             ("Taux d'abandon", "Contacts abandonnés / contacts présentés."),
             "contacts_abandoned / contacts_offered", U.RATE, D.LOWER,
             ("abandoned", "offered"), ratio("abandoned", "offered"), CONTACT_DIMS, (f"{_C}.outcome", f"{_C}.ended_at"), _OFFER),
        _kpi("service_level",
             ("Service level", "Contacts answered within the channel's threshold T / contacts offered (abandons count against by default)."),
             ("Niveau de service", "Contacts décrochés dans le seuil T du canal / contacts présentés (les abandons comptent contre, par défaut)."),
             "count(answered ∧ answered_at − created_at ≤ T) / contacts_offered", U.RATE, D.HIGHER,
             ("answered_in_t", "offered", "answered", "abandoned_in_t"), _service_level, CONTACT_DIMS,
             (f"{_C}.channel", f"{_C}.created_at", f"{_C}.answered_at", f"{_C}.outcome"),
             ("answer_threshold_s", "short_abandon_s", "service_level_abandons")),
        _kpi("asa",
             ("Average speed of answer", "Mean wait of answered inbound contacts (answered_at − created_at), in seconds."),
             ("Temps d'attente moyen", "Attente moyenne des contacts entrants décrochés (réponse − arrivée), en secondes."),
             "mean(answered_at − created_at) over answered", U.SECONDS, D.LOWER,
             ("wait_sum_s", "wait_n"), ratio("wait_sum_s", "wait_n"), CONTACT_DIMS, (f"{_C}.created_at", f"{_C}.answered_at")),
        _kpi("wait_p90",
             ("Wait, 90th percentile", "90th percentile of the wait of answered inbound contacts (linear interpolation), in seconds."),
             ("Attente, 90e centile", "90e centile de l'attente des contacts entrants décrochés (interpolation linéaire), en secondes."),
             "p90(answered_at − created_at) over answered", U.SECONDS, D.LOWER,
             ("wait_p90_s", "wait_n"), value("wait_p90_s"), CONTACT_DIMS, (f"{_C}.created_at", f"{_C}.answered_at")),
        _kpi("aht",
             ("Average handling time", "Mean of (ended_at − answered_at) + wrap_seconds over answered inbound contacts with an end (wrap missing = 0), in seconds."),
             ("Durée moyenne de traitement (DMT)", "Moyenne de (fin − réponse) + post-appel sur les contacts décrochés terminés (post-appel absent = 0), en secondes."),
             "mean((ended_at − answered_at) + wrap_seconds)", U.SECONDS, D.NEUTRAL,
             ("handle_sum_s", "handle_n"), ratio("handle_sum_s", "handle_n"), CONTACT_DIMS,
             (f"{_C}.answered_at", f"{_C}.ended_at", f"{_C}.wrap_seconds")),
        _kpi("communication_time",
             ("Communication time", "Mean of ended_at − created_at over answered inbound contacts with an end, in seconds."),
             ("Temps de communication moyen", "Moyenne de fin − arrivée sur les contacts décrochés terminés, en secondes."),
             "mean(ended_at − created_at)", U.SECONDS, D.NEUTRAL,
             ("comm_sum_s", "comm_n"), ratio("comm_sum_s", "comm_n"), CONTACT_DIMS, (f"{_C}.created_at", f"{_C}.ended_at")),
        _kpi("fcr",
             ("First-contact resolution (once and done)",
              "Among answered inbound contacts with a customer, the share with no other inbound contact of the same customer, on any channel, within the window after it; contacts whose window passes the end of the data are left out."),
             ("Résolution au premier contact",
              "Parmi les contacts entrants décrochés d'un client identifié, la part sans autre contact entrant du même client, sur tout canal, dans la fenêtre qui suit ; les contacts dont la fenêtre dépasse la fin des données sont exclus."),
             "count(no inbound contact of the customer in (t, t + window]) / count(answered inbound with customer, t + window ≤ end of data)",
             U.RATE, D.HIGHER, ("fcr_ok", "fcr_base"), ratio("fcr_ok", "fcr_base"), CONTACT_DIMS,
             (f"{_C}.customer_id", f"{_C}.created_at", f"{_C}.answered_at", f"{_C}.reason"), ("fcr_window_days", "fcr_same_reason")),
        _kpi("transfer_rate",
             ("Transfer rate", "Answered inbound contacts transferred / contacts answered (null when no answered contact carries the flag)."),
             ("Taux de transfert", "Contacts entrants décrochés transférés / contacts décrochés (nul si aucun contact ne porte l'indicateur)."),
             "count(answered ∧ transferred) / contacts_answered", U.RATE, D.LOWER,
             ("transferred", "answered", "transfer_known"), _flag_rate("transferred", "transfer_known"), CONTACT_DIMS, (f"{_C}.transferred",)),
        _kpi("selfcare_rate",
             ("Self-care rate", "Inbound contacts deflected or on the self-care channel / all inbound contacts."),
             ("Taux de selfcare", "Contacts entrants résolus en autonomie ou sur le canal selfcare / contacts entrants."),
             "count(outcome = deflected ∨ channel = selfcare) / count(inbound)", U.RATE, D.HIGHER,
             ("selfcare", "inbound"), ratio("selfcare", "inbound"), CONTACT_DIMS, (f"{_C}.outcome", f"{_C}.channel")),
        _kpi("digital_rate",
             ("Digital rate", "Inbound contacts on email, chat, social, web form, SMS or self-care / all inbound contacts."),
             ("Taux de digitalisation", "Contacts entrants par e-mail, chat, réseaux sociaux, formulaire, SMS ou selfcare / contacts entrants."),
             "count(channel ∈ digital) / count(inbound)", U.RATE, D.NEUTRAL,
             ("digital", "inbound"), ratio("digital", "inbound"), CONTACT_DIMS, (f"{_C}.channel",)),
        _kpi("conversion_rate",
             ("Conversion rate", "Answered inbound contacts where the desired action happened / contacts answered (null when no answered contact carries the flag)."),
             ("Taux de transformation", "Contacts entrants décrochés suivis de l'action souhaitée / contacts décrochés (nul si aucun contact ne porte l'indicateur)."),
             "count(answered ∧ converted) / contacts_answered", U.RATE, D.HIGHER,
             ("converted", "answered", "conversion_known"), _flag_rate("converted", "conversion_known"), CONTACT_DIMS, (f"{_C}.converted",)),
        _kpi("repeat_contact_rate",
             ("Repeat contact rate", "Among distinct customers with at least one inbound contact in the period, the share with two or more."),
             ("Taux de réitération", "Parmi les clients distincts ayant au moins un contact entrant sur la période, la part qui en a au moins deux."),
             "count(customers with ≥ 2 inbound contacts) / count(customers with ≥ 1)", U.RATE, D.LOWER,
             ("customers_repeating", "customers_in_contact"), ratio("customers_repeating", "customers_in_contact"), CONTACT_DIMS,
             (f"{_C}.customer_id", f"{_C}.direction", f"{_C}.created_at")),
        _kpi("backlog_open",
             ("Open backlog", "Cases open at the end of the period (opened_at ≤ end < closed_at, or never closed)."),
             ("Encours", "Demandes ouvertes à la fin de la période (ouverture ≤ fin < clôture, ou jamais clôturées)."),
             "count(opened_at ≤ end ∧ (closed_at > end ∨ open))", U.COUNT, D.LOWER,
             ("backlog",), value("backlog"), CASE_DIMS, ("cases.opened_at", "cases.closed_at")),
        _kpi("backlog_age_mean",
             ("Mean backlog age", "Mean age, in seconds, of the cases open at the end of the period."),
             ("Âge moyen de l'encours", "Âge moyen, en secondes, des demandes ouvertes à la fin de la période."),
             "mean(end − opened_at) over open cases", U.SECONDS, D.LOWER,
             ("backlog_age_sum_s", "backlog"), ratio("backlog_age_sum_s", "backlog"), CASE_DIMS, ("cases.opened_at", "cases.closed_at")),
        *(
            _kpi(f"backlog_aged_{suffix}",
                 (f"Backlog aged {en}", f"Cases open at the end of the period whose age is {en}."),
                 (f"Encours âgé de {fr}", f"Demandes ouvertes à la fin de la période dont l'âge est de {fr}."),
                 f"count(open cases with age {en})", U.COUNT, D.LOWER,
                 (measure,), value(measure), CASE_DIMS, ("cases.opened_at", "cases.closed_at"))
            for suffix, measure, en, fr in (
                ("lt_1d", "backlog_lt_1d", "under 1 day", "moins d'un jour"),
                ("1_3d", "backlog_1_3d", "1 to 3 days", "1 à 3 jours"),
                ("3_7d", "backlog_3_7d", "3 to 7 days", "3 à 7 jours"),
                ("gt_7d", "backlog_gt_7d", "7 days or more", "7 jours ou plus"),
            )
        ),
        _kpi("resolution_time",
             ("Resolution time", "Mean of closed_at − opened_at of the cases closed in the period (by closed_at), in seconds."),
             ("Délai de résolution", "Moyenne de clôture − ouverture des demandes clôturées sur la période, en secondes."),
             "mean(closed_at − opened_at)", U.SECONDS, D.LOWER,
             ("resolution_sum_s", "cases_closed"), ratio("resolution_sum_s", "cases_closed"), CASE_DIMS, ("cases.opened_at", "cases.closed_at")),
        _kpi("resolution_time_median",
             ("Resolution time, median", "Median of closed_at − opened_at of the cases closed in the period, in seconds."),
             ("Délai de résolution médian", "Médiane de clôture − ouverture des demandes clôturées sur la période, en secondes."),
             "median(closed_at − opened_at)", U.SECONDS, D.LOWER,
             ("resolution_median_s", "cases_closed"), value("resolution_median_s"), CASE_DIMS, ("cases.opened_at", "cases.closed_at")),
        _kpi("resolution_time_p90",
             ("Resolution time, 90th percentile", "90th percentile (linear) of closed_at − opened_at of the cases closed in the period, in seconds."),
             ("Délai de résolution, 90e centile", "90e centile (linéaire) de clôture − ouverture des demandes clôturées, en secondes."),
             "p90(closed_at − opened_at)", U.SECONDS, D.LOWER,
             ("resolution_p90_s", "cases_closed"), value("resolution_p90_s"), CASE_DIMS, ("cases.opened_at", "cases.closed_at")),
        _kpi("once_and_done_rate",
             ("Once-and-done rate", "Share of the cases closed in the period that had exactly one contact."),
             ("Taux de traitement en un contact", "Part des demandes clôturées sur la période qui n'ont eu qu'un contact."),
             "count(closed cases with 1 contact) / count(closed cases)", U.RATE, D.HIGHER,
             ("cases_one_contact", "cases_closed"), ratio("cases_one_contact", "cases_closed"), CASE_DIMS, ("cases.closed_at", "contacts.case_id")),
        _kpi("contacts_per_case",
             ("Contacts per case", "Mean number of contacts of the cases closed in the period."),
             ("Contacts par demande", "Nombre moyen de contacts des demandes clôturées sur la période."),
             "mean(contacts per closed case)", U.SCORE, D.LOWER,
             ("case_contacts", "cases_closed"), ratio("case_contacts", "cases_closed"), CASE_DIMS, ("cases.closed_at", "contacts.case_id")),
        _kpi("occupancy",
             ("Occupancy", "(Handling + wrap time) / (available + handling + wrap time), from agent states."),
             ("Taux d'occupation", "(Temps de traitement + post-appel) / (disponible + traitement + post-appel), d'après les états agents."),
             "Σ(handling, wrap) / Σ(available, handling, wrap)", U.RATE, D.NEUTRAL,
             ("busy_s", "productive_s"), ratio("busy_s", "productive_s"), ("agent_id",), ("agent_states.state", "agent_states.start_at", "agent_states.end_at")),
        _kpi("shrinkage",
             ("Shrinkage", "(Break + training + meeting + absence time) / all time in a state other than offline."),
             ("Taux d'absentéisme et d'indisponibilité (shrinkage)", "(Pauses + formation + réunions + absences) / temps total hors déconnexion."),
             "Σ(break, training, meeting, absence) / Σ(non-offline)", U.RATE, D.LOWER,
             ("shrink_s", "present_s"), ratio("shrink_s", "present_s"), ("agent_id",), ("agent_states.state", "agent_states.start_at", "agent_states.end_at")),
        _kpi("contacts_per_hour",
             ("Contacts per hour", "Answered contacts / hours in available, handling or wrap."),
             ("Contacts par heure", "Contacts décrochés / heures en disponible, traitement ou post-appel."),
             "contacts_answered / (Σ(available, handling, wrap) / 3600)", U.PER_HOUR, D.HIGHER,
             ("answered", "productive_s"), _per_hour, ("agent_id",), (f"{_C}.agent_id", f"{_C}.answered_at", "agent_states.state")),
        _kpi("csat",
             ("CSAT", "Share of CSAT responses at or above the top box (4 on 1-5), by responded_at."),
             ("Satisfaction (CSAT)", "Part des réponses CSAT égales ou supérieures au seuil (4 sur 1-5), par date de réponse."),
             "count(csat ≥ top box) / count(csat)", U.RATE, D.HIGHER,
             ("csat_top", "csat_n"), ratio("csat_top", "csat_n"), SURVEY_DIMS, ("surveys.csat", "surveys.responded_at"), ("csat_top_box",)),
        _kpi("csat_mean",
             ("CSAT, mean score", "Mean CSAT score (1-5) of the responses."),
             ("Note de satisfaction moyenne", "Note CSAT moyenne (1-5) des réponses."),
             "mean(csat)", U.SCORE, D.HIGHER,
             ("csat_sum", "csat_n"), ratio("csat_sum", "csat_n"), SURVEY_DIMS, ("surveys.csat", "surveys.responded_at")),
        _kpi("nps",
             ("Net Promoter Score", "100 × (share of NPS responses 9-10 − share 0-6)."),
             ("Net Promoter Score", "100 × (part des réponses NPS de 9 à 10 − part de 0 à 6)."),
             "100 × (promoters − detractors) / responses", U.POINTS, D.HIGHER,
             ("promoters", "detractors", "nps_n"), _nps, SURVEY_DIMS, ("surveys.nps", "surveys.responded_at")),
        _kpi("ces",
             ("Customer Effort Score", "Mean CES (1-7); lower means less effort."),
             ("Score d'effort client", "CES moyen (1-7) ; plus bas = moins d'effort."),
             "mean(ces)", U.SCORE, D.LOWER,
             ("ces_sum", "ces_n"), ratio("ces_sum", "ces_n"), SURVEY_DIMS, ("surveys.ces", "surveys.responded_at")),
        _kpi("sentiment",
             ("Verbatim sentiment", "Mean sentiment of the scored verbatims, in [-1, 1] (VADER for English, Pattern's lexicon for French)."),
             ("Tonalité des verbatims", "Tonalité moyenne des verbatims notés, dans [-1, 1] (VADER pour l'anglais, lexique de Pattern pour le français)."),
             "mean(sentiment)", U.SCORE, D.HIGHER,
             ("sentiment_sum", "sentiment_n"), ratio("sentiment_sum", "sentiment_n"), SURVEY_DIMS, ("surveys.verbatim", "surveys.responded_at")),
        _kpi("negative_verbatim_rate",
             ("Negative verbatim rate", "Share of the scored verbatims whose sentiment is below -0.05."),
             ("Taux de verbatims négatifs", "Part des verbatims notés dont la tonalité est inférieure à -0,05."),
             "count(sentiment < threshold) / count(sentiment)", U.RATE, D.LOWER,
             ("negative_verbatims", "sentiment_n"), ratio("negative_verbatims", "sentiment_n"), SURVEY_DIMS,
             ("surveys.verbatim", "surveys.responded_at"), ("negative_sentiment_below",)),
        _kpi("survey_response_rate",
             ("Survey response rate", "Surveys with a response / surveys sent (by sent_at)."),
             ("Taux de réponse aux enquêtes", "Enquêtes répondues / enquêtes envoyées (par date d'envoi)."),
             "count(responded) / count(sent)", U.RATE, D.HIGHER,
             ("surveys_responded", "surveys_sent"), ratio("surveys_responded", "surveys_sent"), SURVEY_DIMS, ("surveys.sent_at", "surveys.responded_at")),
        _kpi("quality_score",
             ("Quality score", "Mean over evaluations of 100 × Σ(weight × score / max_score) / Σ weight (by evaluated_at)."),
             ("Note qualité", "Moyenne sur les évaluations de 100 × Σ(poids × note / note max) / Σ poids (par date d'évaluation)."),
             "mean over evaluations of 100 × Σ(w × s / max) / Σ w", U.SCORE, D.HIGHER,
             ("quality_sum", "evaluations"), ratio("quality_sum", "evaluations"), ("agent_id", "evaluator_id", "mode"),
             ("evaluations.score", "evaluations.max_score", "evaluations.weight")),
        _kpi("evaluation_coverage",
             ("Evaluation coverage", "Share of (agent, ISO week) pairs, among agents who answered contacts that week, with at least 3 evaluations including one cold and one live."),
             ("Couverture des évaluations", "Part des couples (conseiller, semaine ISO), parmi les conseillers ayant pris des contacts dans la semaine, avec au moins 3 évaluations dont une à froid et une en direct."),
             "count(pairs with ≥ 3 evaluations, ≥ 1 cold, ≥ 1 live) / count(pairs)", U.RATE, D.HIGHER,
             ("agent_weeks_covered", "agent_weeks"), ratio("agent_weeks_covered", "agent_weeks"), ("agent_id",),
             ("contacts.agent_id", "evaluations.mode", "evaluations.evaluated_at"), min_grain=Grain.WEEK),
        _kpi("churn_rate",
             ("Churn rate", "Customers active at the period start whose churned_at falls in the period / customers active at the period start."),
             ("Taux d'attrition", "Clients actifs au début de la période dont la date de départ tombe dans la période / clients actifs au début."),
             "count(active at start ∧ churned in period) / count(active at start)", U.RATE, D.LOWER,
             ("churned", "active_at_start"), ratio("churned", "active_at_start"), ("segment",), ("customers.acquired_at", "customers.churned_at")),
        _kpi("retention_rate",
             ("Retention rate", "Customers active at the period start and still active at its end / customers active at the start."),
             ("Taux de rétention", "Clients actifs au début et encore actifs à la fin de la période / clients actifs au début."),
             "count(active at start ∧ at end) / count(active at start)", U.RATE, D.HIGHER,
             ("retained", "active_at_start"), ratio("retained", "active_at_start"), ("segment",), ("customers.acquired_at", "customers.churned_at")),
        _kpi("clv",
             ("Customer lifetime value", "Mean monthly margin (revenue − cost) per customer / monthly churn rate (churned / active at each month's start, pooled over the period's months)."),
             ("Valeur vie client", "Marge mensuelle moyenne (revenu − coût) par client / taux d'attrition mensuel (départs / actifs en début de chaque mois, sur les mois de la période)."),
             "(Σ margin / customer-months) / (Σ churned / Σ active at month start)", U.CURRENCY, D.HIGHER,
             ("margin_sum", "customer_months", "month_churned", "month_active_at_start"), _clv, ("segment",),
             ("customer_revenue.revenue", "customer_revenue.cost", "customers.churned_at"), min_grain=Grain.MONTH),
        _kpi("engagement_rate",
             ("Engagement rate", "Customers active in the period with at least one inbound contact in it / customers active in the period."),
             ("Taux d'engagement", "Clients actifs sur la période ayant eu au moins un contact entrant / clients actifs sur la période."),
             "count(active ∧ ≥ 1 inbound contact) / count(active)", U.RATE, D.HIGHER,
             ("engaged_customers", "active_customers"), ratio("engaged_customers", "active_customers"), ("segment",),
             ("customers.acquired_at", "customers.churned_at", "contacts.customer_id")),
        _kpi("net_cash_flow",
             ("Net cash flow", "Σ inflows − Σ outflows (period by date)."),
             ("Flux de trésorerie net", "Σ encaissements − Σ décaissements (par date)."),
             "Σ in − Σ out", U.CURRENCY, D.HIGHER,
             ("cash_in", "cash_out"), _net_cash_flow, ("category", "team"), ("cashflows.amount", "cashflows.direction", "cashflows.date")),
        _kpi("cost_per_contact",
             ("Cost per contact", "Σ outflows of the period (salaries, rent, software, telecom, outsourcer invoices...) / inbound contacts answered in it."),
             ("Coût par contact", "Σ décaissements de la période (salaires, loyers, logiciels, télécom, factures du prestataire...) / contacts entrants décrochés sur la période."),
             "Σ out / contacts_answered", U.CURRENCY, D.LOWER,
             ("cash_out", "answered"), ratio("cash_out", "answered"), ("team",),
             ("cashflows.amount", "cashflows.direction", "contacts.answered_at")),
        _kpi("delinquency_rate",
             ("Loan delinquency rate", "At the period's latest snapshot, loans with days past due at or above 90 / loans with an outstanding balance."),
             ("Taux d'impayés", "Au dernier instantané de la période, prêts avec au moins 90 jours de retard / prêts avec un encours."),
             "count(outstanding > 0 ∧ days_past_due ≥ 90) / count(outstanding > 0)", U.RATE, D.LOWER,
             ("loans_delinquent", "loans_live"), ratio("loans_delinquent", "loans_live"), (),
             ("loans.outstanding", "loans.days_past_due", "loans.snapshot_date"), ("delinquency_days",)),
        _kpi("delinquency_rate_balance",
             ("Loan delinquency rate, balance-weighted", "At the period's latest snapshot, outstanding balance of loans 90+ days past due / total outstanding balance."),
             ("Taux d'impayés pondéré par l'encours", "Au dernier instantané de la période, encours des prêts à 90 jours de retard ou plus / encours total."),
             "Σ outstanding(days_past_due ≥ 90) / Σ outstanding", U.RATE, D.LOWER,
             ("balance_delinquent", "balance_live"), ratio("balance_delinquent", "balance_live"), (),
             ("loans.outstanding", "loans.days_past_due", "loans.snapshot_date"), ("delinquency_days",)),
    )
}


def _business(base: Kpi, measures: tuple[str, ...], formula_of: Formula) -> Kpi:
    """The business-hours variant of a duration KPI: durations count open time only."""
    return Kpi(
        name=f"{base.name}_business",
        label_en=f"{base.label_en} (business hours)",
        label_fr=f"{base.label_fr} (heures ouvrées)",
        definition_en=base.definition_en + " Durations count only the calendar's opening hours.",
        definition_fr=base.definition_fr + " Les durées ne comptent que les heures d'ouverture du calendrier.",
        formula=base.formula + ", durations in business time",
        unit=base.unit, direction=base.direction, measures=measures, formula_of=formula_of,
        dimensions=base.dimensions, inputs=base.inputs, params=base.params, min_grain=base.min_grain,
    )


_BUSINESS = (
    ("asa", ("wait_business_sum_s", "wait_n"), ratio("wait_business_sum_s", "wait_n")),
    ("wait_p90", ("wait_business_p90_s", "wait_n"), value("wait_business_p90_s")),
    ("aht", ("handle_business_sum_s", "handle_n"), ratio("handle_business_sum_s", "handle_n")),
    ("communication_time", ("comm_business_sum_s", "comm_n"), ratio("comm_business_sum_s", "comm_n")),
    ("resolution_time", ("resolution_business_sum_s", "cases_closed"), ratio("resolution_business_sum_s", "cases_closed")),
    ("resolution_time_median", ("resolution_business_median_s", "cases_closed"), value("resolution_business_median_s")),
    ("resolution_time_p90", ("resolution_business_p90_s", "cases_closed"), value("resolution_business_p90_s")),
    ("backlog_age_mean", ("backlog_age_business_sum_s", "backlog"), ratio("backlog_age_business_sum_s", "backlog")),
)
for _name, _measures, _formula in _BUSINESS:
    _variant = _business(KPIS[_name], _measures, _formula)
    KPIS[_variant.name] = _variant

KPIS["service_level_open"] = Kpi(
    name="service_level_open",
    label_en="Service level, open hours",
    label_fr="Niveau de service, heures d'ouverture",
    definition_en="Service level counting only the contacts that arrived while the channel was open (calendar).",
    definition_fr="Niveau de service sur les seuls contacts arrivés pendant les heures d'ouverture du canal (calendrier).",
    formula="count(answered within T ∧ arrived open) / count(offered ∧ arrived open)",
    unit=U.RATE, direction=D.HIGHER,
    measures=("answered_in_t_open", "offered_open", "answered_open", "abandoned_in_t_open"),
    formula_of=_service_level_of("answered_in_t_open", "offered_open", "answered_open", "abandoned_in_t_open"),
    dimensions=CONTACT_DIMS, inputs=KPIS["service_level"].inputs,
    params=KPIS["service_level"].params,
)


def measures_of(names: list[str]) -> list[Measure]:
    """The measures the KPIs need, each once, in catalogue order."""
    wanted = {m for n in names for m in KPIS[n].measures}
    return [m for name, m in MEASURES.items() if name in wanted]


