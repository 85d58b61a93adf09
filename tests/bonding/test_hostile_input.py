"""Hostile input never gets a 5xx, and input refused with a 4xx changes nothing.

Every page and API route of the role table (tests/bonding/test_roles.py) gets hypothesis-made
hostile values (huge and negative integers, non-numbers, NUL, lone surrogates, 100 kB strings,
deep JSON) in its form fields and query parameters, as each role. The fields are found, not
listed: a page's are read from the forms the site renders that post to it (and from its own
GET forms), an API route's from the OpenAPI schema. The database is PostgreSQL, which refuses
NUL and lone surrogates itself: those must come back as 400, never as a DatabaseError.
"""

import json
import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.urls import Resolver404, resolve
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bonding.models import ApiToken
from customers.models import Customer
from customers.roles import ACCOUNT_MANAGERS, MARKETERS
from tests.api.conftest import token_client
from tests.bonding.conftest import build_scene, url_for
from tests.bonding.test_roles import TABLE
from tests.conftest import _user
from tests.factories import CustomerFactory, UserFactory
from tests.shared_data import kept_for_scope

pytestmark = pytest.mark.django_db

# Signing out and the admin's own pages are not ours to fuzz.
ROUTES = [
    (name, methods, pk_of)
    for name, methods, pk_of, *_ in TABLE
    if name not in ("logout", "admin:index")
]

HOSTILE_TEXT = st.one_of(
    st.sampled_from([
        str(2**63), str(2**70), str(10**20), "-1", str(-(2**63) - 1), "0", "abc", "1e400",
        "NaN", "", "\x00", "a\x00b", "\ud800", "x\udfffy", "x" * 100_000, "1.5", "null", "[]",
        "2026-02-30", "9999-12-31T23:59:59-23:59", "//evil.example/", "%s%n", "' OR '1'='1",
    ]),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.text(max_size=20),
)  # fmt: skip
DEEP = 5_000
HOSTILE_SCALAR = st.one_of(
    HOSTILE_TEXT,
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False),
    st.none(),
    st.booleans(),
)
# Every property name the API's schema knows: batch rows (sync, purchases) are objects too.
ROW_KEYS = sorted(
    {
        name
        for component in SchemaGenerator()
        .get_schema(request=None, public=True)["components"]["schemas"]
        .values()
        for name in component.get("properties", {})
    }
    | {"customer_external_id", "purchases"}
)
HOSTILE_JSON = st.one_of(
    HOSTILE_TEXT,
    st.lists(st.dictionaries(st.sampled_from(ROW_KEYS), HOSTILE_SCALAR, max_size=8), max_size=2),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False),
    st.none(),
    st.booleans(),
    st.lists(st.integers(min_value=-(2**70), max_value=2**70), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
    st.just(json.loads("[" * 40 + "]" * 40)),
)
# Whole bodies that are not the object an endpoint expects.
HOSTILE_BODIES = st.sampled_from(
    ["[" * 100_000, "[" * DEEP + "]" * DEEP, '"text"', "12", "[]", "null", "{", '{"a": "\\ud800"}']
)

# Rows these tables hold change on any request (sessions, sign-in counters, a shared cache).
UNWATCHED = ("django_session", "axes_", "cache")

EXAMPLES = hypothesis_settings(
    max_examples=3,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def fingerprint() -> tuple:
    """A digest of every table's rows, in one query."""
    tables = [t for t in connection.introspection.table_names() if not t.startswith(UNWATCHED)]
    quote_name = connection.ops.quote_name
    digests = ", ".join(
        f"(SELECT md5(coalesce(string_agg(r::text, ',' ORDER BY r::text), '')) "  # noqa: S608
        f"FROM {quote_name(table)} r)"
        for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {digests}")  # table names from introspection
        return dict(zip(tables, cursor.fetchone(), strict=True))


def encoded(pairs: list[tuple[str, str]]) -> str:
    """A query string or form body; lone surrogates go out as the bytes a browser would send."""
    return "&".join(
        f"{quote(key)}={quote(value.encode('utf-8', 'surrogatepass'))}" for key, value in pairs
    )


_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
_ACTION = re.compile(r"""\b(?:action|hx-post|hx-get)=["']([^"']*)["']""", re.I)
_NAME = re.compile(r"""<(?:input|select|textarea|button)\b[^>]*\bname=["']([^"']+)["']""", re.I)

# Route name -> field names seen in forms aimed at it; found once, on first use.
_fields_of: dict[str, set[str]] = {}


def form_fields(scene, marketer, manager) -> dict[str, set[str]]:
    """The names of every field of every form the site renders, by the route the form sends to."""
    if _fields_of:
        return _fields_of
    for user in (marketer, manager):
        client = Client()
        client.force_login(user)
        for name, methods, pk_of in ROUTES:
            if "GET" not in methods.split() or name.startswith(("api", "customer-", "tier-")):
                continue
            page = url_for(name, pk_of, scene["own"])
            response = client.get(page)
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            for attributes, body in _FORM.findall(response.content.decode()):
                action = _ACTION.search(attributes)
                target = (action.group(1) if action and action.group(1) else page).split("?")[0]
                try:
                    route = resolve(target)
                except Resolver404:
                    continue
                names = set(_NAME.findall(body)) - {"csrfmiddlewaretoken"}
                _fields_of.setdefault(route.view_name, set()).update(names)
    return _fields_of


_schema: dict = {}


def api_fields(url: str, method: str) -> set[str]:
    """Query parameters and body properties the OpenAPI schema documents for this call."""
    if not _schema:
        _schema.update(SchemaGenerator().get_schema(request=None, public=True))
    for template, operations in _schema["paths"].items():
        if not re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), url):
            continue
        operation = operations.get(method.lower(), {})
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        for content in operation.get("requestBody", {}).get("content", {}).values():
            body = content["schema"]
            if "$ref" in body:
                body = _schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
            names |= set(body.get("properties", {}))
        return names
    return set()


