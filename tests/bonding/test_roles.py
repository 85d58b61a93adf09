# ruff: noqa: E501  (the table reads best one URL per line)
"""Who may do what: every URL of the site and every API route, walked as every role.

The table is the rule, read from left to right: what an anonymous visitor, a signed-in user
with no role, an account manager (on objects they own, and on someone else's), a marketer and
an admin get. A URL or an API method that is not in the table fails the test, so a new page
cannot ship without saying who may use it.

  OK     the request reaches the page or endpoint (any answer but 401/403/404 and never a 5xx)
  NO     403: signed in, but this role may not
  GONE   404: the object is someone else's, as if it did not exist
  LOGIN  not signed in: pages send to the sign-in page, the API answers 401
"""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from bonding.api import router
from tests.api.conftest import token_client
from tests.bonding.conftest import url_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OK, NO, GONE, LOGIN = "OK", "NO", "GONE", "LOGIN"
ROLES = ("anonymous", "no role", "manager, own", "manager, other's", "marketer", "admin")

# fmt: off
TABLE = [
    # url name                        methods              pk        anon   none  own   other  mkt  admin
    # Public: sign-in, health and the links customers follow.
    ("login",                         "GET POST",          "-",      OK,    OK,   OK,   OK,    OK,  OK),
    # Signing out sends everyone to the sign-in page.
    ("logout",                        "POST",              "-",      LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    ("healthz",                       "GET",               "-",      OK,    OK,   OK,   OK,    OK,  OK),
    ("favicon",                       "GET",               "-",      OK,    OK,   OK,   OK,    OK,  OK),
    ("survey",                        "GET POST",          "-",      OK,    OK,   OK,   OK,    OK,  OK),
    # Thanks only once answered: the scene's invitations are not, for anyone.
    ("survey_thanks",                 "GET",               "-",      GONE,  GONE, GONE, GONE,  GONE, GONE),
    ("programs:unsubscribe",          "GET POST",          "-",      OK,    OK,   OK,   OK,    OK,  OK),
    ("programs:unsubscribe_choose",   "POST",              "-",      OK,    OK,   OK,   OK,    OK,  OK),
    # A tracked link of an e-mail: a redirect to the URL signed into its token.
    ("programs:click",                "GET",               "-",      OK,    OK,   OK,   OK,    OK,  OK),
    ("referral_page",                 "GET POST",          "-",      OK,    OK,   OK,   OK,    OK,  OK),
    ("preference_page",               "GET POST",          "-",      OK,    OK,   OK,   OK,    OK,  OK),
    ("event_invitation",              "GET POST",          "-",      OK,    OK,   OK,   OK,    OK,  OK),
    ("event_ics",                     "GET",               "-",      OK,    OK,   OK,   OK,    OK,  OK),
    # The SMS provider's callback: its shared secret, not a role (none given here).
    ("programs:sms_inbound",          "POST",              "-",      NO,    NO,   NO,   NO,    NO,  NO),
    # Twilio's webhooks: anyone may POST, and only a valid X-Twilio-Signature (none here) passes.
    ("programs:twilio_status",        "POST",              "-",      NO,    NO,   NO,   NO,    NO,  NO),
    ("programs:twilio_inbound",       "POST",              "-",      NO,    NO,   NO,   NO,    NO,  NO),
    # The e-mail providers' tracking webhooks: anyone may POST; anymail lets only the webhook
    # secret (basic auth) through, and with none set (as here) they are closed.
    ("anymail:amazon_ses_tracking_webhook", "POST",        "-",      NO,    NO,   NO,   NO,    NO,  NO),
    ("anymail:mailgun_tracking_webhook", "POST",           "-",      NO,    NO,   NO,   NO,    NO,  NO),
    ("anymail:postmark_tracking_webhook", "POST",          "-",      NO,    NO,   NO,   NO,    NO,  NO),
    ("anymail:sendgrid_tracking_webhook", "POST",          "-",      NO,    NO,   NO,   NO,    NO,  NO),
    # Their inbound webhooks (replies to our e-mails): the same secret, closed without one.
    ("anymail:amazon_ses_inbound_webhook", "POST",         "-",      NO,    NO,   NO,   NO,    NO,  NO),
    ("anymail:mailgun_inbound_webhook", "POST",            "-",      NO,    NO,   NO,   NO,    NO,  NO),
    ("anymail:postmark_inbound_webhook", "POST",           "-",      NO,    NO,   NO,   NO,    NO,  NO),
    ("anymail:sendgrid_inbound_webhook", "POST",           "-",      NO,    NO,   NO,   NO,    NO,  NO),
    # Everyone with a role.
    ("home",                          "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("dashboard_audience",            "POST",              "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    # The pages' scripts' texts (the djangojs catalog): public, like the sign-in page.
    ("javascript-catalog",            "GET",               "-",      OK,    OK,   OK,   OK,    OK,  OK),
    ("dashboard_export",              "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("api_tokens",                    "GET POST",          "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("staff_language",                "GET POST",          "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("webhooks_settings",             "GET POST",          "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("webhook",                       "GET POST",          "webhook", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("customers:list",                "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("customers:create",              "GET POST",          "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("customers:my_day",              "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("customers:export",              "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("customers:account_create",      "GET POST",          "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("customers:account",             "GET",               "account", LOGIN, NO,  OK,   OK,    OK,  OK),
    ("customers:account_edit",        "GET POST",          "account", LOGIN, NO,  OK,   OK,    OK,  OK),
    # One customer: its owner, marketers and admins; another account manager finds nothing.
    ("customers:detail",              "GET",               "customer", LOGIN, NO, OK,   GONE,  OK,  OK),
    ("customers:edit",                "GET POST",          "customer", LOGIN, NO, OK,   GONE,  OK,  OK),
    ("customers:log_interaction",     "POST",              "customer", LOGIN, NO, OK,   GONE,  OK,  OK),
    ("customers:open_complaint",      "POST",              "customer", LOGIN, NO, OK,   GONE,  OK,  OK),
    ("customers:resolve_complaint",   "POST",              "customer", LOGIN, NO, OK,   GONE,  OK,  OK),
    ("customers:add_purchase",        "POST",              "customer", LOGIN, NO, OK,   GONE,  OK,  OK),
    ("customers:add_contract",        "POST",              "customer", LOGIN, NO, OK,   GONE,  OK,  OK),
    ("customers:add_referral",        "POST",              "customer", LOGIN, NO, OK,   GONE,  OK,  OK),
    ("customers:add_reward",          "POST",              "customer", LOGIN, NO, OK,   GONE,  OK,  OK),
    ("customers:redeem_reward",       "POST",              "customer", LOGIN, NO, NO,   NO,    OK,  OK),
    ("customers:reverse_reward",      "POST",              "customer", LOGIN, NO, NO,   NO,    OK,  OK),
    # Reward rules and the goodwill limit: marketers and admins.
    ("customers:reward_rules",        "GET POST",          "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("customers:goodwill_limit",      "POST",              "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("customers:reward_rule_edit",    "POST",              "reward_rule", LOGIN, NO, NO, NO,   OK,  OK),
    ("customers:reward_rule_off",     "POST",              "reward_rule", LOGIN, NO, NO, NO,   OK,  OK),
    ("customers:set_tier",            "POST",              "customer", LOGIN, NO, OK,   GONE,  OK,  OK),
    ("customers:convert_referral",    "POST",              "referral", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("customers:topics",              "GET POST",          "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("customers:value_answers",       "GET",               "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("customers:topic_edit",          "POST",              "topic",  LOGIN, NO,   NO,   NO,    OK,  OK),
    ("customers:follow_up_done",      "POST",              "-",      LOGIN, NO,   OK,   GONE,  OK,  OK),
    # Acting on ticked customers: everyone goes on; owners (marketers) and deletion (admins)
    # are refused on the confirmation page, which without an action is a 400 for all.
    ("customers:bulk",                "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("customers:bulk_confirm",        "GET POST",          "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    # Saved segments: their authors; marketers and admins use everyone's, only authors and
    # admins delete one.
    ("customers:list_columns",        "GET POST",              "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("customers:segments",            "GET POST",          "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("customers:segment_count",       "GET",               "segment", LOGIN, NO,  OK,   GONE,  OK,  OK),
    # Static lists: the same rule as segments.
    ("customers:lists",               "GET POST",          "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("customers:add_to_list",         "GET POST",          "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("customers:list_delete",         "POST",              "list",   LOGIN, NO,   OK,   GONE,  NO,  OK),
    ("customers:segment_delete",      "POST",              "segment", LOGIN, NO,  OK,   GONE,  NO,  OK),
    # Events: everyone who keeps customers sees them and checks in at the door (an account
    # manager's door list holds only their own customers); marketers make and invite.
    ("events:list",                   "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("events:detail",                 "GET",               "event",  LOGIN, NO,   OK,   OK,    OK,  OK),
    ("events:check_in",               "POST",              "event",  LOGIN, NO,   OK,   OK,    OK,  OK),
    ("events:attendees_csv",          "GET",               "event",  LOGIN, NO,   OK,   OK,    OK,  OK),
    ("events:attendance_import",      "POST",              "event",  LOGIN, NO,   OK,   OK,    OK,  OK),
    ("events:create",                 "GET POST",          "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("events:edit",                   "GET POST",          "event",  LOGIN, NO,   NO,   NO,    OK,  OK),
    ("events:invite",                 "GET POST",          "event",  LOGIN, NO,   NO,   NO,    OK,  OK),
    ("events:invite_progress",        "GET",               "event",  LOGIN, NO,   NO,   NO,    OK,  OK),
    ("events:close",                  "POST",              "event",  LOGIN, NO,   NO,   NO,    OK,  OK),
    # Deleting, merging and the ladder: marketers and admins.
    ("customers:delete",              "POST",              "customer", LOGIN, NO, NO,   NO,    OK,  OK),
    ("customers:ladder",              "GET POST",          "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("customers:duplicates",          "GET",               "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("customers:merge",               "POST",              "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    # Imports, surveys and programs: marketers and admins.
    ("customers:imports",             "GET POST",          "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("customers:import_mapping",      "GET POST",          "job",    LOGIN, NO,   NO,   NO,    OK,  OK),
    ("customers:import_start",        "POST",              "job",    LOGIN, NO,   NO,   NO,    OK,  OK),
    ("customers:import_progress",     "GET",               "job",    LOGIN, NO,   NO,   NO,    OK,  OK),
    ("customers:import_result",       "GET",               "job",    LOGIN, NO,   NO,   NO,    OK,  OK),
    ("customers:import_rejected",     "GET",               "job",    LOGIN, NO,   NO,   NO,    OK,  OK),
    ("nps:list",                      "GET",               "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("nps:create",                    "GET POST",          "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("nps:edit",                      "GET POST",          "survey", LOGIN, NO,   NO,   NO,    OK,  OK),
    ("nps:invite",                    "GET POST",          "survey", LOGIN, NO,   NO,   NO,    OK,  OK),
    ("nps:invite_choose",             "GET",               "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("nps:themes_refit",              "POST",              "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("nps:theme_rename",              "POST",              "theme",  LOGIN, NO,   NO,   NO,    OK,  OK),
    ("nps:theme_merge",               "POST",              "theme",  LOGIN, NO,   NO,   NO,    OK,  OK),
    ("nps:theme_split",               "POST",              "theme",  LOGIN, NO,   NO,   NO,    OK,  OK),
    ("programs:list",                 "GET",               "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("programs:create",               "GET POST",          "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("programs:edit",                 "GET POST",          "program", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("programs:delete",               "POST",              "program", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("programs:funnel",               "GET",               "program", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("programs:lift",                 "GET",               "program", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("programs:lift_csv",             "GET",               "program", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("programs:enroll_choose",        "GET",               "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("programs:enroll",               "GET POST",          "program", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("programs:enroll_progress",      "GET",               "program", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("programs:step_create",          "GET POST",          "program", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("programs:step_preview",         "POST",              "program", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("programs:step_test_send",       "POST",              "program", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("programs:step_edit",            "GET POST",          "program", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("programs:step_variants",        "GET POST",          "program", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("programs:promote_variant",      "POST",              "program", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("programs:step_delete",          "POST",              "program", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("programs:step_move",            "POST",              "program", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("programs:failures",             "GET",               "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("programs:retry",                "POST",              "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("programs:dismiss",              "POST",              "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("programs:unmatched_replies",    "GET",               "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("programs:assign_reply",         "POST",              "reply",  LOGIN, NO,   NO,   NO,    OK,  OK),
    ("programs:dismiss_reply",        "POST",              "reply",  LOGIN, NO,   NO,   NO,    OK,  OK),
    ("programs:letters",              "GET",               "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("programs:letter_batch",         "GET",               "batch",  LOGIN, NO,   NO,   NO,    OK,  OK),
    ("programs:letters_posted",       "POST",              "batch",  LOGIN, NO,   NO,   NO,    OK,  OK),
    # The back office guards itself: staff only, everyone else is sent to its sign-in.
    ("admin:index",                   "GET",               "-",      LOGIN, NO,   LOGIN, LOGIN, LOGIN, OK),
    # The API: a token (or session) of a user with a role.
    ("api_token",                     "POST",              "-",      OK,    OK,   OK,   OK,    OK,  OK),
    ("api-root",                      "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    # With DEBUG off, as here and in production (see test_the_api_schema_is_open_while_debugging).
    ("api_schema",                    "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("api_docs",                      "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("api_enrollments",               "POST",              "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("customer-list",                 "GET POST",          "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("customer-sync",                 "POST",              "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("customer-deleted",              "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("customer-detail",               "GET PUT PATCH",     "customer", LOGIN, NO, OK,   GONE,  OK,  OK),
    ("customer-detail",               "DELETE",            "customer", LOGIN, NO, NO,   GONE,  OK,  OK),
    ("customer-by-external-id",       "GET",               "-",      LOGIN, NO,   OK,   GONE,  OK,  OK),
    ("customer-ladder-list",          "GET",               "customer", LOGIN, NO, OK,   GONE,  OK,  OK),
    ("interaction-list",              "GET POST",          "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("interaction-detail",            "GET",               "interaction", LOGIN, NO, OK, GONE,  OK,  OK),
    ("purchase-list",                 "GET POST",          "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    # Accounts: managers read those of their customers; marketers and admins change them.
    ("account-list",                  "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("account-list",                  "POST",              "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("account-detail",                "GET",               "account", LOGIN, NO,  OK,   GONE,  OK,  OK),
    ("account-detail",                "PUT PATCH",         "account", LOGIN, NO,  NO,   GONE,  OK,  OK),
    ("complaint-list",                "GET POST",          "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("complaint-detail",              "GET",               "complaint", LOGIN, NO, OK,  GONE,  OK,  OK),
    ("complaint-resolve",             "POST",              "complaint", LOGIN, NO, OK,  GONE,  OK,  OK),
    ("contract-list",                 "GET POST",          "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("contract-detail",               "GET",               "contract", LOGIN, NO, OK,   GONE,  OK,  OK),
    # Webhook subscriptions tell of everyone's customers: marketers and admins only.
    ("webhook-list",                  "GET POST",          "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("webhook-detail",                "GET DELETE",        "webhook", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("webhook-rotate",                "POST",              "webhook", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("webhook-enable",                "POST",              "webhook", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("webhook-replay",                "POST",              "webhook", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("webhook-deliveries",            "GET",               "webhook", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("referral-list",                 "GET POST",          "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("referral-detail",               "GET",               "referral", LOGIN, NO, OK,   GONE,  OK,  OK),
    ("customer-reward-list",          "GET",               "customer", LOGIN, NO, OK,   GONE,  OK,  OK),
    ("reward-list",                   "POST",              "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    # Reversing a line: marketers and admins.
    ("reward-reverse",                "POST",              "reward", LOGIN, NO,   NO,   NO,    OK,  OK),
    ("follow-up-list",                "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("follow-up-detail",              "GET",               "follow_up", LOGIN, NO, OK,  GONE,  OK,  OK),
    ("follow-up-complete",            "POST",              "follow_up", LOGIN, NO, OK,  GONE,  OK,  OK),
    ("segment-list",                  "GET POST",          "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("segment-detail",                "GET",               "segment", LOGIN, NO,  OK,   GONE,  OK,  OK),
    ("segment-customers",             "GET",               "segment", LOGIN, NO,  OK,   GONE,  OK,  OK),
    ("static-list-list",              "GET POST",          "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("static-list-detail",            "GET",               "list",   LOGIN, NO,   OK,   GONE,  OK,  OK),
    # Only a list's author (or an admin) changes it; marketers use everyone's.
    ("static-list-detail",            "DELETE",            "list",   LOGIN, NO,   OK,   GONE,  NO,  OK),
    ("static-list-members",           "POST",              "list",   LOGIN, NO,   OK,   GONE,  NO,  OK),
    ("static-list-customers",         "GET",               "list",   LOGIN, NO,   OK,   GONE,  OK,  OK),
    ("tier-list",                     "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("tier-detail",                   "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("topic-list",                    "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("topic-detail",                  "GET",               "topic",  LOGIN, NO,   OK,   OK,    OK,  OK),
    ("program-list",                  "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("program-detail",                "GET",               "program", LOGIN, NO,  OK,   OK,    OK,  OK),
    ("program-lift",                  "GET",               "program", LOGIN, NO,  OK,   OK,    OK,  OK),
    ("program-step-variants",         "GET",               "program", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("program-promote-variant",       "POST",              "program", LOGIN, NO,  NO,   NO,    OK,  OK),
    ("touch-list",                    "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("nps-survey-list",               "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("nps-survey-detail",             "GET",               "survey", LOGIN, NO,   OK,   OK,    OK,  OK),
    ("nps-invitation-list",           "POST",              "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("nps-response-list",             "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("nps-summary-list",              "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    # Events: read by every role; marketers create and invite; anyone who keeps customers
    # records attendance (of the customers they see).
    ("event-list",                    "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
    ("event-list",                    "POST",              "-",      LOGIN, NO,   NO,   NO,    OK,  OK),
    ("event-detail",                  "GET",               "event",  LOGIN, NO,   OK,   OK,    OK,  OK),
    ("event-attendees",               "GET",               "event",  LOGIN, NO,   OK,   OK,    OK,  OK),
    ("event-invitations",             "POST",              "event",  LOGIN, NO,   NO,   NO,    OK,  OK),
    ("event-invitation-runs",         "GET",               "event",  LOGIN, NO,   NO,   NO,    OK,  OK),
    ("event-attendance",              "POST",              "event",  LOGIN, NO,   OK,   OK,    OK,  OK),
    # Themes over the answers the caller may see.
    ("nps-theme-list",                "GET",               "-",      LOGIN, NO,   OK,   OK,    OK,  OK),
]
# fmt: on


def url_names() -> set[str]:
    """Every named URL of the site, walked from the URLconf (the admin's own pages aside)."""
    names: set[str] = set()

    def walk(patterns, namespace: str | None) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    names.add("admin:index")  # the admin checks is_staff on every page itself
                    continue
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver().url_patterns, None)
    return names


def router_methods() -> dict[str, set[str]]:
    """Every API route on the router with the HTTP methods its viewset answers."""
    methods: dict[str, set[str]] = {}
    for _prefix, viewset, basename in router.registry:
        for route in router.get_routes(viewset):
            offered = {m.upper() for m, action in route.mapping.items() if hasattr(viewset, action)}
            if offered:
                name = route.name.format(basename=basename)
                methods.setdefault(name, set()).update(offered)
    return methods


def test_the_table_names_every_url_and_every_api_method():
    in_table = {name for name, *_ in TABLE}
    assert sorted(url_names() - in_table) == [], "add the new URLs to the table"
    assert sorted(in_table - url_names()) == [], "the table names URLs that are gone"
    listed: dict[str, set[str]] = {}
    for name, methods, *_ in TABLE:
        listed.setdefault(name, set()).update(methods.split())
    offered = router_methods()
    assert {name: listed[name] for name in offered} == offered


def outcome(response) -> str:
    """The table's word for an answer; a server error fails the test at once."""
    assert response.status_code < 500, response.content[:500]
    location = response.get("Location", "")
    if response.status_code == 401 or (
        response.status_code == 302 and location.startswith(("/accounts/login/", "/admin/login/"))
    ):
        return LOGIN
    return {403: NO, 404: GONE}.get(response.status_code, OK)


def signed_in(user) -> str:
    """The key of a fresh session of `user`, signed in once for every page the walk asks."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_every_role_gets_what_the_table_says(scene, manager, marketer, admin_user):
    people = {
        "anonymous": None, "no role": UserFactory(), "manager, own": manager,
        "manager, other's": manager, "marketer": marketer, "admin": admin_user,
    }  # fmt: skip
    tokens = {role: token_client(user).key for role, user in people.items() if user is not None}
    sessions = {role: signed_in(user) for role, user in people.items() if user is not None}
    wrong = []
    for name, methods, pk_of, *expected in TABLE:
        for role, want in zip(ROLES, expected, strict=True):
            url = url_for(name, pk_of, scene["other" if role == "manager, other's" else "own"])
            for method in methods.split():
                client = Client(raise_request_exception=False)
                if people[role] is not None:
                    if url.startswith("/api/v1/"):
                        client.defaults["HTTP_AUTHORIZATION"] = f"Token {tokens[role]}"
                    else:
                        # The role's one session: what a request does to it (a sign-out, a
                        # message) is rolled back below, and each request starts from it again.
                        client.cookies[settings.SESSION_COOKIE_NAME] = sessions[role]
                cache.clear()  # rate limits are not what this test is about
                with transaction.atomic():
                    # Each request is undone: a delete or merge must not change the next one.
                    send = getattr(client, method.lower())
                    if method == "GET":
                        response = send(url)
                    elif url.startswith("/api/"):
                        response = send(url, "{}", content_type="application/json")
                    else:
                        response = send(url, {})
                    transaction.set_rollback(True)
                got = outcome(response)
                if got != want:
                    wrong.append(f"{method} {url} as {role}: {got}, the table says {want}")
    assert wrong == [], "\n".join(wrong)


def test_the_api_schema_is_open_while_debugging(settings):
    settings.DEBUG = True

    assert Client().get("/api/schema/").status_code == 200
    assert Client().get("/api/docs/").status_code == 200
