"""Forward migrations: a warehouse made by an older release opens in a newer one.

Each migration is frozen SQL, applied once, in order, in one transaction with the bump of
``schema_version``. Never edit a released migration: add the next one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from cxkpi.config import UserError


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


V1_SQL = """
CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMPTZ NOT NULL, description VARCHAR);
CREATE TABLE warehouse_config (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE SEQUENCE import_id_seq START 1;
CREATE TABLE import_log (
    import_id BIGINT PRIMARY KEY,
    table_name VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    checksum VARCHAR,
    format VARCHAR,
    mapping VARCHAR,
    source_tz VARCHAR,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    rows_read BIGINT,
    rows_accepted BIGINT,
    rows_rejected BIGINT,
    rows_new BIGINT,
    rows_changed BIGINT,
    rows_unchanged BIGINT,
    rejects_file VARCHAR
);
CREATE TABLE rejects (
    import_id BIGINT NOT NULL,
    table_name VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    line BIGINT,
    "column" VARCHAR,
    reason VARCHAR NOT NULL,
    raw VARCHAR
);
CREATE TABLE "contacts" (
    "contact_id" VARCHAR,
    "channel" VARCHAR,
    "created_at" TIMESTAMPTZ,
    "direction" VARCHAR,
    "customer_id" VARCHAR,
    "case_id" VARCHAR,
    "queue" VARCHAR,
    "team" VARCHAR,
    "site" VARCHAR,
    "agent_id" VARCHAR,
    "answered_at" TIMESTAMPTZ,
    "ended_at" TIMESTAMPTZ,
    "hold_seconds" DOUBLE,
    "wrap_seconds" DOUBLE,
    "outcome" VARCHAR,
    "transferred" BOOLEAN,
    "resolved" BOOLEAN,
    "converted" BOOLEAN,
    "reason" VARCHAR,
    "product" VARCHAR,
    "segment" VARCHAR,
    "language" VARCHAR,
    _import_id BIGINT
);
CREATE TABLE "cases" (
    "case_id" VARCHAR,
    "opened_at" TIMESTAMPTZ,
    "closed_at" TIMESTAMPTZ,
    "customer_id" VARCHAR,
    "channel" VARCHAR,
    "status" VARCHAR,
    "reason" VARCHAR,
    "priority" VARCHAR,
    "team" VARCHAR,
    "site" VARCHAR,
    "agent_id" VARCHAR,
    _import_id BIGINT
);
CREATE TABLE "surveys" (
    "survey_id" VARCHAR,
    "responded_at" TIMESTAMPTZ,
    "sent_at" TIMESTAMPTZ,
    "contact_id" VARCHAR,
    "customer_id" VARCHAR,
    "agent_id" VARCHAR,
    "mode" VARCHAR,
    "csat" BIGINT,
    "nps" BIGINT,
    "ces" BIGINT,
    "verbatim" VARCHAR,
    "language" VARCHAR,
    _import_id BIGINT
);
CREATE TABLE "evaluations" (
    "evaluation_id" VARCHAR,
    "agent_id" VARCHAR,
    "evaluator_id" VARCHAR,
    "evaluated_at" TIMESTAMPTZ,
    "contact_id" VARCHAR,
    "mode" VARCHAR,
    "criterion" VARCHAR,
    "score" DOUBLE,
    "max_score" DOUBLE,
    "weight" DOUBLE,
    _import_id BIGINT
);
CREATE TABLE "agent_states" (
    "agent_id" VARCHAR,
    "state" VARCHAR,
    "start_at" TIMESTAMPTZ,
    "end_at" TIMESTAMPTZ,
    _import_id BIGINT
);
CREATE TABLE "customers" (
    "customer_id" VARCHAR,
    "segment" VARCHAR,
    "acquired_at" TIMESTAMPTZ,
    "churned_at" TIMESTAMPTZ,
    _import_id BIGINT
);
CREATE TABLE "customer_revenue" (
    "customer_id" VARCHAR,
    "period" DATE,
    "revenue" DOUBLE,
    "cost" DOUBLE,
    _import_id BIGINT
);
CREATE TABLE "cashflows" (
    "cashflow_id" VARCHAR,
    "date" DATE,
    "direction" VARCHAR,
    "category" VARCHAR,
    "amount" DOUBLE,
    "team" VARCHAR,
    _import_id BIGINT
);
CREATE TABLE "loans" (
    "loan_id" VARCHAR,
    "customer_id" VARCHAR,
    "snapshot_date" DATE,
    "outstanding" DOUBLE,
    "days_past_due" BIGINT,
    _import_id BIGINT
);
"""

V2_SQL = """
ALTER TABLE contacts ADD COLUMN next_inbound_at TIMESTAMPTZ;
ALTER TABLE contacts ADD COLUMN next_same_reason_at TIMESTAMPTZ;

WITH scope AS (
    SELECT contact_id, customer_id, reason, created_at, direction = 'inbound' AND customer_id IS NOT NULL AS eligible
    FROM contacts ),
times AS (SELECT DISTINCT customer_id, created_at FROM scope WHERE eligible),
nxt AS (SELECT customer_id, created_at,
               lead(created_at) OVER (PARTITION BY customer_id ORDER BY created_at) AS next_inbound_at FROM times),
rtimes AS (SELECT DISTINCT customer_id, reason, created_at FROM scope WHERE eligible AND reason IS NOT NULL),
rnxt AS (SELECT customer_id, reason, created_at,
                lead(created_at) OVER (PARTITION BY customer_id, reason ORDER BY created_at) AS next_same_reason_at
         FROM rtimes),
res AS (
    SELECT s.contact_id,
           CASE WHEN s.eligible THEN n.next_inbound_at END AS next_inbound_at,
           CASE WHEN s.eligible THEN r.next_same_reason_at END AS next_same_reason_at
    FROM scope s
    LEFT JOIN nxt n ON n.customer_id = s.customer_id AND n.created_at = s.created_at
    LEFT JOIN rnxt r ON r.customer_id = s.customer_id AND r.reason = s.reason AND r.created_at = s.created_at)
UPDATE contacts SET next_inbound_at = res.next_inbound_at, next_same_reason_at = res.next_same_reason_at
FROM res
WHERE contacts.contact_id = res.contact_id
  AND (contacts.next_inbound_at IS DISTINCT FROM res.next_inbound_at
       OR contacts.next_same_reason_at IS DISTINCT FROM res.next_same_reason_at);
"""

V3_SQL = """
CREATE TABLE targets (
    kpi VARCHAR NOT NULL,
    dimension VARCHAR,
    dim_value VARCHAR,
    target DOUBLE NOT NULL,
    amber DOUBLE,
    updated_at TIMESTAMPTZ NOT NULL
);
"""

V4_SQL = """
ALTER TABLE surveys ADD COLUMN sentiment DOUBLE;
"""

V5_SQL = """
ALTER TABLE cases ADD COLUMN contact_count BIGINT;
UPDATE cases SET contact_count = n.contacts
FROM (
    SELECT k.case_id, count(c.case_id) AS contacts
    FROM (SELECT case_id FROM cases) k LEFT JOIN contacts c ON c.case_id = k.case_id
    GROUP BY k.case_id) n
WHERE cases.case_id = n.case_id;
"""

V6_SQL = """
CREATE TABLE users (
    username VARCHAR PRIMARY KEY,
    password_hash VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    team VARCHAR,
    agent_id VARCHAR,
    lang VARCHAR NOT NULL DEFAULT 'en',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE api_tokens (
    token_hash VARCHAR PRIMARY KEY,
    username VARCHAR NOT NULL,
    name VARCHAR,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE SEQUENCE audit_id_seq START 1;
CREATE TABLE audit_log (
    audit_id BIGINT PRIMARY KEY DEFAULT nextval('audit_id_seq'),
    logged_at TIMESTAMPTZ NOT NULL,
    username VARCHAR,
    action VARCHAR NOT NULL,
    detail VARCHAR,
    client VARCHAR
);
"""

V7_SQL = """
CREATE TABLE contact_links (
    contact_id VARCHAR,
    customer_id VARCHAR,
    channel VARCHAR,
    agent_id VARCHAR,
    created_at TIMESTAMPTZ,
    prev_contact_at TIMESTAMPTZ,
    next_contact_at TIMESTAMPTZ,
    prev_channel_contact_at TIMESTAMPTZ,
    next_channel_contact_at TIMESTAMPTZ,
    prev_agent_contact_at TIMESTAMPTZ,
    next_agent_contact_at TIMESTAMPTZ
);
INSERT INTO contact_links
SELECT contact_id, customer_id, channel, agent_id, created_at,
       lag(created_at) OVER anywhere AS prev_contact_at, lead(created_at) OVER anywhere AS next_contact_at,
       lag(created_at) OVER on_channel AS prev_channel_contact_at,
       lead(created_at) OVER on_channel AS next_channel_contact_at,
       lag(created_at) OVER with_agent AS prev_agent_contact_at, lead(created_at) OVER with_agent AS next_agent_contact_at
FROM contacts
WHERE direction = 'inbound' AND customer_id IS NOT NULL
WINDOW anywhere AS (PARTITION BY customer_id ORDER BY created_at, contact_id),
       on_channel AS (PARTITION BY customer_id, channel ORDER BY created_at, contact_id),
       with_agent AS (PARTITION BY customer_id, agent_id ORDER BY created_at, contact_id);
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "canonical tables, import log, rejects", V1_SQL),
    Migration(2, "contacts: next inbound contact of the same customer (FCR, repeat contacts)", V2_SQL),
    Migration(3, "KPI targets", V3_SQL),
    Migration(4, "surveys: verbatim sentiment", V4_SQL),
    Migration(5, "cases: number of linked contacts (once-and-done, contacts per case)", V5_SQL),
    Migration(6, "users, API tokens and the audit log of the web panel", V6_SQL),
    Migration(7, "contact_links: each customer's previous and next inbound contact (distinct customers)", V7_SQL),
)

LATEST = MIGRATIONS[-1].version


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The version a warehouse is at; 0 for an empty file."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    version = con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0]
    return int(version) if version is not None else 0


def migrate(con: duckdb.DuckDBPyConnection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Apply the pending migrations; refuse a warehouse made by a newer release."""
    version = current_version(con)
    latest = migrations[-1].version
    if version > latest:
        raise UserError(
            f"this warehouse is at schema version {version}, newer than this cxkpi ({latest}): upgrade cxkpi"
        )
    for m in migrations:
        if m.version <= version:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(m.sql)
            con.execute(
                "INSERT INTO schema_version VALUES (?, now(), ?)", [m.version, m.description]
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        version = m.version
    return version
