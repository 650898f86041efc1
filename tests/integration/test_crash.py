"""A power cut mid-batch: gunicorn's whole process group SIGKILLed while clients receive
serials with Idempotency-Keys and retry. The longer run is bench/crash.py."""
from bench import crash


def test_retries_after_sigkill_finish_each_request_exactly(tmp_path):
    figures = crash.run(f"sqlite:///{tmp_path / 'crash.db'}", clients=4, kills=2, batch=80,
                        requests=6, generate=120, kill_every_s=0.5)
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
