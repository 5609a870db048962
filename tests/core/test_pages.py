"""The landing page at / and the API index at /api/: they say what this is and every link works."""

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_landing_page_links_the_docs_the_demo_and_the_admin(client):
    page = client.get("/")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert "real-time chat server" in html
    links = set(re.findall(r'href="([^"]+)"', html))
    assert {"/demo/", "/admin/", "/api/docs/", "/api/redoc/", "/api/schema/", "/api/asyncapi/"} <= links
    for link in links:
        if link.startswith("/static/"):  # served by WhiteNoise from collected files, none in tests
            assert finders.find(link.removeprefix("/static/")), link
            continue
        answer = client.get(link)
        assert answer.status_code in (200, 302), link  # the admin sends strangers to its login page
    assert "<script" not in html
    assert "default-src 'self'" in page["Content-Security-Policy"]
    assert "script-src" not in page["Content-Security-Policy"], "scripts fall back to default-src 'self': no inline ones"


def test_api_index_points_at_the_schemas(client):
    index = client.get("/api/").json()
    assert set(index) == {"schema", "docs", "redoc", "asyncapi"}
    for url in index.values():
        assert url.startswith("http://testserver/api/")
        assert client.get(url.removeprefix("http://testserver")).status_code == 200


@pytest.mark.parametrize("path", ["/", "/api/", "/demo/", "/api/asyncapi/"])
def test_pages_only_answer_reads(client, path):
    assert client.post(path).status_code == 405
