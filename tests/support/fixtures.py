"""The plumbing every suite shares, as a pytest plugin (tests/conftest.py loads it): a
service the tests need is required under CI=true and skipped for otherwise, the PostgreSQL
server the suites make their databases on, and the end of the servers' logs in the report
of a failing test."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

from .database import postgres_problem
from .server import ShowsLogs
from .settings import POSTGRES_ADMIN_URL


def unavailable(problem: str, needs: str = "it") -> NoReturn:
    """A missing service or tool: a failure under CI=true (CI must run every test), a skip
    otherwise."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{problem}; CI=true requires {needs}", pytrace=False)
    pytest.skip(problem)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """The PostgreSQL server to make databases on (TEST_DATABASE_URL)."""
    problem = postgres_problem(POSTGRES_ADMIN_URL)
    if problem is not None:
        unavailable(
            f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable ({problem}); set "
            "TEST_DATABASE_URL to run the PostgreSQL tests",
            "it (TEST_DATABASE_URL)",
        )
    return POSTGRES_ADMIN_URL


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test shows the end of the logs of the servers its fixtures started."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    shown: set[int] = set()  # a shared rig is also the value of its per-test fixture
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, ShowsLogs) and id(value) not in shown:
            shown.add(id(value))
            report.sections.extend(value.server_logs())
