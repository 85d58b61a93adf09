"""seed_demo fills an empty installation and changes nothing when run again."""

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command


def snapshot() -> list[tuple]:
    return list(
        User.objects.order_by("username").values_list(
            "username", "password", "is_staff", "groups__name"
        )
    )


@pytest.mark.django_db
def test_it_creates_an_admin_a_marketer_and_account_managers(settings, capsys):
    settings.DEBUG = True

    call_command("seed_demo")

    out = capsys.readouterr().out
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.get(username="marketer").groups.filter(name="Marketers").exists()
    assert User.objects.get(username="manager").groups.filter(name="Account managers").exists()
    assert "bonding-marketer" in out  # the printed sign-in works
    assert User.objects.get(username="marketer").check_password("bonding-marketer")


@pytest.mark.django_db
def test_running_it_twice_changes_nothing_the_second_time(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    before = snapshot()

    call_command("seed_demo")

    assert snapshot() == before


@pytest.mark.django_db
def test_it_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("seed_demo")

    assert not User.objects.exists()
