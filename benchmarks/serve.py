"""``translate serve`` under load: throughput, p50/p99 latency, failed requests and the server's RSS over time.

    python -m benchmarks.serve --ckpt runs/quickstart                  # 2,000 requests, 16 at a time, 64 px PNGs
    python -m benchmarks.serve --ckpt CKPT --requests 5000 --concurrency 32 --size 256 --json serve.json

Starts ``translate serve --ckpt CKPT`` on 127.0.0.1 (its own process, so its RSS is its own), checks one answer per
image against a sequential request, then sends ``--requests`` POST /translate from ``--concurrency`` client threads,
each on its own kept-alive connection, in ``--rounds`` rounds, reading the server's RSS (``VmRSS``) after each: a
server that leaks grows round after round. A request fails on any status but 200 or an answer more than one grey
level from the sequential one ("exact" counts the byte-identical ones: a batch rounds a few pixels differently from a
batch of one, as ``translate predict --batch-size 8`` does from ``--batch-size 1``). Images are two sizes
(``--size`` square and a smaller odd one), so batches of both padded sizes run. The tests
(tests/serving/test_load.py) run a bounded version of this; figures are in docs/deployment.md. Benchmark on a quiet
machine: another job on the same cores slows requests several times.
"""

import argparse
import http.client
import io
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from PIL import Image


def image_bodies(size: int) -> list[bytes]:
    """Two noisy RGB PNGs: ``size`` x ``size`` and a smaller one whose sides are not multiples of 4."""
    bodies = []
    for seed, (width, height) in enumerate([(size, size), (size * 3 // 4 + 1, size // 2 + 3)]):
        pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "PNG")
        bodies.append(buffer.getvalue())
    return bodies


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(model_args: list[str], port: int, *extra: str, timeout: float = 120) -> subprocess.Popen:
    """``translate serve MODEL_ARGS --port PORT`` (localhost, the default), once /health answers."""
    command = [sys.executable, "-m", "translate.cli", "serve", *model_args, "--port", str(port), *extra]
    log = tempfile.TemporaryFile("w+")  # the access log: a pipe nobody reads would fill and stall the server
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"translate serve exited with {process.returncode}: {log.read()[-2000:]}")
        try:
            status, _ = post(f"http://127.0.0.1:{port}/health", None)
            if status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"translate serve did not answer /health within {timeout:.0f} s")


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def post(url: str, body: bytes | None, connection: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
    """One request (GET without a body) on ``connection`` (kept alive) or a new one; (status, answer)."""
    parts = urlsplit(url)
    own = connection is None
    connection = connection or http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        path = f"{parts.path}?{parts.query}" if parts.query else parts.path
        if body is None:
            connection.request("GET", path)
        else:
            connection.request("POST", path, body=body, headers={"Content-Type": "image/png"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        if own:
            connection.close()


CORRECT = ("equal", "within 1/255")  # what compare() says of a correct answer


def load(url: str, bodies: list[bytes], expected: list[bytes], *, requests: int, concurrency: int) -> dict:
    """``requests`` POSTs of ``bodies`` in turn from ``concurrency`` threads; throughput, latency percentiles and
    the failures (a status other than 200, or an answer more than one grey level from ``expected``)."""
    latencies: list[float] = []
    outcomes: list[str] = []
    counter = iter(range(requests))
    lock = threading.Lock()
    parts = urlsplit(url)

    def client() -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        while (index := _next(counter, lock)) is not None:
            start = time.perf_counter()
            try:
                outcome = _outcome(url, bodies[index % len(bodies)], expected[index % len(bodies)], connection)
            except OSError as error:
                outcome = f"{type(error).__name__}: {error}"
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
            with lock:
                latencies.append(time.perf_counter() - start)
                outcomes.append(outcome)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    failures = [outcome for outcome in outcomes if outcome not in CORRECT]
    return {"requests": requests, "concurrency": concurrency, "failed": len(failures), "exact": outcomes.count("equal"),
            "first_failures": failures[:3], "seconds": round(seconds, 3),
            "requests_per_s": round(requests / seconds, 1), "latencies": latencies,
            **percentiles(latencies)}  # fmt: skip


def _next(counter, lock: threading.Lock) -> int | None:
    with lock:
        return next(counter, None)


def _outcome(url: str, body: bytes, expected: bytes, connection: http.client.HTTPConnection) -> str:
    """One request: "equal" or "within 1/255" (correct), or why it failed."""
    status, answer = post(url, body, connection)
    if status != 200:
        return f"status {status}"
    difference = compare(answer, expected)
    return difference if difference in CORRECT else f"an answer {difference} from the sequential one"


def compare(answer: bytes, expected: bytes) -> str:
    """ "equal" (the same bytes), "within 1/255" (every pixel within one grey level: a batched convolution rounds
    differently from a batch of one, as predict --batch-size 8 does from --batch-size 1) or how it differs."""
    if answer == expected:
        return "equal"
    try:
        ours, theirs = (np.asarray(Image.open(io.BytesIO(data))).astype(np.int16) for data in (answer, expected))
    except OSError as error:
        return f"undecodable ({error})"
    if ours.shape != theirs.shape:
        return f"of shape {ours.shape}, not {theirs.shape},"
    largest = int(np.abs(ours - theirs).max())
    return "within 1/255" if largest <= 1 else f"up to {largest}/255 away"


def percentiles(latencies: list[float]) -> dict:
    """p50 and p99 of latencies in seconds, in milliseconds."""
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49] * 1000, 1), "p99_ms": round(cuts[98] * 1000, 1)}


