"""Which database failures mean "the database cannot serve now; try again later" rather
than a bug: one answer for every backend and driver, by error type and by SQLSTATE class."""

from __future__ import annotations

# SQLSTATE classes of a database that refuses or drops work through no fault of the query:
# 08 connection exception; 53 insufficient resources ("too many clients", disk full);
# 57 operator intervention ("shutting down", 57P01 terminated by an administrator, query
# cancelled); 55 object not in prerequisite state ("database is not currently accepting
# connections", and 55P03 lock not available: both pass, so a retry may succeed).
UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "53", "55", "57"})
_CHAIN_DEPTH = 8  # SQLAlchemy error -> adapted driver error -> driver error, and a margin


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` (or what it wraps) says the database is unreachable or refusing."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    for error in _chain(exc):
        if isinstance(
            error, (OperationalError, InterfaceError, PoolTimeout, TimeoutError, OSError)
        ) or _is_driver_interface_error(error):
            return True
        sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate[:2] in UNAVAILABLE_SQLSTATE_CLASSES:
            return True
    return False


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc`, the driver error SQLAlchemy wraps (`orig`), and their causes."""
    seen: list[BaseException] = []
    error: BaseException | None = exc
    while error is not None and len(seen) < _CHAIN_DEPTH and error not in seen:
        seen.append(error)
        error = getattr(error, "orig", None) or error.__cause__
    return seen


def _is_driver_interface_error(error: BaseException) -> bool:
    # asyncpg's own InterfaceError (ConnectionDoesNotExistError: the connection was closed
    # under a query) when it reaches us unwrapped; asyncpg is absent with SQLite alone.
    try:
        from asyncpg.exceptions import InterfaceError as AsyncpgInterfaceError
    except ImportError:
        return False
    return isinstance(error, AsyncpgInterfaceError)
