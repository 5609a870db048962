"""
The OpenAPI schema: generated from the views without a warning, valid
OpenAPI 3, served with Swagger UI and Redoc from local files, and true to
what the API answers (each endpoint's real answers validate against it).
"""

import json

import jsonschema
import pytest
from django.core.management import call_command

from tests.factories import PASSWORD
from tests.plugins.conversations import send

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))


def test_schema_generates_without_warnings_and_validates(tmp_path):
    # --fail-on-warn: an endpoint whose shape cannot be derived fails the build.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3.")


def test_schema_docs_and_redoc_are_served_without_a_cdn(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200 and json.loads(response.content)["openapi"].startswith("3.")
    for path in ("/api/docs/", "/api/redoc/"):
        page = client.get(path).content.decode()
        assert "/static/drf_spectacular_sidecar/" in page and "cdn." not in page
        assert "fonts.googleapis" not in page and "fonts.gstatic" not in page
    # Redoc's bundle fetches its branding logo from a CDN by itself: the page's policy refuses it.
    redoc = client.get("/api/redoc/").content.decode()
    assert "img-src 'self' data:;" in redoc and "font-src 'self' data:" in redoc


def test_every_endpoint_documents_its_errors_and_the_bearer_scheme(schema):
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"405", "413", "429", "503"} <= statuses, (method, path)
            if operation.get("security") != [{}] and {"bearer": []} in operation.get("security", []):
                assert "401" in statuses, (method, path)
    headers = schema["paths"]["/api/chat/"]["get"]["responses"]["200"]["headers"]
    assert "Link" in headers