@pytest.fixture(scope="class")
def cast(django_db_setup, django_db_blocker) -> Iterator[tuple[dict, dict]]:
    """The scene and the people in each role, made once for a class of tests that change
    nothing they keep (tests/shared_data.py); gone before the tests after the class."""

    def seed() -> tuple[dict, dict]:
        manager = _user("manager", ACCOUNT_MANAGERS, first_name="Alex")
        people = {
            "no role": UserFactory(),
            "manager": manager,
            "marketer": _user("marketer", MARKETERS, first_name="Maria"),
            "admin": _user("admin", is_staff=True, is_superuser=True),
        }
        other_manager = _user("manager2", ACCOUNT_MANAGERS, first_name="Sam")
        return build_scene(manager, other_manager), people

    with kept_for_scope(django_db_blocker, seed) as made:
        yield made


class TestEveryRoute:
    """Every request of every example is rolled back: the routes share one scene."""

    @pytest.mark.parametrize(("name", "methods", "pk_of"), ROUTES, ids=[r[0] for r in ROUTES])
    def test_hostile_values_get_a_4xx_that_changes_nothing(self, name, methods, pk_of, cast):
        check_hostile_values(name, methods, pk_of, *cast)


def check_hostile_values(name, methods, pk_of, scene, people) -> None:
    marketer, manager = people["marketer"], people["manager"]
    url = url_for(name, pk_of, scene["own"])
    is_api = url.startswith("/api/")
    tokens = {role: token_client(user).key for role, user in people.items()}
    # A token's first use stamps it; later uses within the minute write nothing.
    ApiToken.objects.update(last_used_at=timezone.now())
    page_fields = set() if is_api else form_fields(scene, marketer, manager).get(name, set())

    @EXAMPLES
    @given(data=st.data())
    def hostile(data):
        role = data.draw(st.sampled_from(sorted(people)), label="role")
        method = data.draw(st.sampled_from(methods.split()), label="method")
        known = api_fields(url, method) if is_api else page_fields
        names = sorted(known | {"page", "next", "id"})
        # Every field at once: one request tries them all; views read each one separately.
        chosen = data.draw(st.permutations(names), label="fields")
        client = Client()
        if is_api:
            client.defaults["HTTP_AUTHORIZATION"] = f"Token {tokens[role]}"
        else:
            client.force_login(people[role])
        cache.clear()  # rate limits are not what this test is about
        with transaction.atomic():
            before = fingerprint()
            if method == "GET" or (is_api and method == "DELETE"):
                query = encoded([(n, data.draw(HOSTILE_TEXT, label=n)) for n in chosen])
                response = getattr(client, method.lower())(f"{url}?{query}")
            elif is_api:
                if data.draw(st.booleans(), label="whole body"):
                    body = data.draw(HOSTILE_BODIES, label="body")
                else:
                    body = json.dumps({n: data.draw(HOSTILE_JSON, label=n) for n in chosen})
                response = getattr(client, method.lower())(
                    url, body, content_type="application/json"
                )
            else:
                body = encoded([(n, data.draw(HOSTILE_TEXT, label=n)) for n in chosen])
                response = client.post(url, body, content_type="application/x-www-form-urlencoded")
            assert response.status_code < 500, response.content[:300]
            if 400 <= response.status_code < 500:
                changed = {t for t, digest in fingerprint().items() if before[t] != digest}
                assert changed == set(), f"{method} {url} answered {response.status_code}"
            transaction.set_rollback(True)

    hostile()


ID_ROUTES = [
    (name, pk_of) for name, methods, pk_of, *_ in TABLE if pk_of != "-" and "GET" in methods.split()
]


