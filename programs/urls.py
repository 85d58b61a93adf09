from django.urls import path

from programs import (
    click_page,
    lift_page,
    step_views,
    unmatched,
    unsubscribe_page,
    variant_page,
    views,
    webhooks,
)

app_name = "programs"

urlpatterns = [
    path("programs/", views.program_list, name="list"),
    path("programs/new/", views.program_create, name="create"),
    path("programs/failures/", views.failures, name="failures"),
    path("programs/enroll/", views.enroll_choose, name="enroll_choose"),
    path("programs/touches/<int:touch_id>/retry/", views.touch_retry, name="retry"),
    path("programs/touches/<int:touch_id>/dismiss/", views.touch_dismiss, name="dismiss"),
    path("programs/replies/", unmatched.reply_list, name="unmatched_replies"),
    path("programs/replies/<int:pk>/assign/", unmatched.reply_assign, name="assign_reply"),
    path("programs/replies/<int:pk>/dismiss/", unmatched.reply_dismiss, name="dismiss_reply"),
    path("programs/letters/", views.letter_batches, name="letters"),
    path("programs/letters/<int:pk>/", views.letter_batch, name="letter_batch"),
    path("programs/letters/<int:pk>/posted/", views.letter_batch_posted, name="letters_posted"),
    path("programs/<int:pk>/", views.program_edit, name="edit"),
    path("programs/<int:pk>/delete/", views.program_delete, name="delete"),
    path("programs/<int:pk>/funnel/", views.funnel, name="funnel"),
    path("programs/<int:pk>/lift/", lift_page.lift_page, name="lift"),
    path("programs/<int:pk>/lift.csv", lift_page.lift_csv, name="lift_csv"),
    path("programs/<int:pk>/enroll/", views.enroll_segment, name="enroll"),
    path("programs/<int:pk>/enroll/progress/", views.enroll_progress, name="enroll_progress"),
    path("programs/<int:pk>/steps/new/", step_views.step_create, name="step_create"),
    path("programs/<int:pk>/steps/preview/", step_views.step_preview, name="step_preview"),
    path("programs/<int:pk>/steps/test-send/", step_views.step_test_send, name="step_test_send"),
    path("programs/<int:pk>/steps/<int:step_id>/", step_views.step_edit, name="step_edit"),
    path(
        "programs/<int:pk>/steps/<int:step_id>/delete/", step_views.step_delete, name="step_delete"
    ),
    path("programs/<int:pk>/steps/<int:step_id>/move/", step_views.step_move, name="step_move"),
    path(
        "programs/<int:pk>/steps/<int:step_id>/variants/",
        variant_page.step_variants,
        name="step_variants",
    ),
    path(
        "programs/<int:pk>/steps/<int:step_id>/variants/promote/",
        variant_page.promote_variant,
        name="promote_variant",
    ),
    path("u/<str:token>/", unsubscribe_page.unsubscribe, name="unsubscribe"),
    path("u/<str:token>/choose/", unsubscribe_page.unsubscribe_choose, name="unsubscribe_choose"),
    path("c/<str:token>/", click_page.click, name="click"),
    path("sms/inbound/", unsubscribe_page.sms_inbound, name="sms_inbound"),
    path("sms/twilio/status/", webhooks.twilio_status, name="twilio_status"),
    path("sms/twilio/inbound/", webhooks.twilio_inbound, name="twilio_inbound"),
]
