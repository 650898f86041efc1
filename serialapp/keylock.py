"""A lock per Idempotency-Key that the operating system or the database lets go of when the
process holding it dies.

The idempotency record says whether a request with a key has finished; it cannot say whether
an unfinished one is still running or died in a crash. A timeout can only guess, and guessed
wrong for minutes after a crash. So the request holds this lock while it runs: a retry that
gets the lock knows the first attempt is over (finished, or dead mid-way, and then resumable),
and a retry that cannot get it waits only as long as the first attempt really runs.

- PostgreSQL: a session advisory lock on a connection of its own. The server drops it when
  that connection closes, which a killed process's connection does at once.
- SQLite (one host by nature): flock() on a file beside the database. The kernel drops it
  when the process dies. flock belongs to an open file, so two threads of one process
  exclude each other too. Keys share a fixed set of lock files (stripes) so that no file is
  ever deleted while another process may be opening it; two keys on one stripe only wait
  for each other, which the short critical sections make cheap."""
import fcntl
import hashlib
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

STRIPES = 256
POLL_S = 0.02


class Timeout(Exception):
    """The lock stayed taken for the whole wait: the first attempt is still running."""


def _number(user_id: int, key: str) -> int:
    digest = hashlib.sha256(f"{user_id}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def held(engine, user_id: int, key: str, wait_s: float):
    """Hold the lock for (user, key) for the with-block; Timeout after `wait_s`. On
    PostgreSQL the block gets the lock's connection (autocommit), to read on without a
    connection or a transaction of its own; elsewhere None. (Returns the lock itself, not
    a wrapper around it: asked on every keyed scan.)"""
    number = _number(user_id, key)
    if engine.dialect.name == "postgresql":
        return _pg_lock(engine, number, wait_s)
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        return _file_lock(engine.url.database, number, wait_s)
    return _thread_lock(number, wait_s)


_PG_TRY = text("SELECT pg_try_advisory_lock(:n)")
_PG_UNLOCK = text("SELECT pg_advisory_unlock(:n)")


@contextmanager
def _pg_lock(engine, number: int, wait_s: float):
    # Autocommit: a session lock outlives transactions, so none is needed around it, and
    # each try and the unlock are one round trip each, with no COMMIT after them.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        deadline = time.monotonic() + wait_s
        while not conn.execute(_PG_TRY, {"n": number}).scalar():
            if time.monotonic() > deadline:
                raise Timeout()
            time.sleep(POLL_S)
        try:
            yield conn
        finally:
            conn.execute(_PG_UNLOCK, {"n": number})


_FOLDERS: dict[str, str] = {}


def _folder(database) -> str:
    """The folder of lock files beside a SQLite database, made on first use (asked on every
    scan: made once per process, not checked each time)."""
    found = _FOLDERS.get(str(database))
    if found is None:
        path = Path(database)
        folder = path.parent / (path.name + ".locks")
        folder.mkdir(mode=0o700, exist_ok=True)
        found = _FOLDERS[str(database)] = str(folder)
    return found


@contextmanager
def _file_lock(database: str, number: int, wait_s: float):
    fd = os.open(os.path.join(_folder(database), f"{number % STRIPES:03d}"),
                 os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Timeout() from None
                time.sleep(POLL_S)
        yield
    finally:
        os.close(fd)  # closing the file releases the lock


_THREAD_LOCKS = [threading.Lock() for _ in range(STRIPES)]


@contextmanager
def _thread_lock(number: int, wait_s: float):
    """An in-memory database lives in one process: a thread lock is all it needs."""
    lock = _THREAD_LOCKS[number % STRIPES]
    if not lock.acquire(timeout=wait_s):
        raise Timeout()
    try:
        yield
    finally:
        lock.release()


# ---------------------------------------------------------------- SQLite's writers, in turn
_THREAD_GATES: dict[str, threading.Lock] = {}


@contextmanager
def sqlite_writer(engine):
    """Hold SQLite's one write slot in turn with the other workers' writers.

    SQLite lets one writer in at a time and makes the others poll: its busy handler sleeps
    1, 2, 5, 10 ... 100 ms between tries, so under a steady stream of scans a waiting
    writer oversleeps the slot it waited for, and commits per second fall to a fraction
    of what the disk can do. A blocking flock() on a file beside the database queues the
    writers in the kernel instead, which wakes the next one the moment the slot is free.
    flock belongs to an open file description: each holder opens its own (one per thread),
    so threads of one process queue too. Not for PostgreSQL, which queues row locks itself."""
    if engine.dialect.name != "sqlite":
        yield
        return
    database = engine.url.database
    if database in (None, "", ":memory:"):
        with _THREAD_GATES.setdefault(database or "", threading.Lock()):
            yield
        return
    fd = os.open(os.path.join(_folder(database), "writer"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the file releases the lock
