"""The fields each record shows, in the API and in the webhook events alike: one list per
record, read by the API's serializers and by the services that announce changes (which cannot
import the API module: it imports the services)."""

# The customer's own fields as the API shows them (CustomerSerializer adds its links).
CUSTOMER_FIELDS = (
    "id",
    "external_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "audience",
    "relationship",
    "partner_kind",
    "bond_stage",
    "preferred_channel",
    "frequency",
    "language",
    "timezone",
    "email_suspended_reason",
    "email_suspended_at",
    "estimated_wallet",
    "postal_address",
    "lifetime_value",
    "predicted_value_12m",
    "share_of_wallet",
    "churn_risk",
    "churn_reasons",
    "nps_latest",
    "created_at",
    "updated_at",
)

INTERACTION_FIELDS = (
    "id",
    "customer",
    "author",
    "channel",
    "direction",
    "occurred_at",
    "summary",
    "notes",
    "sentiment",
    "follow_up_on",
    "created_at",
)
COMPLAINT_FIELDS = (
    "id",
    "customer",
    "category",
    "severity",
    "description",
    "owner",
    "status",
    "opened_at",
    "resolution",
    "resolved_at",
    "updated_at",
)
PURCHASE_FIELDS = (
    "id",
    "customer",
    "external_id",
    "amount",
    "currency",
    "purchased_on",
    "product_category",
    "created_at",
)
FOLLOW_UP_FIELDS = (
    "id",
    "customer",
    "assignee",
    "due_at",
    "reason",
    "notes",
    "source",
    "done_at",
    "done_by",
    "created_at",
    "updated_at",
)
REWARD_FIELDS = (
    "id",
    "customer",
    "movement",
    "cause",
    "kind",
    "unit",
    "value",
    "reason",
    "given_at",
    "expires_at",
    "applies_to",
    "author",
)
REFERRAL_FIELDS = (
    "id",
    "referrer",
    "referred_name",
    "referred_email",
    "referred_customer",
    "code",
    "status",
    "created_at",
    "converted_at",
    "updated_at",
)

# By record kind, for the events that carry them.
RECORD_FIELDS = {
    "interaction": INTERACTION_FIELDS,
    "complaint": COMPLAINT_FIELDS,
    "purchase": PURCHASE_FIELDS,
    "follow_up": FOLLOW_UP_FIELDS,
    "reward": REWARD_FIELDS,
    "referral": REFERRAL_FIELDS,
}