def _validator(schema, path: str, method: str, status: int):
    body_schema = schema["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    resolver_schema = {**body_schema, "components": schema["components"]}
    return jsonschema.Draft202012Validator(resolver_schema)


def test_real_answers_match_the_schema(schema, client_for, alice, bob, direct):
    send(direct, bob, "hello")
    client = client_for(alice)
    checks = [
        ("/api/chat/", "get", client.get("/api/chat/")),
        ("/api/chat/{conversation_id}/", "get", client.get(f"/api/chat/{direct.id}/")),
        ("/api/chat/{conversation_id}/messages/", "get", client.get(f"/api/chat/{direct.id}/messages/")),
        ("/api/chat/{conversation_id}/messages/", "post",
         client.post(f"/api/chat/{direct.id}/messages/", {"body": "hi"}, format="json")),
        ("/api/chat/{conversation_id}/read/", "post",
         client.post(f"/api/chat/{direct.id}/read/", {"seq": 1}, format="json")),
        ("/api/chat/unread/", "get", client.get("/api/chat/unread/")),
        ("/api/chat/presence/", "get", client.get("/api/chat/presence/")),
        ("/api/auth/me/", "get", client.get("/api/auth/me/")),
        ("/api/auth/{user_id}/", "get", client.get(f"/api/auth/{bob.id}/")),
        ("/api/chat/start/{user_id}/", "post", client.post(f"/api/chat/start/{bob.id}/")),
        ("/api/chat/{conversation_id}/messages/", "post",
         client.post(f"/api/chat/{direct.id}/messages/", {"body": " "}, format="json")),
        ("/api/auth/me/", "get", client_for(None).get("/api/auth/me/")),
        ("/api/auth/login/", "post", client_for(None).post("/api/auth/login/", {"email": "x", "password": "y"}, format="json")),
        ("/api/auth/password/", "post",
         client.post("/api/auth/password/", {"current_password": "x", "new_password": "y"}, format="json")),
        ("/api/auth/password/reset/", "post",
         client_for(None).post("/api/auth/password/reset/", {"email": alice.email}, format="json")),
        ("/api/auth/password/reset/confirm/", "post", client_for(None).post(
            "/api/auth/password/reset/confirm/", {"uid": "x", "token": "y", "new_password": "z"}, format="json")),
        ("/api/auth/me/delete/", "post", client.post("/api/auth/me/delete/", {"password": "x"}, format="json")),
        ("/api/auth/password/", "post", client.post(
            "/api/auth/password/", {"current_password": PASSWORD, "new_password": "a-fine-new-passphrase"}, format="json")),
    ]
    for path, method, response in checks:
        _validator(schema, path, method, response.status_code).validate(response.json())


def test_the_schema_catches_a_wrong_answer(schema):
    with pytest.raises(jsonschema.ValidationError):
        _validator(schema, "/api/chat/unread/", "get", 200).validate({"total": "three", "conversations": {}})


@pytest.mark.live
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_schema_driven_fuzzer_finds_nothing_against_a_live_server(start_server, tmp_path):
    # schemathesis generates requests from /api/schema/ for every operation and
    # checks each answer: no 5xx, only documented statuses, content types and
    # headers, and bodies that match their schemas; and requests the schema
    # calls invalid (a wrong type, a number past its maximum) must be refused
    # (negative_data_rejection). Real ids let it past 404s.
    import subprocess
    import sys
    import urllib.request

    off = {name: "off" for name in (
        "THROTTLE_USER", "THROTTLE_LOGIN_IP", "THROTTLE_LOGIN_EMAIL", "THROTTLE_REGISTER",
        "THROTTLE_TOKEN_REFRESH", "THROTTLE_MESSAGE_SEND", "THROTTLE_USER_LOOKUP", "THROTTLE_USER_SEARCH",
        "THROTTLE_MESSAGE_SEARCH", "THROTTLE_ATTACHMENT_UPLOAD", "THROTTLE_PASSWORD_RESET_IP",
        "THROTTLE_PASSWORD_RESET_EMAIL", "THROTTLE_REPORT",
    )}
    server = start_server(DJANGO_MEDIA_ROOT=str(tmp_path / "media"), ATTACHMENTS_ROOT=str(tmp_path / "files"), **off)

    def call(path, data=None, token=None):
        request = urllib.request.Request(
            f"{server.http}{path}", data=json.dumps(data).encode() if data is not None else b"",
            headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    password = {"password1": "a-long-passphrase", "password2": "a-long-passphrase"}
    alice = call("/api/auth/register/", {"email": "alice@example.com", **password})
    bob = call("/api/auth/register/", {"email": "bob@example.com", **password})
    conversation = call(f"/api/chat/start/{bob['user']['id']}/", {}, alice["access"])["conversation_id"]
    message = call(f"/api/chat/{conversation}/messages/", {"body": "hello"}, alice["access"])["id"]
    (tmp_path / "schemathesis.toml").write_text(
        "[parameters]\n"
        f'"path.conversation_id" = "{conversation}"\n'
        f'"path.user_id" = "{bob["user"]["id"]}"\n'
        f'"path.message_id" = "{message}"\n'
        '"path.emoji" = "\U0001f44d"\n'
        # Invalid input must be refused; a body of more form fields than Django reads is refused with 413.
        "[checks.negative_data_rejection]\n"
        'expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429, "5xx"]\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{server.http}/api/schema/?format=json",
         "-H", f"Authorization: Bearer {alice['access']}",
         "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
         "response_headers_conformance,response_schema_conformance,negative_data_rejection",
         "--max-examples", "25", "--seed", "1", "--workers", "2"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    failures = result.stdout[result.stdout.find("FAILURES"):result.stdout.find("WARNINGS")]
    assert result.returncode == 0, failures[:6000] + result.stdout[-1500:] + result.stderr[-2000:]
    schema = json.loads(urllib.request.urlopen(f"{server.http}/api/schema/?format=json", timeout=10).read())
    methods = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}
    operations = sum(1 for item in schema["paths"].values() for method in item if method in methods)
    assert f"Tested: {operations}" in result.stdout  # every operation was exercised


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/chat/", "/api/auth/blocks/", "/api/chat/threads/", "/api/chat/mentions/"])
@pytest.mark.parametrize("limit", ["null", "abc", "0", "-3", "1.5"])
def test_a_paged_list_refuses_a_limit_that_is_not_a_whole_number_of_one_or_more(client_for, alice, path, limit):
    response = client_for(alice).get(path, {"limit": limit})
    assert response.status_code == 400
    assert "limit" in response.json()["fields"]


@pytest.mark.django_db
def test_a_paged_list_cuts_a_large_limit_to_its_maximum(client_for, alice, make_user, settings):
    from chat.conversations.services import conversation_start_direct

    for name in ("Bob", "Carol", "Dan"):
        conversation_start_direct(user=alice, other_user_id=make_user(name).id)
    settings.CHAT_CONVERSATION_PAGE_MAX = 2
    response = client_for(alice).get("/api/chat/", {"limit": "99999"})
    assert response.status_code == 200 and len(response.json()) == 2


@pytest.mark.django_db
def test_the_message_lists_limit_is_documented_with_its_own_maximum(schema, client_for, alice, direct, settings):
    # One `limit` for the list and its search (?q=): the schema gave the search's maximum (50), which the
    # list exceeds (CHAT_MESSAGE_PAGE_MAX), so it accepted what its schema refused (schemathesis found it).
    [limit] = [p for p in schema["paths"]["/api/chat/{conversation_id}/messages/"]["get"]["parameters"]
               if p["name"] == "limit"]
    assert limit["schema"]["maximum"] == settings.CHAT_MESSAGE_PAGE_MAX
    client = client_for(alice)
    path = f"/api/chat/{direct.id}/messages/"
    assert client.get(path, {"limit": settings.CHAT_MESSAGE_PAGE_MAX}).status_code == 200
    assert client.get(path, {"limit": settings.CHAT_MESSAGE_PAGE_MAX + 1}).status_code == 400
    assert client.get(path, {"q": "hello", "limit": settings.CHAT_SEARCH_PAGE_MAX + 1}).status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "query"), [
    ("/api/chat/search/", {"q": "hello"}),
    ("/api/chat/{id}/messages/", {"q": "hello"}),
    # Without q the list ignored it, where its schema says at least one character (schemathesis found it).
    ("/api/chat/{id}/messages/", {}),
])
def test_search_refuses_an_empty_cursor(client_for, alice, direct, path, query):
    response = client_for(alice).get(path.format(id=direct.id), {**query, "cursor": ""})
    assert response.status_code == 400
    assert "cursor" in response.json()["fields"]
