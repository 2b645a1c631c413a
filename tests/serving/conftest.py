"""The serving tests' fixtures: a real uvicorn server on 127.0.0.1 (a free port, in a thread) for an app, a plain
HTTP client (the standard library's, as any program would call the API), and tiny models with images to send."""

import io
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from PIL import Image


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes

    def detail(self) -> str:
        return json.loads(self.body)["detail"]


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 at a free port while the block runs; yields the base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def request(url: str, body: bytes | None = None, content_type: str | None = "image/png", **params: str) -> Answer:
    """GET ``url`` (no body) or POST ``body``; 4xx and 5xx answers are returned, not raised."""
    if params:
        url = f"{url}?{urllib.parse.urlencode(params)}"
    headers = {"Content-Type": content_type} if content_type and body is not None else {}
    call = urllib.request.Request(url, data=body, headers=headers, method="GET" if body is None else "POST")
    try:
        with urllib.request.urlopen(call, timeout=60) as response:
            return Answer(response.status, response.headers.get("Content-Type", ""), response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers.get("Content-Type", ""), error.read())


def multipart(field: str, filename: str, data: bytes, content_type: str = "image/png") -> tuple[bytes, str]:
    """A multipart/form-data body with one file field, and its Content-Type header."""
    boundary = "translate-test-boundary"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n").encode()  # fmt: skip
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def image_bytes(size: tuple[int, int], image_format: str = "PNG", seed: int = 0) -> bytes:
    """A noisy RGB image of ``size`` (width, height) encoded as ``image_format``."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, image_format)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def cyclegan(tiny_cyclegan):
    """A tiny CycleGAN in eval mode (random weights: what matters is that the server and predict agree)."""
    return tiny_cyclegan().eval()
