"""Property-based tests of the API against its own OpenAPI schema, with schemathesis.

Each operation gets generated requests (the schema's examples, its valid coverage cases, and
15 fuzzed ones, valid and invalid), signed with a marketer's token. No answer may be a server
error, and every answer the schema documents must match it. (Status codes are not checked:
the schema documents only the success answers.)
"""

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, Phase, settings
from rest_framework.throttling import SimpleRateThrottle
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from bonding import services
from bonding.rest import TokenRateThrottle
from tests.factories import (
    AccountFactory,
    ComplaintFactory,
    ContractFactory,
    CustomerFactory,
    FollowUpFactory,
    InteractionFactory,
    PurchaseFactory,
    ReferralFactory,
)

pytestmark = pytest.mark.django_db

# Loaded once, at collection (generating the schema needs no database).
# schemathesis.pytest.from_fixture would load it per test, but its lazy loader sets
# `request.node._nodeid`, which pytest 9.2 no longer has.
# It is read before any user or token exists: the schema is open to all only while debugging.
with override_settings(DEBUG=True):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler())
# Invalid data comes from fuzzing (bounded below); the coverage phase's exhaustive invalid
# variants would take minutes.
schema.config.phases.coverage.generation.update(modes=[schemathesis.GenerationMode.POSITIVE])
schema.config.phases.coverage.unexpected_methods = set()

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# Bounded: a few seconds per operation; no shrinking, the first failure is reported as found.
EXAMPLES = settings(
    max_examples=15,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(autouse=True)
def _connection_kept_open():
    # As Django's own test client does: closing "old" connections after each request would
    # end the transaction the test runs in.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def marketer_key(marketer, manager, monkeypatch) -> str:
    """A marketer's key, a few rows for the generated requests to find, and no throttle."""
    monkeypatch.setattr(TokenRateThrottle, "rate", "100000/minute", raising=False)
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "auth", "100000/minute")
    for n in range(1, 4):
        customer = CustomerFactory(
            owner=manager, external_id=f"shop-{n}", account=AccountFactory(owner=manager)
        )
        InteractionFactory(customer=customer, author=manager)
        # Logged by someone whose user was deleted since (author is SET_NULL).
        InteractionFactory(customer=customer, author=None)
        PurchaseFactory(customer=customer, external_id=f"o-{n}")
        ComplaintFactory(customer=customer)
        ContractFactory(customer=customer)
        ReferralFactory(referrer=customer)
        FollowUpFactory(customer=customer, assignee=marketer)
    return services.issue_token(user=marketer, name="schemathesis")[1]


def keeps_to_the_schema(operations):
    @operations.parametrize()
    @EXAMPLES
    def test(case, marketer_key):
        case.call_and_validate(headers={"Authorization": f"Token {marketer_key}"}, checks=CHECKS)

    return test


def only(method: str, path: str):
    return keeps_to_the_schema(schema.include(method=method, path=path))


test_post_auth_token = only("POST", "/api/v1/auth/token/")
test_get_customers = only("GET", "/api/v1/customers/")
test_post_customers = only("POST", "/api/v1/customers/")
test_get_customer = only("GET", "/api/v1/customers/{id}/")
test_put_customer = only("PUT", "/api/v1/customers/{id}/")
test_patch_customer = only("PATCH", "/api/v1/customers/{id}/")
test_delete_customer = only("DELETE", "/api/v1/customers/{id}/")
test_post_customers_sync = only("POST", "/api/v1/customers/sync/")
test_get_customers_deleted = only("GET", "/api/v1/customers/deleted/")
test_get_customer_by_external_id = only("GET", "/api/v1/customers/by-external-id/{external_id}/")
test_get_interactions = only("GET", "/api/v1/interactions/")
test_post_interactions = only("POST", "/api/v1/interactions/")
test_get_interaction = only("GET", "/api/v1/interactions/{id}/")
test_get_customer_rewards = only("GET", "/api/v1/customers/{id}/rewards/")
test_get_tiers = only("GET", "/api/v1/tiers/")
test_get_tier = only("GET", "/api/v1/tiers/{slug}/")
test_get_purchases = only("GET", "/api/v1/purchases/")
test_post_purchases = only("POST", "/api/v1/purchases/")
# Whatever else the schema names (programs, enrollments, touches, NPS...).
test_every_other_operation = keeps_to_the_schema(
    schema.exclude(path_regex=r"^/api/v1/(auth/token|customers|interactions|tiers|purchases)/")
)
