"""The PostgreSQL pool skips its liveness round trip only for a connection handed back
moments ago; a connection the server dropped is never handed out twice."""

import peewee
import pytest
from playhouse.db_url import parse

from flux_recon.models.connections import RecentlyUsedPostgresqlDatabase, open_database
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="the pool under test is PostgreSQL's")


@pytest.fixture
def pool(postgres_schema):
    database = open_database(postgres_schema, max_connections=4)
    assert isinstance(database, RecentlyUsedPostgresqlDatabase)
    yield database
    database.close_all()


def backend_pid(database) -> int:
    return database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]


def terminate(postgres_url: str, pid: int) -> None:
    """End a backend from another connection, as a server restart or an admin would."""
    killer = peewee.PostgresqlDatabase(**parse(postgres_url))
    with killer.connection_context():
        killer.execute_sql("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_connection_reused_at_once_skips_the_check_and_an_idle_one_is_checked(pool, postgres_schema):
    pool.connect()
    first = backend_pid(pool)
    pool.close()

    pool.connect()  # the same connection again (the next test shows it is taken unchecked)
    assert backend_pid(pool) == first
    pool.close()

    terminate(postgres_schema, first)
    conn = pool._connections[0][2]
    conn._flux_checked_in -= RecentlyUsedPostgresqlDatabase.TRUST_SECONDS + 1  # idle for a while
    pool.connect()  # checked (SELECT 1 fails), dropped, replaced
    assert backend_pid(pool) != first
    pool.close()


def test_a_dropped_connection_fails_one_request_and_is_then_replaced(pool, postgres_schema):
    pool.connect()
    first = backend_pid(pool)
    pool.close()
    terminate(postgres_schema, first)

    pool.connect()  # trusted: handed back less than a second ago
    with pytest.raises((peewee.OperationalError, peewee.InterfaceError)):
        backend_pid(pool)
    pool.close()

    pool.connect()
    assert backend_pid(pool) != first
    pool.close()
