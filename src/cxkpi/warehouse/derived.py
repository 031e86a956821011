"""Per-row derivations kept in the warehouse so that KPI queries stay pure aggregations.

``contacts.next_inbound_at``: for an inbound contact with a customer, the time of that
customer's next inbound contact strictly after it, on any channel; ``next_same_reason_at``
the same for the same reason (null reasons never match). Null for other contacts. The
importer refreshes them for every customer a batch touches (new rows, and the former
customer of a changed row), so they stay exact under incremental and overlapping imports.

``contact_links``: each inbound contact with a customer, with the same customer's
previous and next inbound contact overall, on the same channel, and with the same agent
(contacts ordered by created_at, then contact_id: ties have a predecessor too). Whether a
contact is its customer's first in a period, and whether that customer came back within
the period, are then comparisons of one row's timestamps with the period's bounds: the
distinct-customer rollups (``kpi.customer_rollups``) sum them. Refreshed like
``next_inbound_at``, per customer touched.
"""

from __future__ import annotations

import duckdb

from cxkpi.warehouse.changes import Change

# each contact of ``source`` with its next-inbound times (``_rid``: its row in contacts)
NEXT_INBOUND_RES = """
WITH scope AS (
    SELECT {rid} AS _rid, contact_id, customer_id, reason, created_at,
           direction = 'inbound' AND customer_id IS NOT NULL AS eligible
    FROM {source} {where}),
times AS (SELECT DISTINCT customer_id, created_at FROM scope WHERE eligible),
nxt AS (SELECT customer_id, created_at,
               lead(created_at) OVER (PARTITION BY customer_id ORDER BY created_at) AS next_inbound_at FROM times),
rtimes AS (SELECT DISTINCT customer_id, reason, created_at FROM scope WHERE eligible AND reason IS NOT NULL),
rnxt AS (SELECT customer_id, reason, created_at,
                lead(created_at) OVER (PARTITION BY customer_id, reason ORDER BY created_at) AS next_same_reason_at
         FROM rtimes),
res AS (
    SELECT s._rid, s.contact_id, s.created_at,
           CASE WHEN s.eligible THEN n.next_inbound_at END AS next_inbound_at,
           CASE WHEN s.eligible THEN r.next_same_reason_at END AS next_same_reason_at
    FROM scope s
    LEFT JOIN nxt n ON n.customer_id = s.customer_id AND n.created_at = s.created_at
    LEFT JOIN rnxt r ON r.customer_id = s.customer_id AND r.reason = s.reason AND r.created_at = s.created_at)
"""

NEXT_INBOUND_SQL = NEXT_INBOUND_RES.format(rid="rowid", source="contacts", where="{where}") + """
UPDATE contacts SET next_inbound_at = res.next_inbound_at, next_same_reason_at = res.next_same_reason_at
FROM res
WHERE contacts.contact_id = res.contact_id
  AND (contacts.next_inbound_at IS DISTINCT FROM res.next_inbound_at
       OR contacts.next_same_reason_at IS DISTINCT FROM res.next_same_reason_at)
"""


CLEAR_SQL = """
UPDATE contacts SET next_inbound_at = NULL, next_same_reason_at = NULL
WHERE (customer_id IS NULL OR direction IS DISTINCT FROM 'inbound')
  AND (next_inbound_at IS NOT NULL OR next_same_reason_at IS NOT NULL)
"""


LINKS_SELECT = """
SELECT contact_id, customer_id, channel, agent_id, created_at,
       lag(created_at) OVER anywhere AS prev_contact_at, lead(created_at) OVER anywhere AS next_contact_at,
       lag(created_at) OVER on_channel AS prev_channel_contact_at,
       lead(created_at) OVER on_channel AS next_channel_contact_at,
       lag(created_at) OVER with_agent AS prev_agent_contact_at, lead(created_at) OVER with_agent AS next_agent_contact_at
FROM {source}
WHERE direction = 'inbound' AND customer_id IS NOT NULL {customers}
WINDOW anywhere AS (PARTITION BY customer_id ORDER BY created_at, contact_id),
       on_channel AS (PARTITION BY customer_id, channel ORDER BY created_at, contact_id),
       with_agent AS (PARTITION BY customer_id, agent_id ORDER BY created_at, contact_id)
"""

LINK_COLUMNS = ("contact_id", "customer_id", "channel", "agent_id", "created_at", "prev_contact_at", "next_contact_at",
                "prev_channel_contact_at", "next_channel_contact_at", "prev_agent_contact_at", "next_agent_contact_at")

# the partitions a customer's contacts are linked within: dimensions -> column infix
LINK_PARTITIONS: dict[tuple[str, ...], str] = {(): "", ("channel",): "channel_", ("agent_id",): "agent_"}


def refresh_contact_links(con: duckdb.DuckDBPyConnection, change: Change | None = None) -> None:
    """Rebuild the links of every customer (``refresh_customers``: of some)."""
    con.execute("DELETE FROM contact_links")
    # in time order: an import's refresh of a few days' customer counts then skips most of the table
    con.execute("INSERT INTO contact_links " + LINKS_SELECT.format(source="contacts", customers="") + " ORDER BY created_at")
    if change is not None:
        change.whole("contact_links")


def refresh_next_inbound(con: duckdb.DuckDBPyConnection, change: Change | None = None) -> None:
    """Recompute the next-inbound columns of every contact (``refresh_customers``: of some
    customers'), and clear any left on contacts that lost their customer or became
    outbound (an import resets a changed row's derived columns itself)."""
    con.execute(NEXT_INBOUND_SQL.format(where=""))
    con.execute(CLEAR_SQL)
    if change is not None:
        change.whole("contacts")


