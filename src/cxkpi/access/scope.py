"""What a user may see: the KPIs their role opens and the rows their scope keeps.

Scoping is applied to the KPI query itself (``KpiQuery.scope``), so pages, API calls,
exports and drill-downs share one rule and no URL or parameter can widen it:
- admin, manager: everything;
- quality: every agent, but only the tables of service quality (no customer value,
  revenue, cash or loans);
- team_lead: rows of their team; tables that know agents but not teams (agent states,
  evaluations) keep the team's agents, i.e. those seen handling the team's contacts;
- agent: rows of their own agent id only (their scorecard).
A KPI with a source the scope cannot restrict (churn has no team nor agent) is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from cxkpi.kpi.catalogue import KPIS, measures_of
from cxkpi.kpi.query import KpiQuery, kpi_named
from cxkpi.kpi.model import Kpi
from cxkpi.kpi.sources import SOURCES

from cxkpi.access.users import Role, User

QUALITY_TABLES = frozenset({"contacts", "cases", "surveys", "evaluations", "agent_states"})

ScopeRule = tuple[tuple[str, tuple[str, ...]], ...]  # (dimension, values) alternatives, first one a source has


class OutOfScope(Exception):
    """A request for figures or rows outside the user's scope (HTTP 403)."""


@dataclass(frozen=True)
class Scope:
    """The rows and KPIs open to one user."""

    role: Role
    rule: ScopeRule = ()
    tables: frozenset[str] | None = None  # None: every table
    label: str = ""

    @property
    def unrestricted(self) -> bool:
        return not self.rule and self.tables is None

    def kpi_allowed(self, k: Kpi) -> bool:
        if self.tables is not None and not {i.split(".")[0] for i in k.inputs} <= self.tables:
            return False
        if not self.rule:
            return True
        for m in measures_of([k.name]):
            source = SOURCES[m.source]
            if not any(dim in source.dimensions for dim, _ in self.rule):
                return False
        return True

    def kpis(self) -> list[Kpi]:
        return [k for k in KPIS.values() if self.kpi_allowed(k)]

    def apply(self, q: KpiQuery) -> KpiQuery:
        """``q`` restricted to the scope; ``OutOfScope`` for a KPI the role does not open."""
        for name in q.kpis:
            k = kpi_named(name)
            if not self.kpi_allowed(k):
                raise OutOfScope(f"KPI {name} is outside your scope")
        return replace(q, scope=self.rule) if self.rule else q


def scope_of(user: User, team_agents: Callable[[str], Sequence[str]]) -> Scope:
    """The scope of ``user``; ``team_agents(team)`` lists the agents seen in a team's contacts."""
    if user.role in (Role.ADMIN, Role.MANAGER):
        return Scope(user.role)
    if user.role is Role.QUALITY:
        return Scope(user.role, tables=QUALITY_TABLES)
    if user.role is Role.TEAM_LEAD:
        team = user.team or ""
        agents = tuple(team_agents(team))
        return Scope(user.role, rule=(("team", (team,)), ("agent_id", agents or ("\x00none",))), label=team)
    agent = user.agent_id or "\x00none"
    return Scope(user.role, rule=(("agent_id", (agent,)),), label=agent)
