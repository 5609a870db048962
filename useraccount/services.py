"""Writes of user accounts: registration, login and logout."""

from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction
from rest_framework import serializers
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from .models import User


def user_register(*, email: str, password: str, name: str = "") -> User:
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password, name=name.strip())
    except IntegrityError:
        # Two registrations of one email at once: the unique column decides.
        raise serializers.ValidationError(
            {"email": ["A user with this email address already exists."]}
        )


def user_login(*, email: str, password: str) -> User:
    user = authenticate(username=email.strip().lower(), password=password)
    if user is None:
        raise serializers.ValidationError(
            {"non_field_errors": ["Unable to log in with provided credentials."]}
        )
    return user


def user_update_profile(*, user: User, **changes) -> User:
    fields = []
    if "name" in changes:
        user.name = changes["name"].strip()
        fields.append("name")
    if "avatar" in changes:
        user.avatar = changes["avatar"]
        fields.append("avatar")
    if fields:
        user.save(update_fields=fields)
    return user


def session_logout(*, refresh: str) -> None:
    """Blacklist the refresh token: it can no longer be refreshed."""
    try:
        RefreshToken(refresh).blacklist()
    except TokenError as error:
        raise serializers.ValidationError({"refresh": [str(error)]})
