"""Why a touch failed, was skipped or cancelled reads in the reader's language where Bonding wrote
it (the failures page, the funnel, the touches API), old rows included; a provider's own words stay
as they came."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from customers.sayings import english, kept_as_text, translated
from programs import queries
from programs.enrollment import exit_enrollment
from programs.models import Enrollment, Touch
from tests.programs.test_pages import make_customers, make_program, make_touches

pytestmark = pytest.mark.django_db


def reader(user, language: str) -> Client:
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("stored", "german", "spanish"),
    [
        (
            "Gave up after 6 attempts: 451 4.3.0 try later",
            "Nach 6 Versuchen aufgegeben: 451 4.3.0 try later",
            "Abandonado tras 6 intentos: 451 4.3.0 try later",
        ),
        (
            "Gave up after 1 attempt: 451 4.3.0 try later",
            "Nach 1 Versuch aufgegeben: 451 4.3.0 try later",
            "Abandonado tras 1 intento: 451 4.3.0 try later",
        ),
        # The reason inside is itself one of ours, said again too.
        ("Enrollment ended: goal reached", "Teilnahme beendet: Ziel erreicht", None),
        ("Enrollment ended: left for a rival", "Teilnahme beendet: left for a rival", None),
        ("enrolled less than 30 days ago", "vor weniger als 30 Tagen aufgenommen", None),
        ("Deferred by the frequency cap.", "Wegen der Kontaktobergrenze verschoben.", None),
        (
            "The event “Spring gala” was cancelled.",
            "Die Veranstaltung „Spring gala“ wurde abgesagt.",
            "El evento «Spring gala» se canceló.",
        ),
        # A provider's words that happen to read like ours are not ours: as they came.
        ("Message was cancelled", "Message was cancelled", None),
        # A name stays a name, even one that is a word of the catalog.
        ("Did not ask for news about “Sent”.", "Hat keine Neuigkeiten zu „Sent“ gewünscht.", None),
        # A limit is written again with the reader's thousands separator.
        (
            "The rendered content is longer than 50,000 characters.",
            "Der dargestellte Inhalt ist länger als 50.000 Zeichen.",
            None,
        ),
        # A provider's words and a person's are not ours: as they came.
        ("550 5.1.1 mailbox unavailable", "550 5.1.1 mailbox unavailable", None),
        ("Gave up after many attempts: x", "Gave up after many attempts: x", None),
    ],
)
def test_a_stored_english_text_is_said_again_in_the_readers_language(stored, german, spanish):
    with translation.override("de"):
        assert translated(stored) == german
    if spanish:
        with translation.override("es"):
            assert translated(stored) == spanish
    with translation.override("en"):
        assert translated(stored) == stored


def test_a_text_with_no_words_of_its_own_cannot_be_kept_as_text():
    with pytest.raises(ValueError, match="no words of its own"):
        kept_as_text("%(reason)s")


def test_ending_an_enrollment_says_why_on_its_cancelled_touches_in_the_readers_language(
    marketer,
):
    program = make_program(steps=1)
    (touch,) = make_touches(
        program.steps.first(),
        make_customers(1),
        status=Touch.Status.SCHEDULED,
        due_at=timezone.now() + timedelta(days=3),
    )

    assert exit_enrollment(enrollment=touch.enrollment, reason=gettext_noop("goal reached"))

    touch.refresh_from_db()
    assert (touch.status, touch.last_error) == ("cancelled", "Enrollment ended: goal reached")
    assert Enrollment.objects.get(pk=touch.enrollment_id).exit_reason == "goal reached"
    url = f"/api/v1/touches/?customer={touch.customer_id}"
    (german,) = reader(marketer, "de").get(url).json()["results"]
    (english,) = reader(marketer, "en").get(url).json()["results"]
    assert german["last_error"] == "Teilnahme beendet: Ziel erreicht"
    assert english["last_error"] == "Enrollment ended: goal reached"


def test_the_failures_page_says_our_reasons_in_german_and_the_providers_as_they_came(marketer):
    program = make_program(steps=1)
    step = program.steps.first()
    make_touches(
        step,
        make_customers(1),
        status=Touch.Status.FAILED,
        last_error="Gave up after 6 attempts: 451 4.3.0 try later",
    )
    make_touches(
        step,
        make_customers(1),
        status=Touch.Status.REVIEW,
        last_error="The worker stopped while sending: check whether it arrived.",
    )
    make_touches(
        step, make_customers(1), status=Touch.Status.FAILED, last_error="550 5.1.1 no such user"
    )

    content = reader(marketer, "de").get("/programs/failures/").content.decode()

    assert "Nach 6 Versuchen aufgegeben: 451 4.3.0 try later" in content
    assert "Der Worker hat beim Senden angehalten" in content
    assert "550 5.1.1 no such user" in content
    assert "Gave up after" not in content


def test_the_funnel_counts_skip_reasons_said_in_the_readers_language():
    program = make_program(steps=1)
    step = program.steps.first()
    for error, count in [("enrolled less than 30 days ago", 2), ("Customer deleted.", 1)]:
        make_touches(step, make_customers(count), status=Touch.Status.SKIPPED, last_error=error)

    with translation.override("es"):
        reasons = queries.skip_reasons(program)[step.pk]

    assert reasons == [
        ("inscrito hace menos de 30 días", 2),
        ("Cliente eliminado.", 1),
    ]


def test_a_reason_is_said_whole_and_cut_only_to_the_touchs_column():
    from programs.delivery import GAVE_UP

    error = "451 " + "y" * 400
    said = english(GAVE_UP, count=6, error=error)

    assert said == f"Gave up after 6 attempts: {error}"
    with translation.override("de"):
        assert translated(str(said)) == f"Nach 6 Versuchen aufgegeben: {error}"
