"""Back office for the customers app: every table, safe with a million customers."""

from django import forms
from django.contrib import admin, messages
from django.core.validators import RegexValidator
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from customers import queries, records, valuation
from customers import tiers as tier_admin
from customers.models import (
    Account,
    BondChange,
    Complaint,
    ConsentChange,
    Contract,
    Customer,
    FollowUp,
    ImportJob,
    Interaction,
    Purchase,
    Referral,
    Reward,
    RewardRule,
    Tier,
    TierChange,
    TimelineEntry,
    ValueModel,
)

# Searching a related customer: these columns carry trigram indexes on PostgreSQL.
CUSTOMER_SEARCH = ("customer__last_name", "customer__first_name", "customer__email")
# The most rows any admin action works through in one request.
ACTION_LIMIT = 500


class ReadOnlyAdmin(admin.ModelAdmin):
    """History written by the services: shown as it happened, never edited or removed by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class BigTableAdmin(admin.ModelAdmin):
    """A table that may hold millions of rows: no unfiltered count, no select of all customers."""

    show_full_result_count = False
    list_per_page = 50


class ReadOnlyHistoryAdmin(ReadOnlyAdmin, BigTableAdmin):
    """A long, append-only history."""


class ColourInput(forms.TextInput):
    input_type = "color"


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    """The ladder: marketers rename, recolour, add and remove rungs (customers step down)."""

    list_display = ("rank", "name", "colour", "swatch", "slug", "description")
    list_display_links = ("rank",)
    list_editable = ("name", "colour")
    prepopulated_fields = {"slug": ("name",)}
    ordering = ("rank",)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "colour":
            field.widget = ColourInput()
            field.validators.append(
                RegexValidator(r"^#[0-9a-fA-F]{6}$", "Give a colour as #rrggbb, e.g. #34d399.")
            )
        return field

    @admin.display(description="")
    def swatch(self, tier: Tier) -> str:
        return format_html(
            '<span style="display:inline-block;width:2em;height:1em;background:{}"></span>',
            tier.colour,
        )

    def save_model(self, request, obj, form, change):
        tier_admin.save_tier(tier=obj, data=form.cleaned_data)

    def has_delete_permission(self, request, obj=None) -> bool:
        # The ladder keeps at least one rung for customers to stand on.
        return super().has_delete_permission(request, obj) and Tier.objects.count() > 1

    def get_deleted_objects(self, objs, request):
        # Its customers step down a rung instead of blocking the delete (or being listed, all
        # million of them): say how many will move.
        tiers = list(objs)
        counts = dict(
            Customer.objects.filter(tier__in=tiers)
            .values("tier")
            .annotate(n=Count("id"))
            .values_list("tier", "n")
        )
        summary = [
            f"{tier.name} (its {counts.get(tier.pk, 0)} customers step down a rung)"
            for tier in tiers
        ]
        return summary, {Tier._meta.verbose_name_plural: len(tiers)}, set(), []

    def delete_model(self, request, obj):
        tier_admin.remove_tier(tier=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for tier in queryset.order_by("-rank"):
            tier_admin.remove_tier(tier=tier, by=request.user)


@admin.register(Account)
class AccountAdmin(BigTableAdmin):
    """Companies that B2B customers work for."""

    list_display = ("name", "industry", "website", "owner", "created_at")
    list_filter = ("owner",)
    search_fields = ("name",)
    autocomplete_fields = ("owner",)
    list_select_related = ("owner",)
    readonly_fields = ("created_at", "updated_at")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "website":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class LiveFilter(admin.SimpleListFilter):
    """Live customers, or the soft-deleted ones kept as tombstones for sync clients."""

    title = "record"
    parameter_name = "record"

    def lookups(self, request, model_admin):
        return (("live", "Live"), ("deleted", "Deleted"))

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(Customer)
class CustomerAdmin(BigTableAdmin):
    """Every customer; writes go through the services so consent and the ladder stay honest."""

    list_display = (
        "__str__",
        "email",
        "tier",
        "bond_stage",
        "relationship",
        "owner",
        "account",
        "lifetime_value",
        "churn_risk",
        "updated_at",
    )
    list_filter = (
        LiveFilter,
        "tier",
        "bond_stage",
        "audience",
        "relationship",
        "preferred_channel",
        "owner",
    )
    search_fields = ("last_name", "first_name", "email", "phone", "=external_id")
    autocomplete_fields = ("account", "owner")
    actions = ("refresh",)
    value_fields = (
        "lifetime_value",
        "predicted_value_12m",
        "probability_alive",
        "share_of_wallet",
        "churn_risk",
        "churn_reasons",
        "rfm_segment",
        "value_method",
        "value_refreshed_at",
        "first_purchase_on",
        "last_purchase_on",
        "nps_latest",
        "nps_latest_at",
    )
    ladder_fields = ("tier", "highest_tier", "manual_tier_until", "bond_stage", "tier_history")
    record_fields = ("deleted_at", "merged_into", "created_at", "updated_at", "related")
    readonly_fields = value_fields + ladder_fields + record_fields
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "external_id",
                    "first_name",
                    "last_name",
                    "email",
                    "phone",
                    "postal_address",
                    "timezone",
                )
            },
        ),
        (
            "Relationship",
            {
                "fields": (
                    "account",
                    "audience",
                    "relationship",
                    "partner_kind",
                    "owner",
                    "estimated_wallet",
                )
            },
        ),
        (
            "Contact",
            {
                "fields": (
                    "preferred_channel",
                    "consent_email",
                    "consent_sms",
                    "consent_phone",
                    "consent_letter",
                )
            },
        ),
        (
            "Ladder",
            {
                "fields": ladder_fields,
                "description": "Rules place customers; move one by hand, with a reason, "
                "from their page.",
            },
        ),
        ("Value", {"fields": value_fields, "classes": ("collapse",)}),
        ("Record", {"fields": record_fields}),
    )

    def get_queryset(self, request):
        # Both the list and the change page: (list_select_related is ignored once this is set).
        return (
            super().get_queryset(request).select_related("tier", "highest_tier", "owner", "account")
        )

    @admin.display(description="Latest tier moves")
    def tier_history(self, customer: Customer) -> str:
        if customer.pk is None:
            return "—"
        return (
            format_html_join(
                "",
                "<div>{} {}: {} → {} ({})</div>",
                (
                    (
                        f"{change.changed_at:%Y-%m-%d}",
                        change.get_direction_display(),
                        change.from_tier or "—",
                        change.to_tier or "—",
                        change.shown_reason,
                    )
                    for change in queries.tier_history(customer, limit=10)
                ),
            )
            or "—"
        )

    @admin.display(description="Records")
    def related(self, customer: Customer) -> str:
        if customer.pk is None:
            return "—"
        links = (
            (
                reverse(f"admin:customers_{model._meta.model_name}_changelist"),
                lookup,
                customer.pk,
                model._meta.verbose_name_plural,
            )
            for model, lookup in (
                (TimelineEntry, "customer__id__exact"),
                (Purchase, "customer__id__exact"),
                (Interaction, "customer__id__exact"),
                (Complaint, "customer__id__exact"),
                (Contract, "customer__id__exact"),
                (Referral, "referrer__id__exact"),
                (Reward, "customer__id__exact"),
                (FollowUp, "customer__id__exact"),
                (ConsentChange, "customer__id__exact"),
            )
        )
        return format_html_join(" · ", '<a href="{}?{}={}">{}</a>', links)

    def save_model(self, request, obj, form, change):
        if change:
            # The form already wrote its values onto obj; the service compares with the stored
            # row to record each consent given or withdrawn.
            stored = Customer.objects.select_related("tier").get(pk=obj.pk)
            records.update_customer(
                customer=stored, data=form.cleaned_data, by=request.user, consent_source="admin"
            )
        else:
            created = records.create_customer(
                data=form.cleaned_data, by=request.user, consent_source="admin"
            )
            obj.pk = created.pk
            obj._state.adding = False

    def get_deleted_objects(self, objs, request):
        # A soft delete: the rows stay (and are not listed, however many a customer has).
        customers = list(objs)
        return [str(c) for c in customers], {"customers": len(customers)}, set(), []

    def delete_model(self, request, obj):
        records.delete_customer(customer=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for customer in queryset.filter(deleted_at__isnull=True)[:ACTION_LIMIT]:
            records.delete_customer(customer=customer, by=request.user)

    @admin.action(description="Re-run the ladder rules and value figures")
    def refresh(self, request, queryset):
        customers = list(queryset.select_related("tier", "highest_tier")[: ACTION_LIMIT + 1])
        for customer in customers[:ACTION_LIMIT]:
            valuation.refresh_customer(customer=customer)
        if len(customers) > ACTION_LIMIT:
            self.message_user(
                request,
                f"Refreshed the first {ACTION_LIMIT}; the nightly refresh does the rest.",
                messages.WARNING,
            )
        else:
            self.message_user(request, f"Refreshed {len(customers)} customers.")


@admin.register(ConsentChange)
class ConsentChangeAdmin(ReadOnlyHistoryAdmin):
    """When and how each consent was given or withdrawn: the proof, never edited."""

    list_display = ("customer", "channel", "granted", "source", "changed_by", "changed_at")
    list_filter = ("channel", "granted")
    search_fields = CUSTOMER_SEARCH
    list_select_related = ("customer", "changed_by")


@admin.register(TierChange)
class TierChangeAdmin(ReadOnlyHistoryAdmin):
    """Every move on the ladder with its rule and reason."""

    list_display = (
        "customer",
        "from_tier",
        "to_tier",
        "direction",
        "rule",
        "reason",
        "changed_by",
        "changed_at",
    )
    list_filter = ("direction", "to_tier")
    search_fields = CUSTOMER_SEARCH
    list_select_related = ("customer", "from_tier", "to_tier", "changed_by")


@admin.register(BondChange)
class BondChangeAdmin(ReadOnlyHistoryAdmin):
    """Every move between Cross's bonding stages."""

    list_display = ("customer", "from_stage", "to_stage", "rule", "reason", "changed_at")
    list_filter = ("to_stage",)
    search_fields = CUSTOMER_SEARCH
    list_select_related = ("customer",)


