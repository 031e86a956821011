"""Who is asking, once authenticated: the user and the scope every query of theirs gets."""

from __future__ import annotations

from dataclasses import dataclass

from cxkpi.access.scope import Scope
from cxkpi.access.users import Role, User

WRITERS = (Role.ADMIN, Role.MANAGER)


@dataclass(frozen=True)
class Principal:
    """An authenticated user, their scope, and how they authenticated."""

    user: User
    scope: Scope
    csrf: str | None  # None for API tokens

    @property
    def can_write(self) -> bool:
        return self.user.role in WRITERS
