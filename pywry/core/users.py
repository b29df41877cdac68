"""Signed-in users: who sent an event or a request, and the roles access rules look at."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ADMIN = "admin"  # passes every role check


@dataclass(frozen=True, slots=True)
class User:
    """A signed-in user: `id` (a provider's `sub`, a host's user name), roles and claims."""

    id: str
    roles: frozenset[str] = frozenset()
    claims: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"a user id is a non-empty string, not {self.id!r}")
        object.__setattr__(self, "roles", frozenset(check_roles(self.roles)))

    def has_any(self, roles: Iterable[str]) -> bool:
        """True when the user has one of `roles` (or is an admin)."""
        return ADMIN in self.roles or not self.roles.isdisjoint(roles)

    def to_json(self) -> dict[str, Any]:
        """The user as stored in a session."""
        return {"id": self.id, "roles": sorted(self.roles), "claims": dict(self.claims)}

    @classmethod
    def from_json(cls, data: Any) -> User | None:
        """A stored user, or None for anything that is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
            return None
        roles = data.get("roles")
        claims = data.get("claims")
        try:
            return cls(
                data["id"],
                frozenset(roles) if isinstance(roles, list) else frozenset(),
                claims if isinstance(claims, dict) else {},
            )
        except (TypeError, ValueError):
            return None


def check_roles(roles: Iterable[str] | None) -> tuple[str, ...]:
    """Validate a roles list (`show(roles=...)`, a user's roles); the error names the bad one."""
    if roles is None:
        return ()
    if isinstance(roles, str):
        raise TypeError(f"roles is a list of role names, not the string {roles!r}")
    out = []
    for role in roles:
        if not isinstance(role, str) or not role.strip():
            raise ValueError(f"a role is a non-empty string, not {role!r}")
        out.append(role.strip())
    return tuple(out)


def with_defaults(user: User, default_roles: Iterable[str], admins: Iterable[str]) -> User:
    """`user` with the roles every signed-in user has, and `admin` when listed as one."""
    roles = set(user.roles) | set(default_roles)
    if user.id in set(admins):
        roles.add(ADMIN)
    if roles == user.roles:
        return user
    return User(user.id, frozenset(roles), user.claims)


HOST, SIGNED_IN, BEARER_TOKEN = "host", "session", "bearer"
SIGNED_OUT = "signed-out"  # nobody, on a session that was signed out


@dataclass(frozen=True, slots=True)
class Who:
    """A request's user, where it came from (host, session, bearer) and when that ends."""

    user: User | None = None
    source: str = ""
    expires: float = 0.0  # a bearer token's expiry (epoch seconds); 0: not bounded here
    login: str = ""  # the host's login it came from (`identity.login_key`), "" when unknown


NOBODY = Who()
