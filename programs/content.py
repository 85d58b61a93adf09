"""What a touch says: the step's templates rendered for one customer on one channel."""

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import linebreaks
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from customers import activity, preferences, reply_addresses
from customers.languages import language_of
from customers.models import Channel, Customer, Purchase, Referral
from customers.sayings import english, kept_as_text
from programs import clicks
from programs.channels import Message, PermanentError
from programs.models import Step, Touch
from programs.sandbox import (
    EVENT_KINDS,
    REFER,
    SURVEY,
    VARIABLES,
    ContentError,
    render,
    sample_context,
)
from programs.unsubscribe import unsubscribe_token, unsubscribe_tokens

SAMPLE_REFERRAL_CODE = "SAMPLE1234"

# What apps above programs say in their step kinds' touches (the events app: the event and
# its RSVP link), {step kind: values_of(touches) -> {touch id: {name: value}}}. Registered from
# their AppConfig.ready: programs may not import them. A touch the app gives nothing for (no
# open event fits the customer) fails with the reason rather than going out without its link.
KindValues = Callable[[list[Touch]], dict[int, dict[str, str]]]
KIND_VALUES: dict[str, KindValues] = {}
# The kind named by its label (read back in the reader's language, as the label's own text).
NOTHING_TO_SAY = kept_as_text(
    gettext_noop("Nothing to say in this step (%(kind)s)."), texts=["kind"]
)
SMS_RENDERS_EMPTY = gettext_noop("The SMS body renders empty.")


def provide_kind_values(*, kind: str, values_of: KindValues) -> None:
    """Let an app above programs give the values of its step kind's touches."""
    KIND_VALUES[kind] = values_of


def kind_values_for(touches: list[Touch]) -> dict[int, dict[str, str]]:
    """The values apps above give for these touches (steps loaded with them), by touch id."""
    by_kind: dict[str, list[Touch]] = defaultdict(list)
    for touch in touches:
        if touch.step.kind in KIND_VALUES:
            by_kind[touch.step.kind].append(touch)
    values: dict[int, dict[str, str]] = {}
    for kind, group in by_kind.items():
        values.update(KIND_VALUES[kind](group))
    return values


def known_categories() -> list[str]:
    """Every product category customers buy, cached: the base has millions of purchases."""
    categories = cache.get("programs:categories")
    if categories is None:
        categories = sorted(
            c for c in Purchase.objects.values_list("product_category", flat=True).distinct() if c
        )
        cache.set("programs:categories", categories, 3600)
    return categories


def open_referral_code(customer: Customer) -> str:
    """The customer's open referral code (one not yet given to a named person), made once, so
    a retried touch does not hand out a second code."""
    open_code = customer.referrals.filter(
        status="invited", referred_name="", referred_email=""
    ).first()
    if open_code is not None:
        return open_code.code
    return activity.record_referral(referrer=customer).code


def unsubscribe_url(customer: Customer, channel: str) -> str:
    return f"{settings.SITE_URL}/u/{unsubscribe_token(customer=customer, channel=channel)}/"


def preferences_url(token: str) -> str:
    """The customer's preference center (customers/preference_page.py) from its token."""
    return f"{settings.SITE_URL}/p/{token}/"


@dataclass
class BatchFacts:
    """What the touches of one delivery batch say beyond their own rows, read (or made) for
    the whole batch at once: a handful of queries instead of several per touch."""

    categories: list[str]
    bought: dict[int, set[str]]
    unsubscribe_tokens: dict[tuple[int, str], str]
    preference_tokens: dict[int, str]
    referral_codes: dict[int, str]
    survey_links: dict[int, str]
    kind_values: dict[int, dict[str, str]] = dataclasses.field(default_factory=dict)


def categories_bought(customer_ids) -> dict[int, set[str]]:
    """The product categories each customer has bought, in one query (the cross-sell step
    offers what they have not)."""
    bought: dict[int, set[str]] = defaultdict(set)
    for customer_id, category in (
        Purchase.objects.filter(customer_id__in=customer_ids)
        .order_by()
        .values_list("customer_id", "product_category")
        .distinct()
    ):
        bought[customer_id].add(category)
    return bought


