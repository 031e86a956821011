"""Words of the dashboard in English and French, and periods written the local way (Babel)."""

from __future__ import annotations

from datetime import date

from babel.dates import format_date

from cxkpi.kpi.format import locale_of
from cxkpi.kpi.model import Grain
from cxkpi.kpi.periods import parse_label

LANGS = ("en", "fr")

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "login": "Log in", "logout": "Log out", "username": "User name", "password": "Password",
        "bad_login": "Wrong user name or password.", "period": "Period", "grain": "Grain", "date": "Date",
        "from": "From", "to": "To", "apply": "Apply", "all": "All", "channel": "Channel", "team": "Team", "site": "Site",
        "day": "Day", "week": "Week", "month": "Month", "quarter": "Quarter", "year": "Year", "custom": "Custom range",
        "target": "Target", "actual": "Actual", "status": "Status", "definition": "Definition", "rows": "Rows behind",
        "export_csv": "CSV", "export_xlsx": "XLSX", "no_data": "No data for this period.", "formula": "Formula",
        "unit": "Unit", "direction": "Direction", "dimensions": "Dimensions", "inputs": "Inputs", "params": "Parameters",
        "query": "Query", "previous": "Previous", "next": "Next", "agent": "Agent", "language": "Language",
        "na_filter": "not available with this filter", "trend": "Trend", "scope": "Scope", "green": "on target",
        "amber": "close to target", "red": "off target", "by_channel": "By channel", "by_team": "By team",
        "by_site": "By site", "agents": "Agents", "scorecard": "Scorecard", "segment": "By segment",
        "out_of_scope": "This is outside your scope.", "not_found": "Not found.", "error": "Something went wrong.",
        "value": "Value", "keep_lang": "Keep English",
    },
    "fr": {
        "login": "Se connecter", "logout": "Se déconnecter", "username": "Identifiant", "password": "Mot de passe",
        "bad_login": "Identifiant ou mot de passe incorrect.", "period": "Période", "grain": "Granularité",
        "date": "Date", "from": "Du", "to": "Au", "apply": "Appliquer", "all": "Tous", "channel": "Canal",
        "team": "Équipe", "site": "Site", "day": "Jour", "week": "Semaine", "month": "Mois", "quarter": "Trimestre",
        "year": "Année", "custom": "Période libre", "target": "Objectif", "actual": "Réalisé", "status": "Statut",
        "definition": "Définition", "rows": "Lignes sources", "export_csv": "CSV", "export_xlsx": "XLSX",
        "no_data": "Aucune donnée sur cette période.", "formula": "Formule", "unit": "Unité", "direction": "Sens",
        "dimensions": "Dimensions", "inputs": "Données", "params": "Paramètres", "query": "Requête",
        "previous": "Précédent", "next": "Suivant", "agent": "Conseiller", "language": "Langue",
        "na_filter": "non disponible avec ce filtre", "trend": "Tendance", "scope": "Périmètre", "green": "objectif atteint",
        "amber": "proche de l'objectif", "red": "hors objectif", "by_channel": "Par canal", "by_team": "Par équipe",
        "by_site": "Par site", "agents": "Conseillers", "scorecard": "Tableau de bord individuel",
        "segment": "Par segment", "out_of_scope": "Hors de votre périmètre.", "not_found": "Introuvable.",
        "error": "Une erreur est survenue.", "value": "Valeur", "keep_lang": "Garder le français",
    },
}


def words(lang: str) -> dict[str, str]:
    return WORDS.get(lang, WORDS["en"])


def period_text(text: str, grain: Grain, lang: str) -> str:
    """A period label (``2025-03``, ``2025-W10``...) as people of ``lang`` write it."""
    if grain is Grain.ALL or not text:
        return text
    try:
        start = parse_label(text, grain)
    except Exception:  # a label the engine made is always parseable; be lenient with others
        return text
    return period_from_date(start, grain, lang)


def period_from_date(start: date, grain: Grain, lang: str) -> str:
    loc = locale_of(lang)
    if grain is Grain.DAY:
        return format_date(start, "medium", locale=loc)
    if grain is Grain.WEEK:
        iso = start.isocalendar()
        return f"{'S' if lang == 'fr' else 'W'}{iso.week:02d} {iso.year}"
    if grain is Grain.MONTH:
        return format_date(start, "LLLL y", locale=loc)
    if grain is Grain.QUARTER:
        return f"{'T' if lang == 'fr' else 'Q'}{(start.month - 1) // 3 + 1} {start.year}"
    return str(start.year)


def date_text(d: date, lang: str) -> str:
    return format_date(d, "medium", locale=locale_of(lang))
