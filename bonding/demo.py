"""The people to sign in as in the demo: an admin, a marketer and two account managers. The
demo's customers are seeded by customers/demo.py, their program year by programs/demo.py and
their surveys by nps/demo.py."""

from dataclasses import dataclass

from django.contrib.auth.models import Group, User
from django.db import transaction

from customers.roles import ACCOUNT_MANAGERS, MARKETERS


@dataclass(frozen=True)
class DemoUser:
    """A person to sign in as in the demo."""

    username: str
    password: str
    first_name: str
    last_name: str
    role: str  # "admin" or a group name


# Fixed passwords so the README and every run print the same sign-ins; seed_demo refuses to
# run outside DEBUG, so they never reach a real deployment.
DEMO_USERS = (
    DemoUser("admin", "bonding-admin", "Ada", "Admin", "admin"),
    DemoUser("marketer", "bonding-marketer", "Maria", "Marketer", MARKETERS),
    DemoUser("manager", "bonding-manager", "Alex", "Manager", ACCOUNT_MANAGERS),
    DemoUser("manager2", "bonding-manager2", "Sam", "Second", ACCOUNT_MANAGERS),
)


@transaction.atomic
def seed_users() -> list[tuple[DemoUser, bool]]:
    """Create the demo users that are missing; return each with whether it was created."""
    outcomes = []
    for demo in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=demo.username,
            defaults={
                "first_name": demo.first_name,
                "last_name": demo.last_name,
                "email": f"{demo.username}@example.com",
                "is_staff": demo.role == "admin",
                "is_superuser": demo.role == "admin",
            },
        )
        if created:
            user.set_password(demo.password)
            user.save(update_fields=["password"])
            if demo.role != "admin":
                user.groups.add(Group.objects.get(name=demo.role))
        outcomes.append((demo, created))
    return outcomes
