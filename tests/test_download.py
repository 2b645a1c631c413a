"""`translate data download` against a local HTTP server: resume, truncation, corruption, unsafe archives."""

import io
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from translate.data.download import DownloadError, download, fetch_dataset, safe_extract


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, data in entries.items():
            zipped.writestr(name, data)
    return buffer.getvalue()


DATASET = {f"horse2zebra/{split}/img_{i}.jpg": bytes([i, len(split)]) * 5000 for split in
           ("trainA", "trainB", "testA", "testB") for i in range(3)}  # fmt: skip


class _Server:
    """Serves ``files`` on 127.0.0.1; honours Range; ``truncate_next`` sends only that many body bytes once."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.truncate_next: int | None = None
        self.ranges: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                data = server.files.get(self.path)
                server.ranges.append(self.headers.get("Range"))
                if data is None:
                    self.send_error(404)
                    return
                start = int(self.headers["Range"].split("=")[1].rstrip("-")) if self.headers.get("Range") else 0
                body = data[start:]
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.truncate_next is not None:
                    body, server.truncate_next = body[: server.truncate_next], None
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server():
    served = _Server()
    yield served
    served.httpd.shutdown()


def test_fetch_dataset_unpacks_the_official_layout(server, tmp_path):
    server.files["/horse2zebra.zip"] = _zip(DATASET)
    folder = fetch_dataset("horse2zebra", tmp_path, base_url=server.url, progress=False)
    assert folder == tmp_path / "horse2zebra"
    assert all((tmp_path / name).read_bytes() == data for name, data in DATASET.items())
    assert not list(tmp_path.glob("*.zip*")), "the archive and partial files are cleaned up"


def test_truncated_download_fails_clearly_then_resumes(server, tmp_path):
    data = _zip(DATASET)
    server.files["/horse2zebra.zip"] = data
    server.truncate_next = 1000
    with pytest.raises(DownloadError, match=f"got 1000 of {len(data)} bytes; run the command again to resume"):
        download(f"{server.url}/horse2zebra.zip", tmp_path / "h.zip", progress=False)
    assert (tmp_path / "h.zip.part").stat().st_size == 1000
    download(f"{server.url}/horse2zebra.zip", tmp_path / "h.zip", progress=False)
    assert server.ranges[-1] == "bytes=1000-"  # only the rest was asked for
    assert (tmp_path / "h.zip").read_bytes() == data


def test_checksum_mismatch_removes_the_file(server, tmp_path):
    server.files["/x.zip"] = b"not what you expected"
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download(f"{server.url}/x.zip", tmp_path / "x.zip", sha256="0" * 64, progress=False)
    assert not list(tmp_path.iterdir())


def test_corrupt_archive_is_refused_before_anything_is_written(server, tmp_path):
    data = bytearray(_zip(DATASET))
    data[200:210] = b"\x00" * 10  # inside the first member's compressed bytes
    server.files["/horse2zebra.zip"] = bytes(data)
    with pytest.raises(DownloadError, match="corrupt|not a valid zip"):
        fetch_dataset("horse2zebra", tmp_path, base_url=server.url, progress=False)
    assert not (tmp_path / "horse2zebra").exists()


@pytest.mark.parametrize("name", ["../evil.txt", "horse2zebra/../../evil.txt", "/tmp/evil.txt"])
def test_path_traversal_is_refused(name, tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(_zip({"horse2zebra/trainA/ok.jpg": b"ok", name: b"evil"}))
    with pytest.raises(DownloadError, match="unsafe entry"):
        safe_extract(archive, tmp_path / "root")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "root").exists()


def test_existing_files_need_force(tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(_zip({"d/trainA/x.jpg": b"new"}))
    (tmp_path / "root/d/trainA").mkdir(parents=True)
    (tmp_path / "root/d/trainA/x.jpg").write_bytes(b"mine")
    with pytest.raises(DownloadError, match="already exist.*--force"):
        safe_extract(archive, tmp_path / "root")
    assert (tmp_path / "root/d/trainA/x.jpg").read_bytes() == b"mine"
    safe_extract(archive, tmp_path / "root", force=True)
    assert (tmp_path / "root/d/trainA/x.jpg").read_bytes() == b"new"


def test_unknown_dataset_lists_the_choices(tmp_path):
    with pytest.raises(ValueError, match="apple2orange.*horse2zebra"):
        fetch_dataset("zebra2horse", tmp_path)


def test_missing_file_is_a_clear_http_error(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch_dataset("maps", tmp_path, base_url=server.url, progress=False)


def test_cli_data_download(server, tmp_path, capsys):
    from translate.cli import main

    server.files["/horse2zebra.zip"] = _zip(DATASET)
    main(["data", "download", "horse2zebra", "--root", str(tmp_path), f"--base-url={server.url}"])
    assert "translate fit --config configs/horse2zebra.yaml" in capsys.readouterr().out
    assert (tmp_path / "horse2zebra" / "trainA" / "img_0.jpg").exists()
    with pytest.raises(SystemExit, match="already exist.*--force"):
        main(["data", "download", "horse2zebra", "--root", str(tmp_path), f"--base-url={server.url}"])
