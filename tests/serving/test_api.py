"""POST /translate answers what ``translate predict`` writes for the same file (raw body or multipart, PNG or JPEG,
CycleGAN directions and StarGAN domains); every bad input gets its status and a one-line reason, and the server keeps
serving; concurrent requests of one padded size run as one batch; /info and /health describe the model and batches.
"""

import io
import json
import logging
import re
import socket
import threading
import time

import pytest
from PIL import Image

from benchmarks.serve import compare
from tests.serving.conftest import image_bytes, multipart, request, serving
from translate.inference.export import export
from translate.inference.onnx import OnnxTranslator
from translate.inference.predict import predict_folder
from translate.serving import app as app_module
from translate.serving.app import create_app
from translate.serving.model import ServedModel


def _predicted(model, tmp_path, name: str, data: bytes, **options) -> bytes:
    """What `translate predict` writes for ``data`` saved as ``name``."""
    (tmp_path / "in").mkdir(exist_ok=True)
    (tmp_path / "in" / name).write_bytes(data)
    (written,) = predict_folder(model, tmp_path / "in" / name, tmp_path / "out", progress=False, overwrite=True,
                                **options)  # fmt: skip
    return written.read_bytes()


@pytest.fixture(scope="module")
def cyclegan_url(cyclegan):
    with serving(create_app(ServedModel(cyclegan, max_pixels=64 * 64))) as url:
        yield url


@pytest.mark.parametrize("name, image_format, as_multipart", [("photo.png", "PNG", False), ("photo.jpg", "JPEG", True)])
@pytest.mark.parametrize("direction", ["a2b", "b2a"])
def test_translate_answers_predicts_file(cyclegan, cyclegan_url, tmp_path, name, image_format, as_multipart, direction):
    data = image_bytes((30, 22), image_format)  # not a multiple of 4: padded and cropped back
    body, content_type = multipart("image", name, data) if as_multipart else (data, f"image/{image_format.lower()}")
    answer = request(f"{cyclegan_url}/translate", body, content_type, direction=direction)
    assert answer.status == 200 and answer.content_type == f"image/{image_format.lower()}"
    assert answer.body == _predicted(cyclegan, tmp_path, name, data, direction=direction)


