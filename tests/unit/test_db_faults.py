"""Which database errors are `Service unavailable`: the driver's errors as SQLAlchemy wraps
them (asyncpg's adapted error inside a DBAPIError), classified by SQLSTATE class and type."""

import asyncpg.exceptions as pg
import pytest
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi
from sqlalchemy.exc import DBAPIError

from sharemyshows_rt.errors import from_exception


def wrapped(driver_error: Exception) -> DBAPIError:
    """The error SQLAlchemy raises for `driver_error` from asyncpg."""
    adapted = AsyncAdapt_asyncpg_dbapi.Error(str(driver_error), driver_error)
    adapted.__cause__ = driver_error
    return DBAPIError("SELECT 1", None, adapted)


@pytest.mark.parametrize(
    "driver_error",
    [
        pg.ObjectNotInPrerequisiteStateError("database is not currently accepting connections"),
        pg.TooManyConnectionsError("sorry, too many clients already"),
        pg.CannotConnectNowError("the database system is shutting down"),
        pg.AdminShutdownError("terminating connection due to administrator command"),
        pg.ConnectionFailureError("connection failure"),
        pg.LockNotAvailableError("could not obtain lock"),
        pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        ConnectionResetError("reset by peer"),
    ],
)
def test_refusals_are_service_unavailable(driver_error):
    assert from_exception(wrapped(driver_error)).message == "Service unavailable"


@pytest.mark.parametrize(
    "driver_error",
    [
        pg.UniqueViolationError("duplicate key value violates unique constraint"),
        pg.UndefinedTableError("relation does not exist"),
        pg.DataError("invalid input"),
    ],
)
def test_bugs_stay_internal_errors(driver_error):
    assert from_exception(wrapped(driver_error)).message == "Internal error"
