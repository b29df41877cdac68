"""Starlette's signed-in user as pywry's (`pywry.adapters.fastapi.starlette_user`)."""

from __future__ import annotations

from starlette.authentication import AuthCredentials, BaseUser, SimpleUser, UnauthenticatedUser

from pywry.adapters.fastapi import starlette_user
from pywry.auth import User


class NamedOnly(BaseUser):
    """A user class that leaves `identity` to BaseUser (which raises NotImplementedError)."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.name


def test_identity_and_scopes() -> None:
    scope = {"user": SimpleUser("alice"), "auth": AuthCredentials(["analyst"])}
    assert starlette_user(scope) == User("alice", frozenset({"analyst"}))


def test_a_user_class_without_identity_falls_back_to_display_name() -> None:
    scope = {"user": NamedOnly("bob"), "auth": AuthCredentials([])}
    assert starlette_user(scope) == User("bob")


def test_anonymous() -> None:
    assert starlette_user({"user": UnauthenticatedUser(), "auth": AuthCredentials()}) is None
    assert starlette_user({}) is None
