"""GET /api/schema/ (OpenAPI 3) and /api/docs/ (Swagger UI served from our own static files)."""

import json
import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("post", "/api/v1/auth/token/"),
    ("get", "/api/v1/customers/"),
    ("post", "/api/v1/customers/"),
    ("get", "/api/v1/customers/{id}/"),
    ("put", "/api/v1/customers/{id}/"),
    ("patch", "/api/v1/customers/{id}/"),
    ("delete", "/api/v1/customers/{id}/"),
    ("post", "/api/v1/customers/sync/"),
    ("get", "/api/v1/customers/deleted/"),
    ("get", "/api/v1/interactions/"),
    ("post", "/api/v1/interactions/"),
    ("get", "/api/v1/tiers/"),
    ("get", "/api/v1/purchases/"),
    ("post", "/api/v1/purchases/"),
]


def test_the_schema_is_openapi_3_and_names_every_endpoint(marketer_api):
    response = marketer_api.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    missing = [(m, p) for m, p in ENDPOINTS if m not in schema["paths"].get(p, {})]
    assert missing == []
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_the_customer_list_documents_its_filters_and_cursor(marketer_api):
    schema = json.loads(marketer_api.get("/api/schema/", {"format": "json"}).content)

    operation = schema["paths"]["/api/v1/customers/"]["get"]

    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"updated_since", "tier", "owner", "search", "ordering", "cursor"} <= names
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]
    if "$ref" in page:
        page = schema["components"]["schemas"][page["$ref"].rsplit("/", 1)[1]]
    assert set(page["properties"]) == {"next", "previous", "results"}


def test_the_docs_page_loads_with_no_external_urls(marketer_api):
    response = marketer_api.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    references = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert references
    # Swagger UI's start-up script comes from the docs view itself (no inline script: CSP).
    local = [ref for ref in references if not ref.startswith("/static/")]
    assert local == ["/api/docs/?script="], references
    script = marketer_api.get(local[0])
    assert script["Content-Type"].startswith("application/javascript")
    for text in (html, script.content.decode()):
        assert "http://" not in text and "https://" not in text and "//cdn" not in text


def test_the_docs_assets_ship_with_the_app(marketer_api):
    html = marketer_api.get("/api/docs/").content.decode()
    references = re.findall(r"""(?:src|href)=["']/static/([^"'?]+)""", html)

    missing = [path for path in references if finders.find(path) is None]

    assert any(path.endswith("swagger-ui-bundle.js") for path in references)
    assert missing == []
