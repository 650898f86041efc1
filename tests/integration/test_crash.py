"""A power cut mid-batch: gunicorn's whole process group SIGKILLed while clients receive
serials with Idempotency-Keys and retry. The longer run is bench/crash.py.

On SQLite always; on PostgreSQL too when TEST_DATABASE_URL is set, in a database of its own.
There, with TEST_PGDATA naming the server's data directory (CI sets it; .ci/postgres makes
such a cluster), the PostgreSQL server itself is SIGKILLed and restarted once mid-run."""
import os

import pytest

from bench import crash
from tests.conftest import ON_POSTGRES


def _check(figures):
    print(figures)
    # The kills really landed mid-batch: some requests had done part of their steps.
    assert figures["requests_cut_mid_batch"] > 0
    assert figures["lost"] == 0
    assert figures["doubled"] == 0
    assert figures["told_duplicate_for_own_scan"] == 0
    assert figures["not_answered_ok"] == 0
    assert figures["generate_requests"] > 0
    assert figures["generate_wrong_count"] == 0
    assert figures["minted_not_in_any_answer"] == 0
    assert figures["longest_wait_s"] < 5
    assert figures["other_errors"] == [] and figures["hung_clients"] == 0


def test_retries_after_sigkill_finish_each_request_exactly(tmp_path):
    _check(crash.run(f"sqlite:///{tmp_path / 'crash.db'}", clients=4, kills=2, batch=80,
                     requests=6, generate=120, kill_every_s=0.5))


@pytest.mark.postgresql
def test_on_postgresql_retries_after_sigkill_of_gunicorn_and_the_server(empty_pg_database,
                                                                      pg_server):
    datadir = os.environ.get("TEST_PGDATA")
    if ON_POSTGRES and not datadir and os.environ.get("CI"):
        pytest.fail("TEST_PGDATA is not set in CI: the server kill would not be tested.")
    figures = crash.run(empty_pg_database, clients=4, kills=2, batch=80, requests=6,
                        generate=120, kill_every_s=0.5, kill_postgres=datadir or None)
    _check(figures)
    assert figures["postgres_kills"] == (1 if datadir else 0)
