"""A fault test whose broker or Redis is missing fails: a CI that lost them cannot pass."""

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _run_pytest(*tests: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, **env}
    environment.pop("REDIS_PORT", None)
    environment.pop("BONDING_LANE", None)
    # Its own SQLite database: a second test database on our PostgreSQL would replace ours.
    environment["DATABASE_URL"] = "sqlite:///:memory:"
    # --no-migrations: the tables straight from the models. The run is about the missing
    # services, and migrating from nothing was most of its minute.
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfEs"]
    return subprocess.run(
        [*command, "--no-migrations", *tests],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _outcomes(output: str) -> dict[str, int]:
    """{"failed": 1, "errors": 1, ...} from pytest's last line; a fixture's failure is an error."""
    last = output.strip().splitlines()[-1]
    return {word: int(number) for number, word in re.findall(r"(\d+) (\w+)", last)}


@pytest.mark.slow
def test_worker_and_redis_tests_fail_when_the_redis_broker_is_missing():
    run = _run_pytest(
        "tests/programs/test_faults_smtp.py::test_deferred_touches_are_retried_and_delivered_once",
        "tests/bonding/test_celery.py::test_a_task_round_trips_through_redis_and_a_real_worker",
        CELERY_BROKER_URL="filesystem://",
    )

    assert run.returncode == 1, run.stdout + run.stderr
    outcomes = _outcomes(run.stdout)
    # Neither passes nor skips: the fault test's fixture errors, the round trip fails.
    assert "passed" not in outcomes and "skipped" not in outcomes, run.stdout
    errors = outcomes.get("errors", 0) + outcomes.get("error", 0)
    assert errors + outcomes.get("failed", 0) == 2, run.stdout
    assert "needs the Redis broker of bin/with-test-services" in run.stdout


@pytest.mark.slow
def test_the_redis_outage_test_fails_when_it_does_not_know_the_redis_port():
    run = _run_pytest(
        "tests/programs/test_faults_redis_down.py",
        CELERY_BROKER_URL=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:1/0"),
    )

    assert run.returncode == 1, run.stdout + run.stderr
    # Failed in the test (Redis broker present) or in its fixture (absent): never skipped.
    assert sum(_outcomes(run.stdout).values()) == 1, run.stdout
    assert set(_outcomes(run.stdout)) <= {"failed", "error"}, run.stdout
    assert "needs the throwaway Redis of bin/with-test-services (REDIS_PORT)" in run.stdout
