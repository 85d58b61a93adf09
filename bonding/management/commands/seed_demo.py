"""Fill an empty installation with demo data; running it again changes nothing."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bonding import demo


class Command(BaseCommand):
    help = "Create demo users (and, where the apps provide it, demo customers). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off (the demo passwords are public: never in production).",
        )

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo refuses to run with DEBUG off; pass --force if sure.")
        outcomes = demo.seed_users()
        created = sum(1 for _, was_created in outcomes if was_created)
        kept = len(outcomes) - created
        self.stdout.write(f"Demo users: {created} created, {kept} already there.")
        self.stdout.write("Sign in at the URL below with one of:")
        for user, _ in outcomes:
            self.stdout.write(f"  {user.username:<10} {user.password:<18} ({user.role})")