def gather_facts(touches: list[Touch]) -> BatchFacts:
    """The facts of a batch of touches (customers, steps and channels loaded with them)."""
    from programs import surveys

    customer_ids = {touch.customer_id for touch in touches}
    bought = categories_bought(customer_ids)
    referrers = {
        t.customer_id: t.customer for t in touches if t.step.kind == Step.Kind.REFER_FRIEND
    }
    return BatchFacts(
        categories=known_categories(),
        bought=bought,
        unsubscribe_tokens=unsubscribe_tokens(pairs={(t.customer_id, t.channel) for t in touches}),
        preference_tokens=preferences.preference_tokens(customer_ids=customer_ids),
        referral_codes=open_referral_codes(list(referrers.values())),
        survey_links=surveys.links_for(
            [t for t in touches if t.step.kind == Step.Kind.SATISFACTION_SURVEY]
        ),
        kind_values=kind_values_for(touches),
    )


def open_referral_codes(customers: list[Customer]) -> dict[int, str]:
    """Each customer's open referral code, made for those who have none (in bulk)."""
    codes = dict(
        Referral.objects.filter(
            referrer__in=customers, status="invited", referred_name="", referred_email=""
        )
        .order_by("created_at", "id")  # the newest open code wins, as for one customer
        .values_list("referrer_id", "code")
    )
    missing = [customer for customer in customers if customer.pk not in codes]
    if missing:
        codes.update(activity.hand_out_referral_codes(customers=missing))
    return codes


def context_for(
    *,
    step: Step,
    customer: Customer,
    touch: Touch | None,
    channel: str,
    facts: BatchFacts | None = None,
) -> dict:
    """The values a step's templates may use (from the batch's facts when given)."""
    if facts is not None:
        bought = facts.bought.get(customer.pk, set())
        categories = facts.categories
        code = facts.referral_codes.get(customer.pk, "")
        survey = facts.survey_links.get(touch.pk, "")
        unsubscribe = f"{settings.SITE_URL}/u/{facts.unsubscribe_tokens[customer.pk, channel]}/"
        choose = preferences_url(facts.preference_tokens[customer.pk])
        given = facts.kind_values.get(touch.pk, {}) if touch is not None else {}
    else:
        bought = set(customer.purchases.values_list("product_category", flat=True).distinct())
        categories = known_categories()
        code = ""
        if step.kind == Step.Kind.REFER_FRIEND:
            code = open_referral_code(customer) if touch is not None else SAMPLE_REFERRAL_CODE
        survey = survey_url(step=step, customer=customer, touch=touch, channel=channel)
        # A preview writes nothing: its unsubscribe and preference links are placeholders.
        unsubscribe = (
            unsubscribe_url(customer, channel)
            if touch is not None
            else f"{settings.SITE_URL}/u/PREVIEW/"
        )
        choose = preferences_url(
            preferences.preference_token(customer=customer) if touch is not None else "PREVIEW"
        )
        given = kind_values_for([touch]).get(touch.pk, {}) if touch is not None else {}
    if step.kind in KIND_VALUES and not given:
        if touch is not None:
            with translation.override("en"):  # the worker stores it; the reader says it again
                kind = str(step.get_kind_display())
            raise PermanentError(english(NOTHING_TO_SAY, kind=kind))
        given = {v.name: v.example for v in VARIABLES if step.kind in v.kinds}  # a preview
    return {
        **values_for(
            step=step,
            customer=customer,
            survey_url=survey,
            referral_code=code,
            categories_not_bought=[c for c in categories if c not in bought],
            unsubscribe_url=unsubscribe,
            preferences_url=choose,
        ),
        **given,
    }


def values_for(
    *,
    step: Step,
    customer: Customer,
    survey_url: str,
    referral_code: str,
    categories_not_bought: list[str],
    unsubscribe_url: str,
    preferences_url: str,
) -> dict:
    """The documented values (programs.sandbox.VARIABLES) for one customer: plain strings and
    lists, never a model, so content cannot walk to a password hash or the settings. Names
    the step's kind cannot give are left out, and content using them is refused."""
    owner = customer.owner
    values = {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "full_name": " ".join(name for name in (customer.first_name, customer.last_name) if name),
        "tier": customer.tier.name if customer.tier else "",
        "owner_name": (owner.get_full_name() or owner.username) if owner else "our team",
        "owner_email": owner.email if owner else "",
        "organization_name": settings.ORGANIZATION_NAME,
        "organization_address": settings.ORGANIZATION_ADDRESS,
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": preferences_url,
        "categories_not_bought": categories_not_bought,
    }
    if step.kind == Step.Kind.SATISFACTION_SURVEY:
        values.update(survey_url=survey_url, premium=step.premium)
    if step.kind == Step.Kind.REFER_FRIEND:
        values["referral_code"] = referral_code
        values["referral_url"] = f"{settings.SITE_URL}/r/{referral_code}/" if referral_code else ""
    return values


