"""What each dashboard page shows: KPI names from the catalogue, grouped as a director reads them.

The five dimensions of the overview follow the sources (``../shared/sources``): the
backlog (what waits), the inbound flow (what arrives), handling performance (how it is
answered), productivity (what it costs in people), satisfaction (what customers say).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    key: str
    title_en: str
    title_fr: str
    kpis: tuple[str, ...]

    def title(self, lang: str) -> str:
        return self.title_fr if lang == "fr" else self.title_en


DIMENSIONS: tuple[Section, ...] = (
    Section("backlog", "Backlog", "Stock", ("backlog_open", "backlog_age_mean", "backlog_aged_gt_7d", "resolution_time")),
    Section("flow", "Inbound flow", "Flux entrant", ("contacts_offered", "contacts_answered", "digital_rate", "selfcare_rate")),
    Section("handling", "Handling performance", "Performance de traitement",
            ("service_level", "answer_rate", "abandon_rate", "asa", "aht", "fcr")),
    Section("productivity", "Productivity", "Productivité", ("occupancy", "shrinkage", "contacts_per_hour", "quality_score")),
    Section("satisfaction", "Satisfaction", "Satisfaction", ("csat", "nps", "ces", "survey_response_rate")),
)

# every KPI of a dimension's own page (the overview shows the first ones)
DIMENSION_PAGES: dict[str, tuple[str, ...]] = {
    "backlog": ("backlog_open", "backlog_age_mean", "backlog_aged_lt_1d", "backlog_aged_1_3d", "backlog_aged_3_7d",
                "backlog_aged_gt_7d", "resolution_time", "resolution_time_median", "once_and_done_rate", "contacts_per_case"),
    "flow": ("contacts_offered", "contacts_answered", "contacts_abandoned", "short_abandons", "digital_rate",
             "selfcare_rate", "repeat_contact_rate"),
    "handling": ("service_level", "answer_rate", "abandon_rate", "asa", "wait_p90", "aht", "communication_time", "fcr",
                 "transfer_rate", "conversion_rate"),
    "productivity": ("occupancy", "shrinkage", "contacts_per_hour", "quality_score", "evaluation_coverage"),
    "satisfaction": ("csat", "csat_mean", "nps", "ces", "sentiment", "negative_verbatim_rate", "survey_response_rate"),
}

COMPARISON = ("contacts_offered", "service_level", "abandon_rate", "asa", "aht", "fcr", "transfer_rate", "csat", "nps")
AGENT_LIST = ("contacts_answered", "aht", "fcr", "transfer_rate", "csat", "quality_score")
AGENT_CARD = ("contacts_answered", "aht", "fcr", "transfer_rate", "conversion_rate", "csat", "nps", "sentiment",
              "quality_score", "occupancy", "contacts_per_hour")
CUSTOMER = ("csat", "nps", "ces", "churn_rate", "retention_rate", "clv", "engagement_rate")
FINANCE = ("net_cash_flow", "cost_per_contact", "delinquency_rate", "delinquency_rate_balance")
FILTERS = ("channel", "team", "site")


@dataclass(frozen=True)
class Page:
    path: str
    key: str
    title_en: str
    title_fr: str

    def title(self, lang: str) -> str:
        return self.title_fr if lang == "fr" else self.title_en


NAV: tuple[Page, ...] = (
    Page("/", "overview", "Overview", "Vue d'ensemble"),
    *(Page(f"/dimension/{s.key}", s.key, s.title_en, s.title_fr) for s in DIMENSIONS),
    Page("/channels", "channels", "Channels", "Canaux"),
    Page("/teams", "teams", "Teams & sites", "Équipes et sites"),
    Page("/agents", "agents", "Agents", "Conseillers"),
    Page("/customers", "customers", "Customer experience", "Expérience client"),
    Page("/finance", "finance", "Finance", "Finance"),
)
