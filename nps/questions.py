"""A survey's questions in the customer's language, where they are the ones we ship."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from nps.models import Survey

# The questions as shipped (the model's defaults), so they can be shown translated; a question
# a marketer rewrote is shown as written.
SHIPPED_QUESTIONS = {
    "question_score": gettext_noop(
        "How likely are you to recommend us to a family member, friend or colleague?"
    ),
    "question_why": gettext_noop("Why did you give that score?"),
    "question_improve": gettext_noop("What would we have to do to earn a 10?"),
}


def questions_of(survey: Survey) -> dict[str, str]:
    """The survey's three questions in the active language where they are the shipped ones."""
    asked = {}
    for field, shipped in SHIPPED_QUESTIONS.items():
        text = getattr(survey, field)
        asked[field] = _(shipped) if text == shipped else text
    return asked
