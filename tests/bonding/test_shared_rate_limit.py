"""Rate limits hold across processes: they are counted in the cache every process shares."""

import urllib.error
import urllib.request

import pytest

from tests.conftest import start_web, stop_worker


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (loopback)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.slow
def test_the_survey_limit_holds_across_two_web_processes(transactional_db):
    servers = [start_web(SURVEY_RATE_PER_MINUTE="6") for _ in range(2)]
    try:
        # Turn about, one request to each process: counted per process, 12 would get through.
        answers = [status_of(f"{servers[n % 2][1]}/s/no-such-token/") for n in range(14)]
    finally:
        for process, _ in servers:
            stop_worker(process)

    assert answers == [404] * 6 + [429] * 8
