"""Reference data of the demo bank: channels, opening hours, reasons, products, queues, sites, teams.

Everything the other demo modules draw from is declared here as small tuples indexed by
integer codes, so the generators work on numpy code arrays and turn codes into text only
when they build the Arrow tables. Channel codes follow ``cxkpi.schema.tables.CHANNELS``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cxkpi.schema.tables import AGENT_STATES, CHANNELS, SURVEY_MODES

# --- channels ------------------------------------------------------------------------
PHONE, EMAIL, CHAT, VIDEO, SOCIAL, WEB_FORM, SMS, SELFCARE = range(8)
assert CHANNELS == ("phone", "email", "chat", "video", "social", "web_form", "sms", "selfcare")
N_CHANNELS = len(CHANNELS)

#: real-time channels: the customer waits on line and may abandon.
REALTIME = (PHONE, CHAT, VIDEO)
#: asynchronous channels: messages wait in a backlog, nobody abandons.
ASYNC = (EMAIL, SOCIAL, WEB_FORM, SMS)

#: SPEC §3 answer thresholds T in seconds, per channel code (selfcare has none).
ANSWER_THRESHOLD = (20.0, 86400.0, 60.0, 20.0, 3600.0, 86400.0, 3600.0, 0.0)

#: Opening hours in local time (Europe/Paris): (weekday, saturday, sunday), each None or
#: (open hour, close hour). For real-time channels they bound the arrivals; for
#: asynchronous channels they bound only the processing (messages arrive at any hour).
HOURS: dict[int, tuple[tuple[float, float] | None, ...]] = {
    PHONE: ((8.0, 20.0), (9.0, 17.0), None),
    VIDEO: ((9.0, 19.0), (9.0, 13.0), None),
    CHAT: ((8.0, 22.0), (9.0, 18.0), None),
    EMAIL: ((8.0, 19.0), (9.0, 13.0), None),
    WEB_FORM: ((8.0, 19.0), (9.0, 13.0), None),
    SOCIAL: ((8.0, 21.0), (9.0, 18.0), None),
    SMS: ((8.0, 21.0), (9.0, 18.0), None),
    SELFCARE: ((0.0, 24.0), (0.0, 24.0), (0.0, 24.0)),
}
#: On 24 and 31 December every agent channel closes at 17:00.
SHORT_DAY_CLOSE = 17.0

#: Channel mix of new requests at the start and at the end of the year (digital grows).
MIX_START = (0.515, 0.105, 0.075, 0.010, 0.018, 0.050, 0.017, 0.210)
MIX_END = (0.425, 0.105, 0.115, 0.017, 0.024, 0.050, 0.024, 0.240)

#: Weekly factors Monday..Sunday per channel.
WEEKLY = {
    PHONE: (1.30, 1.08, 1.00, 0.98, 0.92, 0.42, 0.0),
    VIDEO: (1.20, 1.05, 1.00, 1.00, 0.95, 0.30, 0.0),
    CHAT: (1.22, 1.05, 1.00, 1.00, 0.95, 0.55, 0.0),
    EMAIL: (1.25, 1.05, 1.00, 0.98, 0.95, 0.50, 0.45),
    WEB_FORM: (1.25, 1.05, 1.00, 0.98, 0.95, 0.50, 0.45),
    SOCIAL: (1.15, 1.00, 1.00, 1.00, 1.00, 0.75, 0.65),
    SMS: (1.15, 1.00, 1.00, 1.00, 1.00, 0.70, 0.55),
    SELFCARE: (1.10, 1.00, 1.00, 1.00, 1.00, 0.85, 0.75),
}

#: Yearly factors by month of the period, November 2025 .. October 2026 (January high,
#: August low).
MONTHLY = (1.00, 0.90, 1.22, 1.06, 1.04, 1.00, 0.93, 0.97, 0.86, 0.68, 1.08, 1.02)

#: Mean talk (or handling) seconds and mean after-contact work per channel.
TALK_MEAN = (330.0, 360.0, 480.0, 840.0, 200.0, 300.0, 150.0, 240.0)
WRAP_MEAN = (55.0, 40.0, 35.0, 90.0, 25.0, 40.0, 20.0, 0.0)
TALK_SIGMA = 0.6
WRAP_SIGMA = 0.5

#: Median patience (seconds) of customers waiting on real-time channels.
PATIENCE_MEDIAN = (150.0, 0.0, 210.0, 240.0, 0.0, 0.0, 0.0, 0.0)
PATIENCE_SIGMA = 0.9
SHORT_PATIENCE_SHARE = 0.06  # hang up at the welcome message: the "short abandons"

# --- customers -----------------------------------------------------------------------
SEGMENTS = ("particulier", "professionnel", "patrimonial")
PARTICULIER, PROFESSIONNEL, PATRIMONIAL = range(3)
SEGMENT_SHARE = (0.85, 0.11, 0.04)
SEGMENT_PROPENSITY = (1.0, 1.35, 1.6)
LANGUAGES = ("fr", "en")
ENGLISH_SHARE = (0.035, 0.06, 0.10)

# --- reasons and products ------------------------------------------------------------
REASONS = (
    "carte bancaire",
    "virement",
    "compte",
    "banque en ligne",
    "fraude",
    "crédit conso",
    "prêt immobilier",
    "assurance",
    "épargne",
)
CARTE, VIREMENT, COMPTE, BANQUE_EN_LIGNE, FRAUDE, CREDIT_CONSO, PRET_IMMO, ASSURANCE, EPARGNE = range(9)
N_REASONS = len(REASONS)

#: Reason weights of requests to an agent, per segment.
REASON_WEIGHTS = (
    (0.20, 0.13, 0.17, 0.13, 0.07, 0.08, 0.06, 0.08, 0.08),
    (0.14, 0.18, 0.24, 0.12, 0.07, 0.11, 0.03, 0.06, 0.05),
    (0.10, 0.10, 0.12, 0.06, 0.05, 0.05, 0.17, 0.10, 0.25),
)
#: Multipliers of the reason weights on self-service (simple requests go online).
SELFCARE_REASON_FACTOR = (1.3, 1.5, 1.4, 0.9, 0.4, 0.5, 0.3, 0.6, 1.0)
#: Talk-time multiplier per reason.
REASON_TALK = (0.90, 0.80, 0.90, 0.85, 1.45, 1.20, 1.60, 1.15, 1.10)
#: Probability that an agent resolves the request at the first contact (phone, average agent).
REASON_RESOLVE = (0.90, 0.88, 0.89, 0.88, 0.70, 0.80, 0.68, 0.82, 0.87)
#: Channel multiplier on the odds of resolution.
CHANNEL_RESOLVE_ODDS = (1.0, 0.70, 0.85, 1.15, 0.45, 0.65, 0.55, 1.0)
#: Probability that a self-service session succeeds, per reason.
SELFCARE_SUCCESS = (0.86, 0.86, 0.85, 0.72, 0.40, 0.60, 0.45, 0.65, 0.80)
#: Probability that an unresolved customer comes back, per reason.
REPEAT_PROB = (0.80, 0.82, 0.78, 0.80, 0.95, 0.75, 0.80, 0.72, 0.70)
#: Sale probability when an agent handles the request, per reason.
CONVERSION = (0.03, 0.01, 0.04, 0.01, 0.0, 0.18, 0.12, 0.15, 0.16)
CHANNEL_CONVERSION = (1.0, 0.4, 0.7, 1.5, 0.2, 0.4, 0.2, 0.15)
#: Transfer probability per reason (to the fraud desk, the mortgage experts...).
TRANSFER = (0.035, 0.03, 0.04, 0.04, 0.15, 0.08, 0.13, 0.09, 0.05)
#: Probability that a phone or video call has a hold.
HOLD_PROB = (0.28, 0.25, 0.30, 0.35, 0.45, 0.40, 0.45, 0.38, 0.33)
#: Sales commission (EUR, cash in) and monthly margin uplift (EUR) of a sale, per reason.
COMMISSION = (25.0, 0.0, 40.0, 0.0, 0.0, 180.0, 450.0, 90.0, 60.0)
MARGIN_UPLIFT = (2.0, 0.0, 4.0, 0.0, 0.0, 14.0, 38.0, 7.0, 5.0)
PRIORITIES = ("basse", "normale", "haute", "urgente")
REASON_PRIORITY = (1, 1, 1, 1, 3, 2, 2, 1, 0)

PRODUCTS = (
    ("Visa Classic", "Visa Premier", "Mastercard Gold", "Visa Infinite"),
    ("Virement SEPA", "Virement instantané", "Virement international"),
    ("Compte courant", "Offre groupée", "Compte joint", "Compte professionnel"),
    ("Application mobile", "Espace client web", "Authentification forte"),
    ("Carte bancaire", "Virement", "Compte courant"),
    ("Prêt personnel", "Crédit renouvelable", "Prêt auto"),
    ("Prêt immobilier", "Renégociation", "Assurance emprunteur"),
    ("Assurance habitation", "Assurance auto", "Prévoyance"),
    ("Livret A", "LDDS", "Assurance-vie", "PEA", "PEL"),
)
PRODUCT_WEIGHTS = (
    (0.55, 0.30, 0.10, 0.05),
    (0.60, 0.30, 0.10),
    (0.50, 0.30, 0.20, 0.0),
    (0.60, 0.25, 0.15),
    (0.60, 0.25, 0.15),
    (0.50, 0.30, 0.20),
    (0.60, 0.25, 0.15),
    (0.50, 0.35, 0.15),
    (0.35, 0.15, 0.30, 0.10, 0.10),
)
PRODUCT_LABELS: tuple[str, ...] = tuple(p for group in PRODUCTS for p in group)
PRODUCT_OFFSET: tuple[int, ...] = tuple(sum(len(g) for g in PRODUCTS[:i]) for i in range(N_REASONS))

# --- sites, teams, pools ---------------------------------------------------------------
SITES = ("Lyon", "Rabat (prestataire)")
LYON, RABAT = range(2)
TEAMS = (
    "Lyon Particuliers 1",
    "Lyon Particuliers 2",
    "Lyon Pro & Patrimoine",
    "Lyon Digital",
    "Rabat Voix",
    "Rabat Écrit & Chat",
)
TEAM_SITE = (LYON, LYON, LYON, LYON, RABAT, RABAT)
TEAM_LEADERS = ("TL01", "TL02", "TL03", "TL04", "TL05", "TL06")
QUALITY_ANALYSTS = ("QA01", "QA02", "QA03", "QA04")


@dataclass(frozen=True)
class Pool:
    """A set of agents that serve one FCFS queue of contacts.

    ``beta`` is the square-root staffing safety factor (N = a + beta * sqrt(a)) of a
    real-time pool; asynchronous pools are staffed to clear the week's workload.
    ``busy_inflation`` adds the retries and repeat contacts that the forecast expects.
    """

    name: str
    channels: tuple[int, ...]
    realtime: bool
    beta: float = 1.0
    min_staff: int = 1
    busy_inflation: float = 1.0


POOLS = (
    Pool("TEL_PART", (PHONE,), True, beta=1.0, min_staff=2, busy_inflation=1.16),
    Pool("TEL_PRO", (PHONE,), True, beta=0.9, min_staff=1, busy_inflation=1.12),
    Pool("TEL_PATRI", (PHONE,), True, beta=0.8, min_staff=1, busy_inflation=1.10),
    Pool("VISIO", (VIDEO,), True, beta=1.4, min_staff=2, busy_inflation=1.05),
    Pool("CHAT", (CHAT,), True, beta=1.2, min_staff=2, busy_inflation=1.08),
    Pool("ECRIT", (EMAIL, WEB_FORM), False, busy_inflation=1.06),
    Pool("SOCIAL_SMS", (SOCIAL, SMS), False, busy_inflation=1.03),
)
TEL_PART, TEL_PRO, TEL_PATRI, VISIO, CHAT_POOL, ECRIT, SOCIAL_SMS = range(len(POOLS))

#: Pool of a contact by channel and segment (-1: no agent, self-service).
POOL_OF = (
    (TEL_PART, TEL_PRO, TEL_PATRI),
    (ECRIT, ECRIT, ECRIT),
    (CHAT_POOL, CHAT_POOL, CHAT_POOL),
    (VISIO, VISIO, VISIO),
    (SOCIAL_SMS, SOCIAL_SMS, SOCIAL_SMS),
    (ECRIT, ECRIT, ECRIT),
    (SOCIAL_SMS, SOCIAL_SMS, SOCIAL_SMS),
    (-1, -1, -1),
)
_QUEUE_PREFIX = ("TEL", "EMAIL", "CHAT", "VISIO", "RESEAUX_SOCIAUX", "FORMULAIRE", "SMS")
_SEGMENT_SUFFIX = ("PART", "PRO", "PATRIMOINE")
#: Queue names, code = channel * 3 + segment (selfcare has no queue).
QUEUES = tuple(f"{p}_{s}" for p in _QUEUE_PREFIX for s in _SEGMENT_SUFFIX)


@dataclass(frozen=True)
class Group:
    """The agents of one site that serve one pool; ``share`` of the pool's staffing.

    ``front_days`` is how many days a week an agent of the group spends logged in on the
    contact channels (Lyon advisers also do back-office work that no ACD records).
    ``staffing_factor`` < 1 says the group is planned below the requirement (outsourcer).
    """

    pool: int
    site: int
    teams: tuple[int, ...]
    share: float
    front_days: float
    staffing_factor: float = 1.0


GROUPS = (
    Group(TEL_PART, LYON, (0, 1), 0.55, 2.35),
    Group(TEL_PART, RABAT, (4,), 0.45, 4.4, staffing_factor=0.88),
    Group(TEL_PRO, LYON, (2,), 1.0, 2.35),
    Group(TEL_PATRI, LYON, (2,), 1.0, 2.35),
    Group(VISIO, LYON, (2,), 1.0, 2.35),
    Group(CHAT_POOL, RABAT, (5,), 0.6, 4.4, staffing_factor=0.9),
    Group(CHAT_POOL, LYON, (3,), 0.4, 2.35),
    Group(ECRIT, RABAT, (5,), 0.7, 4.4, staffing_factor=0.93),
    Group(ECRIT, LYON, (3,), 0.3, 2.35),
    Group(SOCIAL_SMS, LYON, (3,), 1.0, 2.35),
)

# --- agent states, surveys, quality --------------------------------------------------
STATE = {name: i for i, name in enumerate(AGENT_STATES)}
SURVEY_MODE = {name: i for i, name in enumerate(SURVEY_MODES)}

#: Outcome codes (``OUTCOMES`` order) plus an internal "never served" code.
ANSWERED, ABANDONED, DEFLECTED, CALLBACK = range(4)
DROPPED = 9

#: Contact kinds: why the contact exists.
NEW, RETRY, OUTBOUND_CALLBACK, REPEAT, ESCALATION = range(5)
