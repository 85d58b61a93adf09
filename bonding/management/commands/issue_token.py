"""Issue or revoke API tokens from the shell, for automation."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from bonding import services
from bonding.models import ApiToken


class Command(BaseCommand):
    help = "Issue an API token for a user (prints the key once), or revoke one with --revoke."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="What will use the token.")
        parser.add_argument("--revoke", metavar="PREFIX", help="Revoke the token with this prefix.")

    def handle(self, *args, username: str, name: str, revoke: str | None, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user “{username}”.")
        if revoke:
            tokens = ApiToken.objects.filter(user=user, prefix__startswith=revoke)
            if tokens.count() != 1:
                raise CommandError(f"No single token of {username} starts with “{revoke}”.")
            services.revoke_token(token=tokens.get())
            self.stdout.write(f"Revoked {tokens.get()}.")
            return
        _, key = services.issue_token(user=user, name=name)
        self.stdout.write(key)