def survey_url(*, step: Step, customer: Customer, touch: Touch | None, channel: str) -> str:
    """The link to the satisfaction survey for this touch (empty for other steps)."""
    if step.kind != Step.Kind.SATISFACTION_SURVEY:
        return ""
    from programs import surveys

    return surveys.link_for(customer=customer, touch=touch, channel=channel)


def message_id_for(touch_id: int, occurrence: int) -> str:
    """Deterministic per touch: a resend after a crash is recognisable as the same message."""
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<touch-{touch_id}-{occurrence}@{domain}>"


def message_for(
    *,
    touch: Touch | None,
    customer: Customer,
    channel: str,
    step: Step | None = None,
    facts: BatchFacts | None = None,
    language: str | None = None,
) -> Message:
    """The touch rendered for its channel (a preview when there is no touch), in `language`
    or else the customer's: the step's version in it where it has one, else its default."""
    step = step or touch.step
    language = language or language_of(customer)
    variant_id = None
    if touch is not None and step.testing_variants:
        from programs import variant_store

        step, variant_id = variant_store.content_for(step=step, customer_id=customer.pk)
    context = context_for(step=step, customer=customer, touch=touch, channel=channel, facts=facts)
    with translation.override(language):
        return _message(step, touch, customer, channel, context, language, variant_id)


def _message(
    step: Step,
    touch: Touch | None,
    customer: Customer,
    channel: str,
    context: dict,
    language: str,
    variant_id: int | None,
) -> Message:
    touch_id = touch.pk if touch else 0
    if channel == Channel.EMAIL:
        subject = " ".join(
            render(step.text("email_subject", language), context, autoescape=False).split()
        )
        text = render(step.text("email_body", language), context, autoescape=False)
        escaped = render(step.text("email_body", language), context, autoescape=True)
        if touch is not None and step.program.track_clicks:
            text = clicks.rewrite_text(text, touch_id)
            escaped = clicks.rewrite_html(escaped, touch_id)
        html_body = linebreaks(escaped)
        footer = {
            "organization": settings.ORGANIZATION_NAME,
            "address": settings.ORGANIZATION_ADDRESS,
            "unsubscribe_url": context["unsubscribe_url"],
            "preferences_url": context["preferences_url"],
        }
        return Message(
            touch_id=touch_id,
            to=customer.email,
            subject=subject,
            text=text + "\n" + render_to_string("emails/touch_footer.txt", footer),
            html=render_to_string(
                "emails/touch.html", {**footer, "body": html_body, "subject": subject}
            ),
            message_id=message_id_for(touch_id, touch.occurrence if touch else 1),
            headers=_email_headers(context["unsubscribe_url"], touch_id),
            variant_id=variant_id,
        )
    if channel == Channel.SMS:
        text = " ".join(render(step.text("sms_body", language), context, autoescape=False).split())
        if not text:  # never a text saying only how to opt out
            raise ContentError(english(SMS_RENDERS_EMPTY))
        if text[-1] not in ".!?":
            text += "."
        opt_out = _("Reply STOP to opt out.")
        return Message(
            touch_id=touch_id,
            to=customer.phone,
            subject=step.name,
            text=f"{text} {opt_out}",
            variant_id=variant_id,
        )
    if channel == Channel.LETTER:
        return Message(
            touch_id=touch_id,
            to=customer.postal_address,
            subject=step.name,
            text=render(
                step.text("letter_body", language) or step.text("email_body", language),
                context,
                autoescape=False,
            ),
        )
    return Message(
        touch_id=touch_id,
        to=customer.phone,
        subject=step.name,
        text=render(
            step.text("call_script", language) or step.text("email_body", language),
            context,
            autoescape=False,
        ),
    )


