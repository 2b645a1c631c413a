"""Batcher: jobs of one key run together up to max_batch, oldest key first, other keys in their own batches; a failing
batch fails its own jobs only, and the thread keeps running."""

import threading

import pytest

from translate.serving.batching import Batcher


def _recording(calls: list, fail_key=None):
    gate = threading.Event()

    def run(key, items):
        gate.wait(timeout=10)  # hold the first batch until every job is queued
        calls.append((key, list(items)))
        if key == fail_key:
            raise RuntimeError(f"model failed on {key}")
        return [f"{key}:{item}" for item in items]

    return run, gate


def test_jobs_batch_by_key_up_to_max_batch_oldest_first():
    calls: list = []
    run, gate = _recording(calls)
    batcher = Batcher(run, max_batch=3, max_wait_s=0.0)
    futures = [batcher.submit("first", 0)]  # runs alone while the others queue behind the gate
    futures += [batcher.submit(key, i) for i, key in enumerate("abababa", start=1)]
    gate.set()
    results = [future.result(timeout=10) for future in futures]
    batcher.close()
    assert results == ["first:0", "a:1", "b:2", "a:3", "b:4", "a:5", "b:6", "a:7"]
    assert calls == [("first", [0]), ("a", [1, 3, 5]), ("b", [2, 4, 6]), ("a", [7])]
    assert (batcher.stats.requests, batcher.stats.batches, batcher.stats.largest_batch) == (8, 4, 3)


def test_a_failing_batch_fails_its_jobs_only():
    calls: list = []
    run, gate = _recording(calls, fail_key="bad")
    batcher = Batcher(run, max_batch=4, max_wait_s=0.0)
    held = batcher.submit("good", 0)
    bad, good = batcher.submit("bad", 1), batcher.submit("good", 2)
    gate.set()
    with pytest.raises(RuntimeError, match="model failed on bad"):
        bad.result(timeout=10)
    assert (held.result(timeout=10), good.result(timeout=10)) == ("good:0", "good:2")
    assert batcher.submit("good", 3).result(timeout=10) == "good:3"
    batcher.close()


def test_max_batch_below_one_is_refused():
    with pytest.raises(ValueError, match="--max-batch must be >= 1, got 0"):
        Batcher(lambda key, items: items, max_batch=0)