@admin.register(Interaction)
class InteractionAdmin(BigTableAdmin):
    """Calls, meetings and messages account managers logged."""

    list_display = (
        "summary",
        "customer",
        "channel",
        "direction",
        "sentiment",
        "author",
        "occurred_at",
    )
    list_filter = ("channel", "direction", "sentiment")
    search_fields = CUSTOMER_SEARCH
    list_select_related = ("customer", "author")
    autocomplete_fields = ("customer", "author")
    readonly_fields = ("created_at",)


@admin.register(Complaint)
class ComplaintAdmin(BigTableAdmin):
    """Complaints and how they were resolved."""

    list_display = (
        "category",
        "customer",
        "severity",
        "status",
        "owner",
        "opened_at",
        "resolved_at",
    )
    list_filter = ("status", "severity")
    search_fields = CUSTOMER_SEARCH + ("category",)
    list_select_related = ("customer", "owner")
    autocomplete_fields = ("customer", "owner")


@admin.register(Purchase)
class PurchaseAdmin(BigTableAdmin):
    """What customers bought (negative amounts are refunds)."""

    list_display = ("customer", "amount", "currency", "purchased_on", "product_category")
    list_filter = ("currency",)
    search_fields = CUSTOMER_SEARCH + ("=external_id",)
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)
    readonly_fields = ("created_at",)


