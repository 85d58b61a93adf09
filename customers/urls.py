from django.urls import path

from customers import (
    bulk_views,
    import_views,
    list_views,
    preference_views,
    reward_rule_views,
    segment_views,
    views,
)

app_name = "customers"

urlpatterns = [
    path("customers/", views.customer_list, name="list"),
    path("customers/new/", views.customer_create, name="create"),
    path("customers/topics/", preference_views.topics, name="topics"),
    path("customers/topics/<int:pk>/", preference_views.topic_edit, name="topic_edit"),
    path("customers/reward-rules/", reward_rule_views.reward_rules, name="reward_rules"),
    path(
        "customers/reward-rules/goodwill/",
        reward_rule_views.goodwill_limit,
        name="goodwill_limit",
    ),
    path(
        "customers/reward-rules/<int:pk>/",
        reward_rule_views.reward_rule_edit,
        name="reward_rule_edit",
    ),
    path(
        "customers/reward-rules/<int:pk>/off/",
        reward_rule_views.reward_rule_off,
        name="reward_rule_off",
    ),
    path("customers/what-they-value/", preference_views.value_answers, name="value_answers"),
    path("customers/<int:pk>/", views.customer_detail, name="detail"),
    path("customers/<int:pk>/edit/", views.customer_edit, name="edit"),
    path("customers/<int:pk>/delete/", views.customer_delete, name="delete"),
    path(
        "customers/<int:pk>/interactions/",
        views.quick_action,
        {"action": "interaction"},
        name="log_interaction",
    ),
    path(
        "customers/<int:pk>/complaints/",
        views.quick_action,
        {"action": "complaint"},
        name="open_complaint",
    ),
    path(
        "customers/<int:pk>/complaints/<int:complaint_id>/resolve/",
        views.complaint_resolve,
        name="resolve_complaint",
    ),
    path(
        "customers/<int:pk>/purchases/",
        views.quick_action,
        {"action": "purchase"},
        name="add_purchase",
    ),
    path(
        "customers/<int:pk>/contracts/",
        views.quick_action,
        {"action": "contract"},
        name="add_contract",
    ),
    path(
        "customers/<int:pk>/referrals/",
        views.quick_action,
        {"action": "referral"},
        name="add_referral",
    ),
    path(
        "customers/<int:pk>/rewards/", views.quick_action, {"action": "reward"}, name="add_reward"
    ),
    path(
        "customers/<int:pk>/rewards/redeem/",
        views.quick_action,
        {"action": "redeem"},
        name="redeem_reward",
    ),
    path(
        "customers/<int:pk>/rewards/<int:reward_id>/reverse/",
        views.reward_reverse,
        name="reverse_reward",
    ),
    path("customers/<int:pk>/tier/", views.quick_action, {"action": "tier"}, name="set_tier"),
    path("customers/accounts/new/", views.account_create, name="account_create"),
    path("customers/accounts/<int:pk>/", views.account_detail, name="account"),
    path("customers/accounts/<int:pk>/edit/", views.account_edit, name="account_edit"),
    path("customers/ladder/", views.ladder, name="ladder"),
    path("customers/duplicates/", views.duplicates, name="duplicates"),
    path("customers/merge/", views.merge, name="merge"),
    path(
        "customers/referrals/<int:pk>/convert/",
        views.referral_convert,
        name="convert_referral",
    ),
    path("follow-ups/<int:follow_up_id>/done/", views.follow_up_done, name="follow_up_done"),
    path("my-day/", views.my_day, name="my_day"),
    path("customers/bulk/", bulk_views.bulk, name="bulk"),
    path("customers/bulk/confirm/", bulk_views.bulk_confirm, name="bulk_confirm"),
    path("customers/columns/", segment_views.list_columns, name="list_columns"),
    path("customers/segments/", segment_views.segment_list, name="segments"),
    path(
        "customers/segments/<int:pk>/count/",
        segment_views.segment_count,
        name="segment_count",
    ),
    path(
        "customers/segments/<int:pk>/delete/",
        segment_views.segment_delete,
        name="segment_delete",
    ),
    path("customers/lists/", list_views.list_index, name="lists"),
    path("customers/lists/add/", list_views.add_to_list, name="add_to_list"),
    path("customers/lists/<int:pk>/delete/", list_views.list_delete, name="list_delete"),
    path("customers/export.csv", import_views.customer_export, name="export"),
    path("imports/", import_views.import_list, name="imports"),
    path("imports/<int:pk>/", import_views.import_mapping, name="import_mapping"),
    path("imports/<int:pk>/start/", import_views.import_start, name="import_start"),
    path("imports/<int:pk>/progress/", import_views.import_progress, name="import_progress"),
    path("imports/<int:pk>/result/", import_views.import_result, name="import_result"),
    path("imports/<int:pk>/rejected.csv", import_views.import_rejected, name="import_rejected"),
]
