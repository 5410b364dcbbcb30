"""SQLite as tuned for throughput: pooled connections, the durability setting, and write
transactions queued on a lock file instead of SQLite's sleeping busy handler."""

import threading
import time

import pytest

from flux_recon.models import Tenant, db
from flux_recon.models.connections import open_database, upgrade
from flux_recon.models.transactions import write_transaction


@pytest.fixture
def sqlite(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'perf.sqlite3'}")
    upgrade(database)
    db.initialize(database)
    yield database
    database.close_all()


def test_connections_are_pooled_and_keep_their_pragmas(sqlite):
    sqlite.connect(reuse_if_open=True)
    first = sqlite.connection()
    sqlite.close()
    sqlite.connect()
    assert sqlite.connection() is first  # back from the pool, not reopened
    assert sqlite.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert sqlite.execute_sql("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    sqlite.close()


def test_synchronous_full_can_be_chosen_and_nonsense_is_refused(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'full.sqlite3'}", sqlite_synchronous="FULL")
    database.connect()
    assert database.execute_sql("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    database.close_all()
    with pytest.raises(ValueError, match="SQLITE_SYNCHRONOUS"):
        open_database(f"sqlite:///{tmp_path / 'x.sqlite3'}", sqlite_synchronous="off")


def test_write_transactions_take_turns_and_all_commit(sqlite, tmp_path):
    inside = []
    overlaps = []

    def writer(n):
        with write_transaction():
            inside.append(n)
            if len(inside) > 1:
                overlaps.append(tuple(inside))
            Tenant.create(id=f"tn_{n}", name=f"writer {n}")
            time.sleep(0.01)
            inside.remove(n)
        db.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not overlaps
    assert Tenant.select().count() == 8
    assert (tmp_path / "perf.sqlite3.write-lock").exists()
    db.close()


def test_a_failed_write_transaction_releases_the_queue(sqlite):
    with pytest.raises(RuntimeError), write_transaction():
        Tenant.create(id="tn_gone", name="rolled back")
        raise RuntimeError("boom")
    done = threading.Event()

    def next_writer():
        with write_transaction():
            Tenant.create(id="tn_next", name="next")
        db.close()
        done.set()

    threading.Thread(target=next_writer).start()
    assert done.wait(5), "the queue was left locked"
    assert [t.id for t in Tenant.select()] == ["tn_next"]
    db.close()