@admin.register(Contract)
class ContractAdmin(BigTableAdmin):
    """Contracts, their ends and how their renewals went."""

    list_display = ("title", "customer", "starts_on", "ends_on", "value", "renewal_status")
    list_filter = ("renewal_status",)
    search_fields = CUSTOMER_SEARCH + ("title",)
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)
    readonly_fields = ("created_at",)


@admin.register(Referral)
class ReferralAdmin(BigTableAdmin):
    """Customers recommending people, and whether those people bought."""

    list_display = (
        "code",
        "referrer",
        "referred_name",
        "referred_customer",
        "status",
        "created_at",
        "converted_at",
    )
    list_filter = ("status",)
    search_fields = ("=code", "referrer__last_name", "referrer__email", "referred_email")
    list_select_related = ("referrer", "referred_customer")
    autocomplete_fields = ("referrer", "referred_customer")


@admin.register(Reward)
class RewardAdmin(BigTableAdmin):
    """The reward ledger's lines: earned, redeemed, expired and reversed."""

    list_display = ("reason", "customer", "movement", "cause", "value", "unit", "given_at")
    list_filter = ("movement", "cause", "unit")
    search_fields = CUSTOMER_SEARCH
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)


@admin.register(RewardRule)
class RewardRuleAdmin(admin.ModelAdmin):
    """What customers earn when a referral converts or a survey is answered."""

    list_display = ("event", "value", "unit", "active", "updated_at")


class OpenFilter(admin.SimpleListFilter):
    """Follow-ups still to do, or done."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("open", "To do"), ("done", "Done"))

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(done_at__isnull=True)
        if self.value() == "done":
            return queryset.filter(done_at__isnull=False)
        return queryset


@admin.register(FollowUp)
class FollowUpAdmin(BigTableAdmin):
    """Account managers' to-do lists."""

    list_display = ("reason", "customer", "assignee", "due_at", "done_at", "source")
    list_filter = (OpenFilter, "assignee")
    search_fields = CUSTOMER_SEARCH
    list_select_related = ("customer", "assignee")
    autocomplete_fields = ("customer", "assignee", "done_by")


@admin.register(TimelineEntry)
class TimelineEntryAdmin(ReadOnlyHistoryAdmin):
    """Every customer's timeline, as the services wrote it."""

    list_display = ("title", "customer", "kind", "actor", "occurred_at")
    list_filter = ("kind",)
    search_fields = CUSTOMER_SEARCH
    list_select_related = ("customer", "actor")


@admin.register(ValueModel)
class ValueModelAdmin(ReadOnlyAdmin):
    """The nightly fits of the lifetime-value models."""

    list_display = ("fitted_at", "customers", "bg_nbd_params", "gamma_gamma_params")


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    """CSV imports: who uploaded what, and how each ended (chunks are never shown)."""

    list_display = (
        "filename",
        "created_by",
        "created_at",
        "status",
        "total_rows",
        "created",
        "updated",
        "unchanged",
        "rejected",
    )
    list_filter = ("status",)
    list_select_related = ("created_by",)
    exclude = ("mapping", "header")
