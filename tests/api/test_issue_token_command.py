"""`manage.py issue_token`: a key for automation, printed once; `--revoke PREFIX` revokes it."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from bonding.models import ApiToken, hash_key

pytestmark = pytest.mark.django_db


def issue(*args: str) -> str:
    out = StringIO()
    call_command("issue_token", *args, stdout=out)
    return out.getvalue().strip()


def test_it_prints_a_key_that_works_and_stores_only_its_hash(marketer):
    key = issue("marketer", "--name", "nightly export")

    token = ApiToken.objects.get(user=marketer)
    assert token.name == "nightly export"
    assert token.key_hash == hash_key(key)
    api = Client(headers={"authorization": f"Token {key}"})
    assert api.get("/api/v1/customers/").status_code == 200


def test_revoke_by_prefix_stops_the_key(marketer):
    key = issue("marketer")
    prefix = ApiToken.objects.get(user=marketer).prefix

    output = issue("marketer", "--revoke", prefix)

    assert "Revoked" in output
    api = Client(headers={"authorization": f"Token {key}"})
    assert api.get("/api/v1/customers/").status_code == 401


def test_an_unknown_user_is_a_clear_error(db):
    with pytest.raises(CommandError, match="nobody"):
        issue("nobody")