def rss_mb(pid: int) -> float:
    """A process's resident memory now (Linux ``/proc``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def run(url: str, pid: int, bodies: list[bytes], *, requests: int, concurrency: int, rounds: int) -> dict:
    """Warm up, then ``rounds`` loads of ``requests // rounds`` requests each with the server's RSS after each."""
    expected = [post(f"{url}/translate", body)[1] for body in bodies]  # one at a time: the reference answers
    load(f"{url}/translate", bodies, expected, requests=concurrency * 4, concurrency=concurrency)  # warm-up
    results, rss = [], [round(rss_mb(pid), 1)]
    for _ in range(rounds):
        results.append(load(f"{url}/translate", bodies, expected, requests=requests // rounds, concurrency=concurrency))
        rss.append(round(rss_mb(pid), 1))
    seconds = sum(result["seconds"] for result in results)
    _, health = post(f"{url}/health", None)
    latencies = [latency for result in results for latency in result.pop("latencies")]
    return {"requests": len(latencies), "concurrency": concurrency,
            "failed": sum(result["failed"] for result in results), "seconds": round(seconds, 2),
            "exact": sum(result["exact"] for result in results),
            "requests_per_s": round(len(latencies) / seconds, 1), **percentiles(latencies),
            "p50_ms_per_round": [result["p50_ms"] for result in results],
            "p99_ms_per_round": [result["p99_ms"] for result in results],
            "rss_mb_after_warmup_and_each_round": rss, "health": json.loads(health),
            "first_failures": [f for result in results for f in result["first_failures"]][:3]}  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument("--ckpt", help="checkpoint (or run folder) to serve")
    model.add_argument("--onnx", help="ONNX file to serve")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5, help="RSS is read after each round")
    parser.add_argument("--size", type=int, default=64, help="side of the larger test image (default 64)")
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    port = free_port()
    model_args = ["--ckpt", args.ckpt] if args.ckpt else ["--onnx", args.onnx]
    server = start_server(model_args, port, "--max-batch", str(args.max_batch), "--device", args.device)
    try:
        figures = run(f"http://127.0.0.1:{port}", server.pid, image_bodies(args.size), requests=args.requests,
                      concurrency=args.concurrency, rounds=args.rounds)  # fmt: skip
    finally:
        stop_server(server)
    figures |= {"size": args.size, "max_batch": args.max_batch, "device": args.device}
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    main()