TOO_SMALL = image_bytes((3, 3))
TRUNCATED = image_bytes((30, 22))[:120]
BAD_INPUTS = {
    "not an image": (b"hello", "image/png", {}, 415, r"the body is not an image Pillow can read \(png, jpg"),
    "a text body": (b"hello", "text/plain", {}, 415, r"Content-Type text/plain is not an image; send image/\*"),
    "a JSON body": (b"{}", "application/json", {}, 415, r"Content-Type application/json is not an image"),
    "truncated": (TRUNCATED, "image/png", {}, 400, r"^the image cannot be translated: OSError: image file is trunc"),
    "empty": (b"", "image/png", {}, 400, r"the request has no image: send the file as the body or as the multipart"),
    "too small": (TOO_SMALL, "image/png", {}, 400, r"3x3 is too small; resize it to at least 5x5"),
    "too many pixels": (image_bytes((65, 64)), "image/png", {}, 413, r"65x64 = 4160 pixels, over this server's lim"),
    "unknown direction": (TOO_SMALL, "image/png", {"direction": "x2y"}, 400, r"direction must be one of \('a2b', "),
    "a domain for CycleGAN": (TOO_SMALL, "image/png", {"target_domain": "red"}, 400, r"this is CycleGAN: use direc"),
    "bad attrs": (TOO_SMALL, "image/png", {"attrs": "Male"}, 400, r"attrs: expected NAME=0 or NAME=1 items"),
    "multipart without image": (*multipart("photo", "a.png", TOO_SMALL), {}, 400, r"has no file field 'image'"),
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_a_bad_input_gets_its_status_and_one_line_and_the_server_keeps_serving(cyclegan_url, case):
    body, content_type, params, status, reason = BAD_INPUTS[case]
    answer = request(f"{cyclegan_url}/translate", body, content_type, **params)
    assert answer.status == status
    assert "\n" not in answer.detail()
    assert re.search(reason, answer.detail()), answer.detail()
    assert request(f"{cyclegan_url}/translate", image_bytes((16, 16))).status == 200


def test_an_upload_over_the_byte_limit_is_refused_before_it_is_read(cyclegan_url, monkeypatch):
    monkeypatch.setattr(app_module, "MAX_BODY_BYTES", 1000)
    answer = request(f"{cyclegan_url}/translate", bytes(2000))
    assert answer.status == 413 and "the upload is 2000 bytes, over this server's limit of 1000" in answer.detail()


def test_info_describes_the_model_and_health_counts_batches(cyclegan_url):
    info = request(f"{cyclegan_url}/info")
    assert info.status == 200
    described = json.loads(info.body)
    expected = {"model": "CycleGAN", "source": "checkpoint", "target_kind": "direction", "targets": ["a2b", "b2a"],
                "label_mode": None, "channels": 3, "size_multiple": 4, "min_side": 5, "ema": False, "max_batch": 8,
                "max_pixels": 64 * 64}  # fmt: skip
    assert {key: described[key] for key in expected} == expected
    health = json.loads(request(f"{cyclegan_url}/health").body)
    assert health["status"] == "ok" and health["batches"] >= 1


def test_stargan_translates_to_a_domain_as_predict_writes_it(tiny_stargan, tmp_path):
    model = tiny_stargan().eval()
    data = image_bytes((18, 20))
    with serving(create_app(ServedModel(model))) as url:
        answer = request(f"{url}/translate", data, target_domain="green")
        assert answer.status == 200 and answer.body == _predicted(model, tmp_path, "x.png", data, targets=["green"])
        refused = {
            "": "StarGAN needs target_domain, one of ['red', 'green', 'blue']",
            "purple": "unknown target_domain 'purple'; this StarGAN knows ['red', 'green', 'blue'] (or all)",
            "all": "target_domain all: one translation per request; ask once for each of ['red', 'green', 'blue']",
        }
        for target, reason in refused.items():
            answer = request(f"{url}/translate", data, target_domain=target)
            assert (answer.status, answer.detail()) == (400, reason)


def test_concurrent_requests_of_one_padded_size_run_as_one_batch(cyclegan, tmp_path):
    """Four requests of 30x22 images (padded to 32x24) wait for each other; a 16x16 one is translated apart."""
    same = [image_bytes((30, 22), seed=seed) for seed in range(4)]
    other = image_bytes((16, 16), seed=9)
    answers = {}
    with serving(create_app(ServedModel(cyclegan), max_batch=4, max_wait_s=2.0)) as url:

        def send(index: int, data: bytes) -> None:
            answers[index] = request(f"{url}/translate", data)

        threads = [threading.Thread(target=send, args=item) for item in enumerate([*same, other])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        health = json.loads(request(f"{url}/health").body)
    assert health["requests"] == 5 and health["largest_batch"] == 4 and health["batches"] == 2
    for index, data in enumerate([*same, other]):  # a batch may round a pixel differently from predict's batch of 1
        assert answers[index].status == 200
        assert compare(answers[index].body, _predicted(cyclegan, tmp_path, "x.png", data)) in ("equal", "within 1/255")


def test_an_onnx_file_serves_its_one_direction_as_predict_onnx_writes_it(cyclegan, tmp_path):
    pytest.importorskip("onnxruntime")
    model = OnnxTranslator(export(cyclegan, tmp_path / "b2a.onnx", direction="b2a"))
    data = image_bytes((30, 22))
    with serving(create_app(ServedModel(model))) as url:
        answer = request(f"{url}/translate", data)
        assert answer.status == 200 and answer.body == _predicted(model, tmp_path, "x.png", data)
        info = json.loads(request(f"{url}/info").body)
        assert (info["source"], info["targets"], info["ema"]) == ("onnx", ["b2a"], False)  # export records it
        refused = request(f"{url}/translate", data, direction="a2b")
        assert refused.status == 400 and "holds one translation (b2a), not a2b" in refused.detail()


def test_a_multi_label_stargan_takes_attrs_as_predict_does(tiny_stargan, tmp_path):
    model = tiny_stargan(label_mode="multi", exclusive_groups=[["red", "green"]]).eval()
    data = image_bytes((18, 20))
    with serving(create_app(ServedModel(model))) as url:
        info = json.loads(request(f"{url}/info").body)
        assert (info["label_mode"], info["attribute_groups"]) == ("multi", [["red", "green"]])
        answer = request(f"{url}/translate", data, attrs="green=1,blue=0")
        expected = _predicted(model, tmp_path, "x.png", data, attrs={"green": 1.0, "blue": 0.0})
        assert answer.status == 200 and answer.body == expected
        refused = request(f"{url}/translate", data, attrs="red=1,green=1")
        assert refused.status == 400
        assert (
            refused.detail()
            == "attrs sets ['red', 'green'] to 1, but exactly one of the exclusive group ['red', 'green'] is on"
        )


def test_an_exif_rotated_photo_is_answered_upright_as_predict_writes_it(cyclegan, tmp_path):
    photo = Image.open(io.BytesIO(image_bytes((30, 22), "JPEG")))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view: the upright photo is 22 wide and 30 high
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", exif=exif)
    with serving(create_app(ServedModel(cyclegan))) as url:
        answer = request(f"{url}/translate", buffer.getvalue(), "image/jpeg")
    assert answer.status == 200 and Image.open(io.BytesIO(answer.body)).size == (22, 30)
    assert answer.body == _predicted(cyclegan, tmp_path, "photo.jpg", buffer.getvalue())


@pytest.mark.parametrize("content_type", ["image/png", "multipart/form-data; boundary=b"])
def test_a_client_that_hangs_up_mid_upload_is_one_log_line(cyclegan_url, content_type, caplog):
    """#29: uvicorn logged a 30-line traceback (starlette's ClientDisconnect) each time; the server keeps serving."""
    seen = []
    handler = logging.Handler()
    handler.emit = seen.append
    logging.getLogger("uvicorn.error").addHandler(handler)  # uvicorn's loggers do not reach caplog's root handler
    try:
        host, port = cyclegan_url.removeprefix("http://").split(":")
        with caplog.at_level(logging.WARNING, logger="translate.serving"), socket.create_connection((host, port)) as s:
            head = (
                f"POST /translate HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: 100000\r\n\r\n"
            )
            s.sendall(head.encode() + (b"--b\r\nContent-Disposition: form-data; name=image; filename=a.png\r\n\r\n"
                                       if content_type.startswith("multipart") else b"") + b"x" * 1000)  # fmt: skip
            time.sleep(0.2)
            s.close()
            deadline = time.monotonic() + 10
            while "disconnected" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.05)
        assert request(f"{cyclegan_url}/health").status == 200
    finally:
        logging.getLogger("uvicorn.error").removeHandler(handler)
    (line,) = [r.getMessage() for r in caplog.records if r.name.startswith("translate")]
    assert re.fullmatch(r"127\.0\.0\.1:\d+ disconnected during its upload to POST /translate: nothing translated", line)
    assert not [r for r in seen if r.exc_info or r.levelno >= logging.ERROR], [r.getMessage() for r in seen]
