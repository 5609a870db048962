"""
Users (Alice, Bob, Carol, or ``make_user`` for more), their access tokens,
and REST clients signed in as them.
"""

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from tests.factories import UserFactory
from useraccount.models import User


@pytest.fixture
def make_user():
    """``make_user("Dave", is_active=False)``: a UserFactory user named as asked (``User <n>`` if not)."""

    def make(name: str | None = None, **fields) -> User:
        return UserFactory(**({"name": name} if name is not None else {}), **fields)

    return make


@pytest.fixture
def alice(make_user):
    return make_user("Alice")


@pytest.fixture
def bob(make_user):
    return make_user("Bob")


@pytest.fixture
def carol(make_user):
    return make_user("Carol")


def access_token(user: User) -> str:
    """An access token; unlike a refresh token it needs no database write."""
    return str(AccessToken.for_user(user))


@pytest.fixture
def client_for():
    def make(user: User | None = None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(user)}")
        return client

    return make


def error_fields(response) -> set[str]:
    """
    The input fields a REST error answer names, after checking it has the one
    error shape: ``fields`` (the top-level field keys on register and login,
    which the original tutorial client reads there).
    """
    body = response.json()
    assert isinstance(body.get("code"), str) and isinstance(body.get("detail"), str), body
    if "fields" in body:
        assert set(body) <= {"code", "detail", "fields"}, body
        return {name.split(".")[0] for name in body["fields"]}
    return set(body) - {"code", "detail", "retry_after"}