def test_ids_out_of_any_range_are_404(scene, admin_user):
    api = token_client(admin_user)
    pages = Client()
    pages.force_login(admin_user)
    answers = {}
    for name, pk_of in ID_ROUTES:
        real = url_for(name, pk_of, scene["own"])
        for hostile_id in (str(2**63), str(2**70), str(10**20), "0"):
            url = real.replace(f"/{scene['own'][pk_of]}/", f"/{hostile_id}/", 1)
            client = api if url.startswith("/api/") else pages
            answers[url] = client.get(url).status_code

    assert {url: status for url, status in answers.items() if status != 404} == {}


def test_the_form_fields_are_found(scene, marketer, manager):
    # Guards the fuzzer itself: a change in the markup must not leave it sending no fields.
    fields = form_fields(scene, marketer, manager)

    assert {"first_name", "email", "owner"} <= fields["customers:edit"]
    assert {"tier", "reason"} <= fields["customers:set_tier"]
    assert "summary" in fields["customers:log_interaction"]
    assert django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


# The requests that answered 500 before, each pinned.


@pytest.mark.parametrize("value", [str(2**70), str(10**20), "-1", "abc"])
@pytest.mark.parametrize(
    "url",
    ["/api/v1/interactions/", "/api/v1/purchases/", "/api/v1/touches/", "/api/v1/nps/responses/"],
)
def test_a_customer_filter_out_of_range_is_not_a_server_error(marketer, url, value):
    response = token_client(marketer).get(url, {"customer": value})

    assert response.status_code in (200, 400)


@pytest.mark.parametrize(
    "url",
    [
        "/customers/",
        "/surveys/",
        "/imports/",
        "/programs/failures/",
        "/programs/letters/",
        "/my-day/",
    ],
)
def test_a_page_number_past_any_list_shows_an_empty_page(client, marketer, url):
    client.force_login(marketer)

    response = client.get(url, {"page": str(10**20)})

    assert response.status_code == 200


def test_a_page_number_past_the_timeline_shows_an_empty_page(client, manager):
    customer = CustomerFactory(owner=manager)
    client.force_login(manager)

    response = client.get(f"/customers/{customer.pk}/", {"page": str(10**20)})

    assert response.status_code == 200


@pytest.mark.parametrize("body", ["[" * 100_000, "[" * DEEP + "]" * DEEP])
def test_json_nested_too_deeply_is_400(marketer, body):
    before = Customer.objects.count()

    response = token_client(marketer).post("/api/v1/customers/", body, "application/json")

    assert response.status_code == 400
    assert "nested" in response.json()["detail"]
    assert Customer.objects.count() == before


@pytest.mark.parametrize("name", ["a\x00b", "\ud800"])
def test_text_postgresql_cannot_store_is_400_on_every_way_in(client, marketer, name):
    api = token_client(marketer)
    before = Customer.objects.count()
    client.force_login(marketer)

    created = api.post("/api/v1/customers/", json.dumps({"first_name": name}), "application/json")
    synced = api.post(
        "/api/v1/customers/sync/",
        # The errors quote the value and the unknown field's name back: they must still render.
        json.dumps(
            {"customers": [{"external_id": "x1", "first_name": name, "audience": name, name: 1}]}
        ),
        "application/json",
    )
    purchase = api.post(
        "/api/v1/purchases/",
        json.dumps(
            {
                "purchases": [
                    {
                        "customer_external_id": name,
                        "external_id": name,
                        "amount": "1",
                        "purchased_on": "2026-01-01",
                    }
                ]
            }
        ),
        "application/json",
    )
    page = client.post(
        "/customers/new/",
        encoded([("first_name", name), ("last_name", "Lee")]),
        "application/x-www-form-urlencoded",
    )

    assert created.status_code == 400
    assert synced.status_code == 200 and synced.json()["errors"][0]["index"] == 0
    assert purchase.status_code == 200 and purchase.json()["errors"][0]["index"] == 0
    # A browser sends a lone surrogate as bytes that are not UTF-8; the page reads "\ufffd".
    assert page.status_code in (302, 400)
    assert Customer.objects.count() - before == (1 if page.status_code == 302 else 0)


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/customers/merge/", {"survivor": "abc", "merged": "abc"}),
        ("/customers/merge/", {"survivor": str(2**70), "merged": "1"}),
        ("/customers/ladder/", {"action": "save", "tier": "abc"}),
        ("/customers/ladder/", {"action": "remove", "tier": str(10**20)}),
    ],
)
def test_an_id_that_names_nothing_is_400(client, marketer, url, data):
    client.force_login(marketer)
    before = fingerprint()

    response = client.post(url, data)

    assert response.status_code == 400
    assert fingerprint() == before


@pytest.mark.parametrize("token", ["abc", str(2**70), ""])
def test_revoking_a_token_that_is_not_one_is_404(client, marketer, token):
    client.force_login(marketer)

    response = client.post("/settings/tokens/", {"action": "revoke", "token": token})

    assert response.status_code == 404
