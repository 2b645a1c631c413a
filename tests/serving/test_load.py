"""`translate serve --ckpt` under a bounded load from a local client (benchmarks/serve.py's): 500 requests, 16 at a
time, on 127.0.0.1: every answer is 200 and within one grey level of a sequential request's (a batch may round a
pixel differently from a batch of one), requests were batched, and the server's
RSS does not grow from one round of 100 requests to the next. Bigger runs: python -m benchmarks.serve."""

import logging

import pytest

from benchmarks.serve import free_port, image_bodies, post, run, start_server, stop_server

log = logging.getLogger(__name__)


@pytest.fixture(scope="module")
def server(checkpoints):
    port = free_port()
    process = start_server(["--ckpt", str(checkpoints["cyclegan"]), "--device", "cpu"], port)
    yield f"http://127.0.0.1:{port}", process
    stop_server(process)


def test_the_command_serves_its_checkpoint_on_localhost(server, checkpoints):
    url, _ = server
    status, page = post(f"{url}/", None)
    assert status == 200 and b"<title>translate</title>" in page
    status, info = post(f"{url}/info", None)
    assert status == 200 and b'"model":"CycleGAN"' in info


def test_500_requests_16_at_a_time_all_answer_and_memory_stays_flat(server):
    url, process = server
    figures = run(url, process.pid, image_bodies(32), requests=500, concurrency=16, rounds=5)
    log.warning("load: %s", figures)  # shown by pytest -rA; the figures in docs/deployment.md come from such runs
    assert figures["failed"] == 0, figures["first_failures"]
    assert figures["health"]["largest_batch"] > 1
    rss = figures["rss_mb_after_warmup_and_each_round"]
    # After the warm-up the allocator holds what a round needs; a leak would add to it every round (at 32 px, a few
    # KB a request: 100 requests a round). Allow noise, not growth with the request count.
    assert max(rss[2:]) - rss[1] < 25, rss
