"""The embedded default serves a small team while a big CSV import runs: people sign in and log
calls through real web processes and the dashboard's tallies are counted while a real worker
imports, and nothing fails or is lost."""

import threading
import time

import pytest
import requests
from django.core.files.base import ContentFile

from bonding import services as bonding_services
from customers import imports, tasks
from customers.models import Customer, ImportJob, Interaction
from tests.conftest import start_web, stop_worker
from tests.programs.conftest import wait_until

ROWS = 12_000
CLIENTS = 4


def big_csv(rows: int) -> bytes:
    lines = ["external_id,first_name,last_name,email"]
    lines += [f"load-{n},First{n},Last{n},load{n}@example.com" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


class Team:
    """Account managers at work: each signs in on the page and logs calls through the API."""

    def __init__(self, base: str, keys: list[str], customer_ids: list[int]) -> None:
        self.base, self.keys, self.customer_ids = base, keys, customer_ids
        self.lock = threading.Lock()
        self.answers: list[tuple[str, int]] = []
        self.logged: list[int] = []
        self.stop = threading.Event()

    def record(self, what: str, status: int) -> None:
        with self.lock:
            self.answers.append((what, status))

    def work(self, key: str) -> None:
        n = 0
        while not self.stop.is_set():
            browser = requests.Session()
            browser.get(f"{self.base}/accounts/login/", timeout=60)
            signed_in = browser.post(
                f"{self.base}/accounts/login/",
                data={
                    "username": "manager",
                    "password": "pw",
                    "csrfmiddlewaretoken": browser.cookies["csrftoken"],
                },
                allow_redirects=False,
                timeout=60,
            )
            self.record("sign-in", signed_in.status_code)
            n += 1
            logged = requests.post(
                f"{self.base}/api/v1/interactions/",
                json={
                    "customer": self.customer_ids[n % len(self.customer_ids)],
                    "channel": "call",
                    "direction": "outbound",
                    "summary": f"Call {key[:6]}-{n}",
                },
                headers={"Authorization": f"Token {key}"},
                timeout=60,
            )
            self.record("log a call", logged.status_code)
            if logged.status_code == 201:
                with self.lock:
                    self.logged.append(logged.json()["id"])


@pytest.mark.slow
def test_people_sign_in_and_log_calls_during_a_big_import(
    transactional_db, marketer, manager, celery_worker_process
):
    customer_ids = [
        Customer.objects.create(first_name=f"Kept{n}", owner=manager).pk for n in range(5)
    ]
    keys = [bonding_services.issue_token(user=manager, name=f"client {n}")[1] for n in range(4)]
    job = imports.store_upload(upload=ContentFile(big_csv(ROWS), name="big.csv"), by=marketer)
    imports.set_mapping(job=job, mapping=imports.suggest_mapping(header=job.header))
    web, base = start_web(workers=2)
    team = Team(base, keys, customer_ids)
    threads = [threading.Thread(target=team.work, args=(key,)) for key in keys[:CLIENTS]]
    try:
        for thread in threads:
            thread.start()
        # The team is at work (each has signed in and logged a call) before the import starts.
        wait_until(lambda: len(team.answers) >= 2 * CLIENTS, timeout=60, what="the team")
        before = len(team.answers)
        imports.start_import(job=job, run_later=tasks.import_customers_task.delay)
        started = time.monotonic()
        tallies = 0
        # Meanwhile this process is beat: the dashboard's tallies are counted again and again.
        while ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).exists():
            assert time.monotonic() - started < 240, "the import did not finish in 4 minutes"
            bonding_services.refresh_dashboard_tallies()
            tallies += 1
            time.sleep(0.5)
        during = len(team.answers) - before
        print(
            f"\n{ROWS:,} rows in {time.monotonic() - started:.1f} s; {during} requests and "
            f"{tallies} tallies meanwhile"
        )
    finally:
        team.stop.set()
        for thread in threads:
            thread.join(timeout=120)
        stop_worker(web)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, (job.status, job.error)
    assert (job.created, job.rejected) == (ROWS, 0)
    assert Customer.objects.filter(external_id__startswith="load-").count() == ROWS
    # The team worked while the import ran, and every answer was a success.
    assert during >= CLIENTS
    assert tallies >= 2
    failures = [(what, status) for what, status in team.answers if status not in (201, 302)]
    assert failures == [], "".join(web.log[-40:])
    assert set(Interaction.objects.filter(pk__in=team.logged).values_list("pk", flat=True)) == set(
        team.logged
    )
    assert Interaction.objects.filter(summary__startswith="Call ").count() == len(team.logged)
