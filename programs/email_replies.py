"""Replies to our e-mails, posted by the provider's inbound webhook: each one on the right
customer's timeline, threaded to the touch it answers (found by its Reply-To address, see
customers/reply_addresses.py), which counts as responded, with a follow-up for the owner.

Auto-replies (out of office, delivery reports) are noted on the timeline and the event, never
a response and never a follow-up.
"""

import re
from datetime import datetime
from email.message import Message
from email.utils import parseaddr

from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext_noop

from customers import reply_addresses
from customers.activity import log_interaction
from customers.models import Channel, Customer, Interaction, TimelineEntry
from customers.sayings import said
from customers.timeline import note_on_timeline
from nps.models import Invitation
from programs import schedule
from programs.models import ProviderEvent, Touch, UnmatchedReply
from programs.responses import record_response

# What of a reply is kept: long threads and signatures beyond this are cut.
TEXT_LIMIT = 20_000
# An e-mail reply's summary, to a touch's step or to no touch we can tell.
REPLY_TO_STEP = gettext_noop("E-mail reply to “%(step)s”: %(first_line)s")
REPLY = gettext_noop("E-mail reply: %(first_line)s")
# The headers that tell an automatic message from a person's (RFC 3834 and common practice).
AUTO_HEADERS = ("auto-submitted", "x-autoreply", "x-autorespond", "precedence")
AUTO_PRECEDENCE = {"bulk", "auto_reply", "junk"}

