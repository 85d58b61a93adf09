"""The words a timeline line may name by value (customers/sayings.py), as each reads in a line.

Lowercase where the English line has them lowercase: a translator gives each its own form in
the middle of a sentence ("Complaint (high): ...").
"""

from django.utils.translation import gettext_lazy, pgettext_lazy

from customers import sayings
from customers.models import Channel, ValueQuestion


def register() -> None:
    """Name the customers app's choices for the lines it writes (CustomersConfig.ready)."""
    sayings.register_choices("channel", dict(Channel.choices))
    sayings.register_choices("value_question", dict(ValueQuestion.choices))
    sayings.register_choices(
        "channel_in_a_sentence",
        {
            "email": pgettext_lazy("channel in a sentence", "e-mail"),
            "sms": pgettext_lazy("channel in a sentence", "sms"),
            "phone": pgettext_lazy("channel in a sentence", "phone call"),
            "letter": pgettext_lazy("channel in a sentence", "letter"),
        },
    )
    sayings.register_choices(
        "interaction_channel",
        {
            "call": gettext_lazy("Call"),
            "email": gettext_lazy("E-mail"),
            "meeting": gettext_lazy("Meeting"),
            "sms": gettext_lazy("SMS"),
            "chat": gettext_lazy("Chat"),
            "social": gettext_lazy("Social"),
            "event": gettext_lazy("Event"),
            "letter": gettext_lazy("Letter"),
            "support": gettext_lazy("Support"),
        },
    )
    sayings.register_choices(
        "direction",
        {
            "inbound": pgettext_lazy("in a timeline line", "inbound"),
            "outbound": pgettext_lazy("in a timeline line", "outbound"),
        },
    )
    sayings.register_choices(
        "severity",
        {
            "low": pgettext_lazy("complaint severity in a timeline line", "low"),
            "medium": pgettext_lazy("complaint severity in a timeline line", "medium"),
            "high": pgettext_lazy("complaint severity in a timeline line", "high"),
        },
    )
    sayings.register_choices(
        "renewal",
        {
            "pending": pgettext_lazy("contract in a timeline line", "renewal pending"),
            "renewed": pgettext_lazy("contract in a timeline line", "renewed"),
            "lapsed": pgettext_lazy("contract in a timeline line", "lapsed"),
            "cancelled": pgettext_lazy("contract in a timeline line", "cancelled"),
        },
    )
    sayings.register_choices(
        "reward_unit",
        {
            "points": pgettext_lazy("reward unit in a timeline line", "points"),
            "money": pgettext_lazy("reward unit in a timeline line", "money"),
        },
    )
    sayings.register_choices(
        "reward_kind",
        {
            "gift": gettext_lazy("Gift"),
            "discount": gettext_lazy("Discount"),
            "trial": gettext_lazy("Trial"),
            "premium": gettext_lazy("Survey premium"),
        },
    )
    sayings.register_choices(
        "reward_cause",
        {
            "referral": gettext_lazy("Referral converted"),
            "first_purchase": gettext_lazy("Referred friend's first purchase"),
            "premium": gettext_lazy("Survey premium"),
            "gift_step": gettext_lazy("Gift step"),
            "goodwill": gettext_lazy("Goodwill after a complaint"),
            "manual": gettext_lazy("Manual"),
        },
    )
    sayings.register_choices(
        "reward_event",
        {
            "referral_converted": gettext_lazy("A referral converts: the referrer earns"),
            "friend_first_purchase": gettext_lazy("A referred friend buys: the friend earns"),
            "survey_answered": gettext_lazy("A survey is answered: the customer earns"),
            "step_sent": gettext_lazy("A program step is sent: the customer earns"),
        },
    )
    sayings.register_choices(
        "bond_stage",
        {
            "awareness": gettext_lazy("Awareness"),
            "identity": gettext_lazy("Identity"),
            "relationship": gettext_lazy("Relationship"),
            "community": gettext_lazy("Community"),
            "advocacy": gettext_lazy("Advocacy"),
        },
    )
    sayings.register_choices(
        "nps_category",
        {
            "promoter": pgettext_lazy("NPS category in a timeline line", "promoter"),
            "passive": pgettext_lazy("NPS category in a timeline line", "passive"),
            "detractor": pgettext_lazy("NPS category in a timeline line", "detractor"),
        },
    )
    sayings.register_choices(
        "ladder_rung",
        {
            "prospect": pgettext_lazy("ladder rung in a reason", "prospect"),
            "first-time": pgettext_lazy("ladder rung in a reason", "first-time buyer"),
            "repeat": pgettext_lazy("ladder rung in a reason", "repeat buyer"),
            "client": pgettext_lazy("ladder rung in a reason", "client"),
            "advocate": pgettext_lazy("ladder rung in a reason", "advocate"),
            "raving-fan": pgettext_lazy("ladder rung in a reason", "raving fan"),
        },
    )
