"""Fill an empty installation with demo data; running it again changes nothing."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bonding import demo, demo_referral
from bonding import services as bonding_services
from customers import demo as customer_demo
from customers import demo_preferences
from customers.models import Customer
from events import demo as events_demo
from nps import demo as nps_demo
from nps import theming
from programs import demo as program_demo


class Command(BaseCommand):
    help = (
        "Create demo users, demo customers with two years of history, a year of the eight-step "
        "program and of NPS surveys. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off (the demo passwords are public: never in production).",
        )
        parser.add_argument(
            "--customers",
            type=int,
            default=300,
            help="How many demo customers to create on a first run (default 300).",
        )

    def handle(self, *args, force: bool = False, customers: int = 300, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo refuses to run with DEBUG off; pass --force if sure.")
        if customers < 1:
            raise CommandError("--customers must be at least 1.")
        outcomes = demo.seed_users()
        created = sum(1 for _, was_created in outcomes if was_created)
        kept = len(outcomes) - created
        self.stdout.write(f"Demo users: {created} created, {kept} already there.")
        made = customer_demo.seed_customers(count=customers)
        if made:
            self.stdout.write(f"Demo customers: {made} created, with two years of history.")
        else:
            self.stdout.write("Demo customers: already there, nothing changed.")
        buyers = Customer.objects.filter(
            external_id__startswith=customer_demo.DEMO_PREFIX, deleted_at__isnull=True
        )
        told = demo_preferences.seed_preferences()
        if told:
            self.stdout.write(
                f"Demo preferences: {told['topics']} topics, {told['customers']} customers "
                f"chose theirs, {told['answers']} answers about what they value."
            )
        program = program_demo.seed_programs(customers=buyers)
        if program:
            self.stdout.write(
                f"Demo program: {program['enrollments']} enrollments, "
                f"{program['touches']} touches over the last year."
            )
        else:
            self.stdout.write("Demo program: already there, nothing changed.")
        surveys = nps_demo.seed_surveys(touches=program_demo.survey_touches(customers=buyers))
        if surveys:
            program_demo.mark_survey_answers(customers=buyers)
            bonding_services.refresh_dashboard_tallies()  # the dashboard reads them, not the rows
            self.stdout.write(
                f"Demo surveys: {surveys['invitations']} invitations, "
                f"{surveys['responses']} answers over the last year."
            )
            chain = demo_referral.seed_promoter_referral()
            if chain is not None:
                self.stdout.write(
                    f"Demo referral: {chain.promoter} answered 10, was asked, and "
                    f"{chain.friend} signed up with their code and bought; both earned."
                )
            # The NPS page's themes, found now rather than at tonight's refit.
            found = theming.refit_themes()
            self.stdout.write(f"Demo themes: {sum(found.themes.values())} found in the answers.")
        else:
            self.stdout.write("Demo surveys: already there, nothing changed.")
        events = events_demo.seed_events(customers=buyers)
        if events:
            self.stdout.write(
                f"Demo events: {events['invitations']} invitations, {events['came']} came, "
                f"{events['waitlisted']} waiting, {events['community']} reached Community."
            )
        else:
            self.stdout.write("Demo events: already there, nothing changed.")
        self.stdout.write("Sign in at the URL below with one of:")
        for user, _ in outcomes:
            self.stdout.write(f"  {user.username:<10} {user.password:<18} ({user.role})")
