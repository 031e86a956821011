"""Declarations of the canonical tables (SPEC §2): columns, types, keys and row rules.

Everything that checks, stores or documents a row reads these declarations, so a rule
is written once. The SQL that enforces them lives in ``cxkpi.ingest.validate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ColumnType(StrEnum):
    """Canonical column types; each maps to one warehouse type."""

    TEXT = "text"
    TIMESTAMP = "timestamp"  # stored as UTC TIMESTAMPTZ
    DATE = "date"
    MONTH = "month"  # YYYY-MM, stored as the DATE of the first day
    NUMBER = "number"  # DOUBLE
    INTEGER = "integer"  # BIGINT; "4.0" is accepted, "4.5" is not
    BOOL = "bool"


@dataclass(frozen=True)
class Literal:
    """Default used when the cell is empty."""

    value: str


@dataclass(frozen=True)
class IfPresent:
    """Default that depends on another column: ``then`` when it is present, else ``otherwise``."""

    column: str
    then: str
    otherwise: str


@dataclass(frozen=True)
class Column:
    """One canonical column. ``choices`` closes the vocabulary; ``minimum``/``maximum`` are inclusive."""

    name: str
    type: ColumnType = ColumnType.TEXT
    required: bool = False
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None  # strict lower bound
    default: Literal | IfPresent | None = None
    doc: str = ""


@dataclass(frozen=True)
class Order:
    """Row rule ``before <= after``, checked when both are present."""

    before: str
    after: str


@dataclass(frozen=True)
class Implies:
    """Row rule: when ``column`` takes one of ``values``, ``other`` must be present (or absent)."""

    column: str
    values: tuple[str, ...]
    other: str
    present: bool


Rule = Order | Implies


@dataclass(frozen=True)
class Table:
    """A canonical table: its columns, the key that makes re-imports idempotent, its rules.

    ``derive_key_from`` names the columns hashed into the key when a source has no id of
    its own (cash flows): identical rows in one file stay distinct by their rank.
    """

    name: str
    label_en: str
    label_fr: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    time_column: str
    rules: tuple[Rule, ...] = ()
    derive_key_from: tuple[str, ...] = ()
    doc: str = ""
    _index: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {c.name: c for c in self.columns})

    def column(self, name: str) -> Column:
        return self._index[name]

    def has(self, name: str) -> bool:
        return name in self._index

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


T = ColumnType

CHANNELS = ("phone", "email", "chat", "video", "social", "web_form", "sms", "selfcare")
OUTCOMES = ("answered", "abandoned", "deflected", "callback")
DIRECTIONS = ("inbound", "outbound")
AGENT_STATES = ("available", "handling", "wrap", "break", "training", "meeting", "absence", "offline")
SURVEY_MODES = ("email", "ivr", "sms", "call", "web", "in_app")
EVALUATION_MODES = ("cold", "live")
FLOW_DIRECTIONS = ("in", "out")


def _text(name: str, doc: str = "", required: bool = False) -> Column:
    return Column(name, T.TEXT, required=required, doc=doc)


CONTACTS = Table(
    name="contacts",
    label_en="Contacts",
    label_fr="Contacts",
    doc="One row per interaction on any channel.",
    key=("contact_id",),
    time_column="created_at",
    columns=(
        _text("contact_id", "unique id", required=True),
        Column("channel", T.TEXT, required=True, choices=CHANNELS, doc="channel of the interaction"),
        Column("created_at", T.TIMESTAMP, required=True, doc="call arrives in queue / message received"),
        Column("direction", T.TEXT, choices=DIRECTIONS, default=Literal("inbound"), doc="inbound or outbound"),
        _text("customer_id", "needed for FCR, repeat contacts, churn links"),
        _text("case_id", "the request/ticket this contact belongs to"),
        _text("queue"),
        _text("team"),
        _text("site", "site or outsourcer"),
        _text("agent_id"),
        Column("answered_at", T.TIMESTAMP, doc="first agent answer or reply; empty if never answered"),
        Column("ended_at", T.TIMESTAMP, doc="end of the conversation / of agent handling"),
        Column("hold_seconds", T.NUMBER, minimum=0, doc="hold time inside the conversation"),
        Column("wrap_seconds", T.NUMBER, minimum=0, doc="after-contact work"),
        Column(
            "outcome",
            T.TEXT,
            choices=OUTCOMES,
            default=IfPresent("answered_at", "answered", "abandoned"),
            doc="answered, abandoned, deflected, callback",
        ),
        Column("transferred", T.BOOL),
        Column("resolved", T.BOOL),
        Column("converted", T.BOOL),
        _text("reason"),
        _text("product"),
        _text("segment"),
        _text("language"),
    ),
    rules=(
        Order("created_at", "answered_at"),
        Order("answered_at", "ended_at"),
        Order("created_at", "ended_at"),
        Implies("outcome", ("answered",), "answered_at", present=True),
        Implies("outcome", ("abandoned",), "answered_at", present=False),
    ),
)

CASES = Table(
    name="cases",
    label_en="Cases",
    label_fr="Demandes",
    doc="Requests / tickets, for backlog and resolution time.",
    key=("case_id",),
    time_column="opened_at",
    columns=(
        _text("case_id", required=True),
        Column("opened_at", T.TIMESTAMP, required=True),
        Column("closed_at", T.TIMESTAMP, doc="empty = open"),
        _text("customer_id"),
        Column("channel", T.TEXT, choices=CHANNELS),
        _text("status"),
        _text("reason"),
        _text("priority"),
        _text("team"),
        _text("site"),
        _text("agent_id"),
    ),
    rules=(Order("opened_at", "closed_at"),),
)

SURVEYS = Table(
    name="surveys",
    label_en="Surveys",
    label_fr="Enquêtes",
    doc="A row with sent_at and no responded_at is a survey sent but not answered.",
    key=("survey_id",),
    time_column="responded_at",
    columns=(
        _text("survey_id", required=True),
        Column("responded_at", T.TIMESTAMP),
        Column("sent_at", T.TIMESTAMP),
        _text("contact_id"),
        _text("customer_id"),
        _text("agent_id"),
        Column("mode", T.TEXT, choices=SURVEY_MODES),
        Column("csat", T.INTEGER, minimum=1, maximum=5),
        Column("nps", T.INTEGER, minimum=0, maximum=10),
        Column("ces", T.INTEGER, minimum=1, maximum=7),
        _text("verbatim"),
        _text("language"),
    ),
    rules=(Order("sent_at", "responded_at"),),
)

EVALUATIONS = Table(
    name="evaluations",
    label_en="Quality evaluations",
    label_fr="Évaluations qualité",
    doc="Behavioural quality monitoring; one row per criterion scored.",
    key=("evaluation_id", "criterion"),
    time_column="evaluated_at",
    columns=(
        _text("evaluation_id", required=True),
        _text("agent_id", required=True),
        _text("evaluator_id"),
        Column("evaluated_at", T.TIMESTAMP, required=True),
        _text("contact_id"),
        Column("mode", T.TEXT, choices=EVALUATION_MODES, doc="cold = recorded, live = side-by-side"),
        _text("criterion", required=True),
        Column("score", T.NUMBER, required=True, minimum=0),
        Column("max_score", T.NUMBER, required=True, above=0),
        Column("weight", T.NUMBER, minimum=0, default=Literal("1")),
    ),
    rules=(Order("score", "max_score"),),
)

AGENT_STATES_TABLE = Table(
    name="agent_states",
    label_en="Agent states",
    label_fr="États agents",
    doc="Agent state intervals, for productivity, occupancy and shrinkage.",
    key=("agent_id", "start_at"),
    time_column="start_at",
    columns=(
        _text("agent_id", required=True),
        Column("state", T.TEXT, required=True, choices=AGENT_STATES),
        Column("start_at", T.TIMESTAMP, required=True),
        Column("end_at", T.TIMESTAMP, required=True),
    ),
    rules=(Order("start_at", "end_at"),),
)

CUSTOMERS = Table(
    name="customers",
    label_en="Customers",
    label_fr="Clients",
    key=("customer_id",),
    time_column="acquired_at",
    columns=(
        _text("customer_id", required=True),
        _text("segment"),
        Column("acquired_at", T.TIMESTAMP),
        Column("churned_at", T.TIMESTAMP, doc="empty = active"),
    ),
    rules=(Order("acquired_at", "churned_at"),),
)

CUSTOMER_REVENUE = Table(
    name="customer_revenue",
    label_en="Customer revenue",
    label_fr="Revenus clients",
    key=("customer_id", "period"),
    time_column="period",
    columns=(
        _text("customer_id", required=True),
        Column("period", T.MONTH, required=True, doc="month, YYYY-MM"),
        Column("revenue", T.NUMBER),
        Column("cost", T.NUMBER),
    ),
)

CASHFLOWS = Table(
    name="cashflows",
    label_en="Cash flows",
    label_fr="Flux de trésorerie",
    key=("cashflow_id",),
    derive_key_from=("date", "direction", "category", "team", "amount"),
    time_column="date",
    columns=(
        _text("cashflow_id", "optional; derived from the row when the source has none"),
        Column("date", T.DATE, required=True),
        Column("direction", T.TEXT, required=True, choices=FLOW_DIRECTIONS),
        _text("category"),
        Column("amount", T.NUMBER, required=True, minimum=0),
        _text("team"),
    ),
)

LOANS = Table(
    name="loans",
    label_en="Loans",
    label_fr="Prêts",
    key=("loan_id", "snapshot_date"),
    time_column="snapshot_date",
    columns=(
        _text("loan_id", required=True),
        _text("customer_id"),
        Column("snapshot_date", T.DATE, required=True),
        Column("outstanding", T.NUMBER, minimum=0),
        Column("days_past_due", T.INTEGER, minimum=0),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        CONTACTS,
        CASES,
        SURVEYS,
        EVALUATIONS,
        AGENT_STATES_TABLE,
        CUSTOMERS,
        CUSTOMER_REVENUE,
        CASHFLOWS,
        LOANS,
    )
}


def table(name: str) -> Table:
    """The declaration of table ``name``; ``KeyError`` names the known tables."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r} (known: {', '.join(TABLES)})") from None
