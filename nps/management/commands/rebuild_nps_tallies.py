"""Count every NPS answer and invitation into the tallies afresh."""

from django.core.management.base import BaseCommand

from nps import services


class Command(BaseCommand):
    help = "Recount the NPS tallies from the answers and invitations (after a bulk load)."

    def handle(self, *args, **options) -> None:
        written = services.rebuild_tallies()
        self.stdout.write(", ".join(f"{name}: {rows} rows" for name, rows in written.items()))
