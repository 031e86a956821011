"""The KPI catalogue (SPEC §3), declared once: code, docs, CLI help and dashboards read it.

Measures are grouped by source; each KPI names its measures and how to combine them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cxkpi.kpi.model import Direction, Grain, Kpi, Measure, Unit, ratio, value
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


MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure("inbound", "contacts", _count("_inbound")),
        Measure("offered", "contacts", _count("_offered")),
        Measure("answered", "contacts", _count("_answered")),
        Measure("abandoned", "contacts", _count("_abandoned")),
        Measure("short_abandoned", "contacts", _count("_short_abandon")),
        Measure("answered_in_t", "contacts", _count("_answered_in_t")),
        Measure("abandoned_in_t", "contacts", _count("_abandoned_in_t")),
        Measure("wait_sum_s", "contacts", _sum("_wait_s")),
        Measure("wait_n", "contacts", _n("_wait_s")),
        Measure("wait_p90_s", "contacts", _quantile("_wait_s", 0.9)),
        Measure("handle_sum_s", "contacts", _sum("_handle_s")),
        Measure("handle_n", "contacts", _n("_handle_s")),
        Measure("comm_sum_s", "contacts", _sum("_comm_s")),
        Measure("comm_n", "contacts", _n("_comm_s")),
        Measure("fcr_base", "contacts", _count("_fcr_base")),
        Measure("fcr_ok", "contacts", _count("_fcr_ok")),
        Measure("transferred", "contacts", _count("_transferred")),
        Measure("converted", "contacts", _count("_converted")),
        Measure("selfcare", "contacts", _count("_selfcare")),
        Measure("digital", "contacts", _count("_digital")),
    )
}


def _service_level(m: Mapping[str, Any], p: Mapping[str, Any]) -> float | None:
    mode = p["service_level_abandons"]
    met, base = m.get("answered_in_t"), m.get("offered")
    if mode == "ignored":
        base = m.get("answered")
    elif mode == "met_within_t" and met is not None:
        met = met + (m.get("abandoned_in_t") or 0)
    if met is None or not base:
        return None
    return float(met) / float(base)


def _kpi(
    name: str,
    en: tuple[str, str],
    fr: tuple[str, str],
    formula: str,
    unit: Unit,
    direction: Direction,
    measures: tuple[str, ...],
    compute: Any,
    dims: tuple[str, ...],
    inputs: tuple[str, ...],
    params: tuple[str, ...] = (),
    min_grain: Grain = Grain.DAY,
) -> Kpi:
    return Kpi(
        name=name, label_en=en[0], definition_en=en[1], label_fr=fr[0], definition_fr=fr[1], formula=formula,
        unit=unit, direction=direction, measures=measures, compute=compute, dimensions=dims, inputs=inputs,
        params=params, min_grain=min_grain,
    )


_C = "contacts"
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
             ("Average handling time", "Mean of (ended_at − answered_at) + wrap_seconds over answered contacts with an end (wrap missing = 0), in seconds."),
             ("Durée moyenne de traitement (DMT)", "Moyenne de (fin − réponse) + post-appel sur les contacts décrochés terminés (post-appel absent = 0), en secondes."),
             "mean((ended_at − answered_at) + wrap_seconds)", U.SECONDS, D.NEUTRAL,
             ("handle_sum_s", "handle_n"), ratio("handle_sum_s", "handle_n"), CONTACT_DIMS,
             (f"{_C}.answered_at", f"{_C}.ended_at", f"{_C}.wrap_seconds")),
        _kpi("communication_time",
             ("Communication time", "Mean of ended_at − created_at over answered contacts with an end, in seconds."),
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
             ("Transfer rate", "Answered inbound contacts transferred / contacts answered."),
             ("Taux de transfert", "Contacts entrants décrochés transférés / contacts décrochés."),
             "count(answered ∧ transferred) / contacts_answered", U.RATE, D.LOWER,
             ("transferred", "answered"), ratio("transferred", "answered"), CONTACT_DIMS, (f"{_C}.transferred",)),
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
             ("Conversion rate", "Answered inbound contacts where the desired action happened / contacts answered."),
             ("Taux de transformation", "Contacts entrants décrochés suivis de l'action souhaitée / contacts décrochés."),
             "count(answered ∧ converted) / contacts_answered", U.RATE, D.HIGHER,
             ("converted", "answered"), ratio("converted", "answered"), CONTACT_DIMS, (f"{_C}.converted",)),
    )
}


def measures_of(names: list[str]) -> list[Measure]:
    """The measures the KPIs need, each once, in catalogue order."""
    wanted = {m for n in names for m in KPIS[n].measures}
    return [m for name, m in MEASURES.items() if name in wanted]


