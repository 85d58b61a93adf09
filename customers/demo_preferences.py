"""The demo's preference center: the topics a marketer set up, and customers who chose some of
them and told us what they value, each written by the service on the day they did it."""

import random
from datetime import timedelta

from django.utils import timezone

from customers import preferences
from customers.demo import DEMO_PREFIX
from customers.models import Channel, Customer, Frequency, Topic, ValueQuestion

TOPICS = (
    ("Product news", "What is new in the range, once a month."),
    ("Events near me", "Owners' club evenings, workshops and open days in your area."),
    ("Tips and how-tos", "Getting more out of what you bought."),
)

# What demo customers wrote on the page, by question.
ANSWERS = {
    ValueQuestion.VALUABLE: (
        "Advice from people who actually use the products.",
        "Quick answers on the phone when something goes wrong.",
        "Delivery on the day you promise.",
        "That my account manager remembers what we ordered last time.",
        "The yearly check-up visit.",
        "Fair prices without having to haggle.",
    ),
    ValueQuestion.MORE: (
        "Evening workshops.",
        "More meet-ups with other owners.",
        "Short videos on maintenance.",
        "Early notice of new models.",
        "Trade-in offers for older equipment.",
    ),
    ValueQuestion.LESS: (
        "Fewer e-mails about sales.",
        "Paper catalogues.",
        "Phone calls during working hours.",
        "Surveys after every single order.",
    ),
}

# One customer in five who may be e-mailed opens the preference center.
SHARE = 5


def seed_preferences(*, seed: int = 17) -> dict[str, int]:
    """Set up the topics and let some demo customers choose theirs and say what they value;
    nothing when the topics are already there (running again changes nothing)."""
    if Topic.objects.filter(name=TOPICS[0][0]).exists():
        return {}
    rng = random.Random(seed)
    topics = [
        preferences.save_topic(topic=Topic(), name=name, description=about, is_active=True)
        for name, about in TOPICS
    ]
    customers = Customer.objects.filter(
        external_id__startswith=DEMO_PREFIX, deleted_at__isnull=True, consent_email=True
    ).order_by("id")
    now = timezone.now()
    told = answers = 0
    for customer in customers:
        if rng.randrange(SHARE):
            continue
        consents = customer.consents()
        consents[Channel.SMS] = consents[Channel.SMS] or (
            bool(customer.phone) and rng.random() < 0.3
        )
        chosen = {topic.pk for topic in topics if rng.random() < 0.5} or {topics[0].pk}
        said = {
            question: rng.choice(words)
            for question, words in ANSWERS.items()
            if rng.random() < (0.8 if question == ValueQuestion.VALUABLE else 0.4)
        }
        choices = preferences.Choices(
            consents=consents,
            preferred_channel=customer.preferred_channel,
            frequency=Frequency.LESS if rng.random() < 0.25 else Frequency.USUAL,
            topic_ids=chosen,
            answers=said,
        )
        when = now - timedelta(days=rng.randint(1, 120), minutes=rng.randint(0, 600))
        preferences.set_preferences(customer=customer, choices=choices, now=when)
        told += 1
        answers += len(said)
    return {"topics": len(topics), "customers": told, "answers": answers}