def _email_headers(unsubscribe_url: str, touch_id: int) -> dict[str, str]:
    """One-click unsubscribe (RFC 8058), and a Reply-To of the touch's own when inbound
    e-mail is configured (a preview has none)."""
    headers = {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    reply_to = reply_addresses.reply_to(reply_addresses.TOUCH, touch_id)
    if reply_to:
        headers["Reply-To"] = reply_to
    return headers


# Which steps give a name that only some kinds of step have, for the editor's help: a whole
# phrase per group of kinds (as sandbox.ONLY_IN says it in errors).
ONLY_IN_STEPS = {
    frozenset({SURVEY}): gettext_noop("only in a “Satisfaction survey” step"),
    frozenset({REFER}): gettext_noop("only in a “Refer a friend” step"),
    EVENT_KINDS: gettext_noop(
        "only in an event's steps (invitation, reminder, seat freed, cancellation)"
    ),
}


def documented_variables() -> list[dict]:
    """The names content may use, for the step editor's help: meaning, example, which steps,
    in the active language."""
    return [
        {
            "name": variable.name,
            "meaning": _(variable.meaning),
            "example": ", ".join(variable.example)
            if isinstance(variable.example, list)
            else variable.example,
            "only": _(ONLY_IN_STEPS[variable.kinds]) if variable.kinds else "",
        }
        for variable in VARIABLES
    ]


# Which field says what on each channel; letters and calls fall back to the e-mail body.
CHANNEL_FIELDS = {
    Channel.EMAIL: ["email_subject", "email_body"],
    Channel.SMS: ["sms_body"],
    Channel.LETTER: ["letter_body"],
    Channel.PHONE: ["call_script"],
}
FALLS_BACK_TO_EMAIL_BODY = {"letter_body", "call_script"}
# What a field the step may go out with says when it renders empty, by (field, whether it
# falls back to the e-mail body): whole sentences, the channel named in each.
WRITE_THE_FIELD = {
    ("email_subject", False): gettext_noop(
        "Write the e-mail subject: this step may go out by E-mail, and this renders empty."
    ),
    ("email_body", False): gettext_noop(
        "Write the e-mail body: this step may go out by E-mail, and this renders empty."
    ),
    ("sms_body", False): gettext_noop(
        "Write the SMS body: this step may go out by SMS, and this renders empty."
    ),
    ("letter_body", False): gettext_noop(
        "Write the letter: this step may go out by Letter, and this renders empty."
    ),
    ("letter_body", True): gettext_noop(
        "Write the letter (or the e-mail body): this step may go out by Letter, and this "
        "renders empty."
    ),
    ("call_script", False): gettext_noop(
        "Write the call script: this step may go out by Phone call, and this renders empty."
    ),
    ("call_script", True): gettext_noop(
        "Write the call script (or the e-mail body): this step may go out by Phone call, and "
        "this renders empty."
    ),
}


def channels_possible(step: Step) -> list[str]:
    """Every channel a touch of the step may go out on (any, for the preferred channel)."""
    if step.channel_mode == Step.ChannelMode.PREFERRED:
        return list(Channel.values)
    return list(dict.fromkeys([step.channel, *step.fallbacks]))


def content_problems(step: Step) -> dict[str, list[str]]:
    """Why the step's content cannot be sent, by field (empty when it can): every field must
    render for a sample customer, and each channel the step may use needs non-empty content."""
    values = sample_context(step.kind)
    if "premium" in values:
        values["premium"] = step.premium
    problems: dict[str, list[str]] = {}
    rendered: dict[str, str] = {}
    for field in ("email_subject", "email_body", "sms_body", "letter_body", "call_script"):
        try:
            for autoescape in (False, True) if field == "email_body" else (False,):
                rendered[field] = render(getattr(step, field), values, autoescape=autoescape)
        except ContentError as error:
            problems[field] = error.said()
    versions = step.versions if isinstance(step.versions, dict) else {}
    for language, version in versions.items():
        for field, text in version.items():
            try:
                render(str(text), values, autoescape=False)
            except ContentError as error:
                # Named as the step form names the field.
                problems[f"version_{language}_{field}"] = error.said()
    for channel in channels_possible(step):
        for field in CHANNEL_FIELDS[channel]:
            source = field
            if field in FALLS_BACK_TO_EMAIL_BODY and not getattr(step, field):
                source = "email_body"
            if source in problems or rendered.get(source, "").strip():
                continue
            problems[field] = [_(WRITE_THE_FIELD[field, source != field])]
    return problems
