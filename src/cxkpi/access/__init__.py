"""Access to the web panel: users and roles, API tokens, the audit log, login throttling.

Scoping rules (what a role may see) live in ``cxkpi.access.scope``, which needs the KPI
layer and is therefore not imported here.
"""

from __future__ import annotations

from cxkpi.access.audit import Action, AuditEntry, count_entries, entries, record
from cxkpi.access.ratelimit import LoginLimiter
from cxkpi.access.tokens import TokenInfo, create_token, list_tokens, revoke_token, token_id, user_for_token
from cxkpi.access.users import (
    Role,
    User,
    add_user,
    authenticate,
    count_users,
    generate_password,
    get_user,
    list_users,
    remove_user,
    set_lang,
    set_password,
)

__all__ = [
    "Action",
    "AuditEntry",
    "LoginLimiter",
    "Role",
    "TokenInfo",
    "User",
    "add_user",
    "authenticate",
    "count_entries",
    "count_users",
    "create_token",
    "entries",
    "generate_password",
    "get_user",
    "list_tokens",
    "list_users",
    "record",
    "remove_user",
    "revoke_token",
    "set_lang",
    "set_password",
    "token_id",
    "user_for_token",
]
