"""Which tests the SQLite lane of `make test` runs (bin/with-embedded-defaults).

`make run` is SQLite, Celery's filesystem broker and a file cache: the tests of what a
newcomer does first (enroll, dispatch, deliver, answer a survey, import, the dashboard) run
on it too. A test in these files that needs PostgreSQL says so with
`@pytest.mark.postgres("why")`, or is named in POSTGRES_ONLY below with the reason, and is left
out of this lane.
"""

EMBEDDED = (
    "tests/bonding/test_shared_rate_limit.py",
    "tests/bonding/test_sign_in_lockout.py",
    "tests/bonding/test_dashboard.py",
    "tests/bonding/test_dashboard_audience.py",
    "tests/bonding/test_deliverability.py",
    "tests/bonding/test_login.py",
    "tests/bonding/test_sqlite_under_load.py",
    "tests/customers/test_import_check.py",
    "tests/customers/test_import_matching.py",
    "tests/customers/test_imports.py",
    "tests/customers/test_demo.py",
    "tests/customers/test_referral_page.py",
    "tests/customers/test_referral_conversion.py",
    "tests/customers/test_tier_review_migration.py",
    "tests/customers/test_legacy_reward_migration.py",
    "tests/customers/test_dropping.py",
    "tests/customers/test_purchase_category_index.py",
    "tests/customers/test_preference_page.py",
    "tests/customers/test_timeline_language.py",
    "tests/customers/test_ladder_language.py",
    "tests/programs/test_touch_error_language.py",
    "tests/programs/test_content_error_language.py",
    "tests/customers/test_row_errors_language.py",
    "tests/programs/test_topics_and_frequency.py",
    "tests/programs/test_held_out_index.py",
    "tests/nps/test_public.py",
    "tests/events/test_answers.py",
    "tests/events/test_public.py",
    "tests/events/test_invitations.py",
    "tests/events/test_invite_runs.py",
    "tests/events/test_cancellation.py",
    "tests/nps/test_loop.py",
    "tests/nps/test_theming.py",
    "tests/nps/test_themes_page.py",
    "tests/programs/test_enroll.py",
    "tests/programs/test_enroll_batches.py",
    "tests/programs/test_delivery_batch.py",
    "tests/programs/test_delivery_embedded.py",
    "tests/programs/test_delivery_every_step.py",
    "tests/programs/test_promoter_ask.py",
    "tests/programs/test_public.py",
    "tests/programs/test_click_tracking.py",
    "tests/programs/test_step_variants.py",
    "tests/programs/test_held_touches.py",
    "tests/programs/test_sms_webhooks.py",
    "tests/programs/test_event_intake.py",
    "tests/programs/test_unmatched_replies.py",
    "tests/programs/test_unreadable_replies.py",
    "tests/programs/test_unsubscribe_rate_limit.py",
    "tests/webhooks/test_delivery.py",
    "tests/webhooks/test_retention.py",
)

POSTGRES_ONLY = {
    "tests/customers/test_imports.py::"
    "test_a_big_file_imports_without_holding_it_in_memory": "its 20,000 rows take a minute "
    "on SQLite; test_sqlite_under_load imports 12,000 there",
    "tests/bonding/test_dashboard.py::"
    "test_the_page_reads_one_snapshot_outside_a_test_transaction": (
        "asserts PostgreSQL's REPEATABLE READ READ ONLY snapshot"
    ),
    "tests/bonding/test_dashboard.py::"
    "test_the_page_reads_in_one_snapshot_on_postgresql_and_takes_no_write_lock_on_sqlite": (
        "checks the PostgreSQL snapshot for real and SQLite's by pretending"
    ),
    "tests/programs/test_delivery_every_step.py::"
    "test_a_batch_runs_one_query_per_touch_and_a_fixed_number_more": (
        "pins PostgreSQL's statements; SQLite claims and settles a batch with others"
    ),
    "tests/programs/test_enroll_batches.py::test_writer_threads_only_for_more_than_one_batch": (
        "writer threads are PostgreSQL's: SQLite has one writer and enrolls on one connection"
    ),
}