# a change's fact: contacts whose next-inbound times moved, with the old and the new ones
NEXT_MOVED = "next_inbound_moved"
_ROWS = "_cxkpi_customer_rows"
_MOVED = "_cxkpi_next_moved"
_MOVED_ROWS = "_cxkpi_next_moved_rows"
_OLD_LINKS = "_cxkpi_links_before"
_NEW_LINKS = "_cxkpi_links_after"


def refresh_customers(con: duckdb.DuckDBPyConnection, customers: str, change: Change | None = None) -> None:
    """The next-inbound columns and the links of the customers ``customers`` returns.

    Their contacts are read once (one scan of the contacts by customer) and both are
    computed from that copy; the old links are read by one scan of their customer column.
    Scans of a large warehouse are an intraday import's main cost. ``change`` records the
    contacts whose next-inbound values moved (fact ``NEXT_MOVED``, old and new times:
    whether an FCR window sees the move is the KPI layer's business) and the link rows that
    differ (before or after): most of a returning customer's links keep their neighbours,
    and only the days of those that moved need their distinct-customer counts again."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_ROWS} AS SELECT rowid AS _rid, contact_id, customer_id, channel, "
                f"agent_id, reason, direction, created_at, next_inbound_at, next_same_reason_at "
                f"FROM contacts WHERE customer_id IN ({customers})")
    # the contacts whose times move, with the old and new ones; rewritten as rows deleted and
    # inserted again (an UPDATE of a few rows scattered over a large table costs a full pass)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_MOVED} AS " + NEXT_INBOUND_RES.format(rid="_rid", source=_ROWS, where="")
        + f"SELECT r._rid, r.contact_id, r.created_at, o.next_inbound_at AS old_next_inbound_at, "
          f"r.next_inbound_at AS new_next_inbound_at, o.next_same_reason_at AS old_next_same_reason_at, "
          f"r.next_same_reason_at AS new_next_same_reason_at FROM res r JOIN {_ROWS} o ON o._rid = r._rid "
          f"WHERE o.next_inbound_at IS DISTINCT FROM r.next_inbound_at "
          f"OR o.next_same_reason_at IS DISTINCT FROM r.next_same_reason_at")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_MOVED_ROWS} AS SELECT c.* REPLACE (m.new_next_inbound_at AS next_inbound_at, "
                f"m.new_next_same_reason_at AS next_same_reason_at) FROM contacts c JOIN {_MOVED} m ON c.rowid = m._rid")
    con.execute(f"DELETE FROM contacts WHERE rowid IN (SELECT _rid FROM {_MOVED})")
    con.execute(f"INSERT INTO contacts SELECT * FROM {_MOVED_ROWS}")
    if change is not None:
        change.record(con, NEXT_MOVED, f"SELECT * EXCLUDE (_rid) FROM {_MOVED}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_NEW_LINKS} AS " + LINKS_SELECT.format(source=_ROWS, customers=""))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_OLD_LINKS} AS SELECT rowid AS _rid, * FROM contact_links "
                f"WHERE customer_id IN ({customers})")
    # only the links that differ are rewritten (a contact has one link): the table stays in
    # the order it was written, so a scan of a few days skips most of it
    cols = LINK_COLUMNS
    differs = f"({', '.join('o.' + c for c in cols)}) IS DISTINCT FROM ({', '.join('n.' + c for c in cols)})"
    gone = f"SELECT o.* FROM {_OLD_LINKS} o LEFT JOIN {_NEW_LINKS} n USING (contact_id) WHERE n.contact_id IS NULL OR {differs}"
    came = f"SELECT n.* FROM {_NEW_LINKS} n LEFT JOIN {_OLD_LINKS} o USING (contact_id) WHERE o.contact_id IS NULL OR {differs}"
    if change is not None:
        change.add(con, "contact_links", f"SELECT * EXCLUDE (_rid) FROM ({gone}) UNION ALL {came}")
    con.execute(f"DELETE FROM contact_links WHERE rowid IN (SELECT _rid FROM ({gone}))")
    con.execute(f"INSERT INTO contact_links {came}")
    for name in (_ROWS, _MOVED, _MOVED_ROWS, _OLD_LINKS, _NEW_LINKS):
        con.execute(f"DROP TABLE {name}")


CASE_CONTACTS_SQL = """
UPDATE cases SET contact_count = n.contacts
FROM (
    SELECT k.case_id, count(c.case_id) AS contacts
    FROM (SELECT case_id FROM cases {where}) k LEFT JOIN contacts c ON c.case_id = k.case_id
    GROUP BY k.case_id) n
WHERE cases.case_id = n.case_id AND cases.contact_count IS DISTINCT FROM n.contacts
"""


def refresh_case_contacts(con: duckdb.DuckDBPyConnection, cases: str | None = None,
                          change: Change | None = None) -> None:
    """``cases.contact_count``: the contacts linked to each case (by case_id), for all cases
    or those of ``cases`` (a SQL query returning a ``case_id`` column). ``change`` records
    the cases whose count moved."""
    if not cases:
        con.execute(CASE_CONTACTS_SQL.format(where=""))
        if change is not None:
            change.whole("cases")
        return
    sql = CASE_CONTACTS_SQL.format(where=f"WHERE case_id IN ({cases})")
    if change is not None:
        change.add_returning(con, "cases", sql + " RETURNING cases.*")
    else:
        con.execute(sql)


# columns the warehouse derives; a changed row has them reset, then recomputed (contacts:
# refresh_next_inbound, cases: refresh_case_contacts, at import; surveys: the text-scoring
# step of the import pipeline, cxkpi.service.imports)
DERIVED_COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": ("next_inbound_at", "next_same_reason_at"),
    "cases": ("contact_count",),
    "surveys": ("sentiment",),
}
