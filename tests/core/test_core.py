"""The shared error vocabulary, input rules and REST error mapping."""

from uuid import UUID

import pytest
from rest_framework.exceptions import ValidationError

from core.errors import ApplicationError, Forbidden, InvalidInput, NotFound, ServerError
from core.rest import exception_handler
from core.validation import uuid_or_none, whole_number


@pytest.mark.parametrize(
    "error, status, code",
    [
        (InvalidInput("x"), 400, "invalid"),
        (Forbidden("x"), 403, "forbidden"),
        (NotFound("x"), 404, "not_found"),
        (ServerError("x"), 500, "server_error"),
        (NotFound("x", code="no_such_user"), 404, "no_such_user"),
    ],
)
def test_errors_carry_status_code_and_detail(error, status, code):
    assert isinstance(error, ApplicationError)
    assert (error.status, error.code, error.detail) == (status, code, "x")
    assert error.as_dict() == {"code": code, "detail": "x"}


def test_rest_handler_maps_an_error_to_its_status_and_shape():
    response = exception_handler(NotFound("No such thing."), {})
    assert (response.status_code, response.data) == (404, {"code": "not_found", "detail": "No such thing."})


def test_rest_handler_adds_the_field_to_a_400():
    response = exception_handler(InvalidInput("Too long.", code="body_too_long", field="body"), {})
    assert response.status_code == 400
    assert response.data == {"code": "body_too_long", "detail": "Too long.", "fields": {"body": ["Too long."]}}


def test_rest_handler_gives_drf_validation_errors_the_same_shape():
    response = exception_handler(ValidationError({"seq": ["bad"], "items": [{}, {"name": ["empty"]}]}), {})
    assert response.status_code == 400
    assert response.data == {"code": "invalid", "detail": "bad", "fields": {"seq": ["bad"], "items.1.name": ["empty"]}}


@pytest.mark.parametrize("value", [0, 1, 10**12])
def test_whole_number_accepts_integers_from_zero(value):
    assert whole_number(value, name="seq") == value


@pytest.mark.parametrize("value", [-1, 1.0, "1", True, None, [1]], ids=repr)
def test_whole_number_refuses_the_rest_with_invalid_name(value):
    with pytest.raises(InvalidInput) as raised:
        whole_number(value, name="after")
    assert (raised.value.code, raised.value.field) == ("invalid_after", "after")


def test_whole_number_from_text_reads_ascii_digits_only():
    assert whole_number("42", name="after", from_text=True) == 42
    for text in ["-1", "4.2", "\u00b2", "", " 4"]:
        with pytest.raises(InvalidInput):
            whole_number(text, name="after", from_text=True)


def test_uuid_or_none():
    value = UUID("12345678-1234-5678-1234-567812345678")
    assert uuid_or_none(value) is value
    assert uuid_or_none(str(value)) == value
    assert uuid_or_none("nope") is None
    assert uuid_or_none(None) is None
    assert uuid_or_none(12) is None
