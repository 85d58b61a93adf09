"""A marketer imports a CSV with two bad rows and downloads the rejected ones."""

import csv
import io

import pytest

from customers.models import Customer
from tests.conftest import start_worker, stop_worker
from tests.e2e.conftest import assert_accessible, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FILE = (
    "\ufeffExternal ID;First name;Last name;E-mail;Phone\n"
    "shop-1;Ada;Lovelace;ada@example.com;+14155552671\n"
    "shop-2;Bob;Bad mail;not-an-email;\n"
    "shop-3;Cy;Young;cy@example.com;\n"
    "shop-4;Dee;Bad phone;dee@example.com;12\n"
)


def test_a_marketer_imports_a_csv_and_downloads_the_rejected_rows(
    page, live_server, people, tmp_path
):
    upload = tmp_path / "contacts.csv"
    upload.write_text(FILE, encoding="utf-8")
    worker = start_worker(name="e2e-import")
    try:
        sign_in(page, live_server, "maria")
        page.get_by_role("link", name="Imports").click()
        assert_accessible(page)
        page.get_by_label("CSV file").set_input_files(str(upload))
        page.get_by_role("button", name="Upload").click()

        page.get_by_role("button", name="Import 4 rows").wait_for()
        assert page.get_by_text("Lovelace").first.is_visible()  # the preview
        # The check runs the import's own rules before anything is written.
        assert page.get_by_text("All 4 rows checked, nothing written yet").is_visible()
        refused = page.get_by_role("table", name="The refused rows").get_by_role("row")
        assert refused.nth(1).inner_text().split("\t") == [
            "3",
            "Column “E-mail”: Enter a valid email address.",
        ]
        assert_accessible(page)
        page.get_by_role("button", name="Import 4 rows").click()

        download_link = page.get_by_role("link", name="Download the 2 rejected rows")
        download_link.wait_for(timeout=60_000)
        assert_accessible(page)
        with page.expect_download() as waiting:
            download_link.click()
        rejected = list(
            csv.reader(io.StringIO(waiting.value.path().read_text(encoding="utf-8-sig")))
        )
    finally:
        stop_worker(worker)

    assert set(Customer.objects.values_list("external_id", flat=True)) == {"shop-1", "shop-3"}
    header, *rows = rejected
    assert header[:2] == ["row", "why"]
    assert [row[0] for row in rows] == ["3", "5"]
    assert "email" in rows[0][1].lower()
    assert "phone" in rows[1][1].lower()