# Where the quoted history of a reply starts: "On <date>, <name> wrote:", Outlook's
# "-----Original Message-----" or its "From: … Sent: …" block, German "Am … schrieb …:".
_ATTRIBUTION = re.compile(
    r"^\s*(On\s.{0,300}wrote:|Am\s.{0,300}schrieb.{0,200}:|-{3,}\s*Original Message\s*-{3,})\s*$",
    re.IGNORECASE,
)
_HEADER_BLOCK = re.compile(r"^\s*\*?(From|Von):\*?\s", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*\*?(Sent|Date|Gesendet|To|Subject):\*?\s", re.IGNORECASE)


def payload_of(message) -> dict:
    """What is stored of an inbound message (an anymail AnymailInboundMessage): sender and
    recipients as their headers say (parsed by the task: the endpoint stays quick), subject,
    text and the headers that mark an automatic message."""
    recipients = [str(value) for name in ("To", "Cc", "Bcc") for value in message.get_all(name, [])]
    if message.envelope_recipient:
        recipients.insert(0, message.envelope_recipient)
    text = message.text or strip_tags(message.html or "")
    return {
        "from": str(message.get("From", ""))[:500],
        "to": [recipient[:2000] for recipient in recipients[:20]],
        "subject": str(message.get("Subject", ""))[:300],
        "text": text[:TEXT_LIMIT],
        "headers": {name: str(message[name]) for name in AUTO_HEADERS if name in message},
        "content_type": str(message.get("Content-Type", ""))[:300],
    }


def sender_of(payload: dict) -> str:
    """The sender's address, lower case."""
    return parseaddr(payload.get("from") or "")[1].strip().lower()


def auto_reply_reason(payload: dict) -> str:
    """Why the message is automatic (empty for a person's reply)."""
    headers = {name.lower(): value for name, value in (payload.get("headers") or {}).items()}
    submitted = headers.get("auto-submitted", "").split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers:
            return "X-Autoreply" if name == "x-autoreply" else "X-Autorespond"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    content_type = Message()
    content_type["Content-Type"] = payload.get("content_type") or "text/plain"
    kind = content_type.get_content_type()
    report = str(content_type.get_param("report-type") or "").lower()
    if kind == "message/delivery-status" or (
        kind == "multipart/report" and report == "delivery-status"
    ):
        return "delivery status report"
    return ""


def trim_quoted(text: str) -> str:
    """The customer's own words: the quoted history (from its attribution line on) and
    quoted lines ("> ...") left out."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _ATTRIBUTION.match(line):
            break
        # An attribution wrapped over two lines: "On Mon, 1 Dec 2026 at 10:00, Bonding" /
        # "<bonding@example.com> wrote:".
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if line.lstrip().startswith(("On ", "Am ")) and _ATTRIBUTION.match(f"{line} {following}"):
            break
        if _HEADER_BLOCK.match(line) and any(
            _HEADER_NEXT.match(after) for after in lines[index + 1 : index + 4]
        ):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


def apply_reply(event: ProviderEvent, now: datetime) -> str:
    """One stored reply: on the timeline of the customer it answers (the touch or invitation
    its Reply-To names, else the one customer at the sender's address)."""
    payload = event.payload
    touch, customer = _answered(payload.get("to") or [])
    if customer is None:
        matches = list(
            Customer.objects.filter(email=sender_of(payload), deleted_at__isnull=True)
            .select_related("owner")
            .order_by("id")[:2]
        )
        customer = matches[0] if len(matches) == 1 else None
    if customer is None or customer.deleted_at is not None:
        if auto_reply_reason(payload):
            return "unmatched auto-reply: no customer"  # nobody to assign an out-of-office to
        UnmatchedReply.objects.create(
            channel=Channel.EMAIL,
            email=sender_of(payload)[:254],
            subject=(payload.get("subject") or "")[:300],
            body=trim_quoted(payload.get("text") or ""),
            received_at=event.received_at,
            event=event,
        )
        return "unmatched reply: kept for a marketer to assign"
    if touch is not None:
        event.touch_ref = touch.pk
    received = event.received_at
    automatic = auto_reply_reason(payload)
    if automatic:
        # The header that gave it away stays as the message says it (a technical name).
        line = (
            said(
                gettext_noop("Automatic reply to “%(step)s” (%(header)s)"),
                step=touch.step.name,
                header=automatic,
            )
            if touch
            else said(gettext_noop("Automatic reply (%(header)s)"), header=automatic)
        )
        note_on_timeline(
            customer=customer,
            kind=TimelineEntry.Kind.NOTE,
            **line,
            detail=trim_quoted(payload.get("text") or "")[:2000],
            occurred_at=received,
        )
        return f"auto-reply ({automatic})"[:200]
    log_reply(
        customer=customer,
        text=trim_quoted(payload.get("text") or ""),
        subject=payload.get("subject") or "",
        received_at=received,
        touch=touch,
        now=now,
    )
    return f"reply of customer {customer.pk}" + (f" to touch {touch.pk}" if touch else "")


def log_reply(
    *,
    customer: Customer,
    text: str,
    subject: str,
    received_at: datetime,
    touch: Touch | None,
    now: datetime,
    by: User | None = None,
) -> Interaction:
    """A customer's e-mail on their timeline, threaded to the touch it answers (marked
    responded), with a follow-up for the owner due the next working day."""
    first_line = next((line for line in text.split("\n") if line.strip()), subject)[:200]
    summary = (
        said(REPLY_TO_STEP, field="summary", step=touch.step.name, first_line=first_line)
        if touch
        else said(REPLY, field="summary", first_line=first_line)
    )
    interaction = log_interaction(
        customer=customer,
        author=by,
        channel=Interaction.Kind.EMAIL,
        direction=Interaction.Direction.INBOUND,
        **summary,
        notes=text,
        occurred_at=received_at,
        follow_up_on=schedule.next_working_day(timezone.localdate(received_at)),
        now=now,
    )
    if touch is not None:
        record_response(touch=touch, now=received_at)
    return interaction


def _answered(recipients: list[str]) -> tuple[Touch | None, Customer | None]:
    """The touch (if any) and customer a reply address names."""
    found = reply_addresses.find(recipients)
    if found is None:
        return None, None
    kind, pk = found
    if kind == reply_addresses.INVITATION:
        invitation = Invitation.objects.select_related("customer__owner").filter(pk=pk).first()
        if invitation is None:
            return None, None
        if invitation.touch_id is None:
            return None, invitation.customer
        pk = invitation.touch_id
    touch = Touch.objects.select_related("step", "customer__owner").filter(pk=pk).first()
    return touch, touch.customer if touch else None
