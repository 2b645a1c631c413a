"""Dataset downloads against a local HTTP server: resume, truncation, corruption, unsafe archives."""

import pytest

from translate.data.download import DownloadError, download, fetch_dataset, safe_extract


def test_fetch_dataset_unpacks_the_official_layout(zip_bytes, horse2zebra, server, tmp_path):
    server.files["/horse2zebra.zip"] = zip_bytes(horse2zebra)
    folder = fetch_dataset("horse2zebra", tmp_path, base_url=server.url, progress=False)
    assert folder == tmp_path / "horse2zebra"
    assert all((tmp_path / name).read_bytes() == data for name, data in horse2zebra.items())
    assert not list(tmp_path.glob("*.zip*")), "the archive and partial files are cleaned up"


def test_truncated_download_fails_clearly_then_resumes(zip_bytes, horse2zebra, server, tmp_path):
    data = zip_bytes(horse2zebra)
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


def test_corrupt_archive_is_refused_before_anything_is_written(zip_bytes, horse2zebra, server, tmp_path):
    data = bytearray(zip_bytes(horse2zebra))
    data[200:210] = b"\x00" * 10  # inside the first member's compressed bytes
    server.files["/horse2zebra.zip"] = bytes(data)
    with pytest.raises(DownloadError, match="corrupt|not a valid zip"):
        fetch_dataset("horse2zebra", tmp_path, base_url=server.url, progress=False)
    assert not (tmp_path / "horse2zebra").exists()


@pytest.mark.parametrize("name", ["../evil.txt", "horse2zebra/../../evil.txt", "/tmp/evil.txt"])
def test_path_traversal_is_refused(zip_bytes, name, tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_bytes({"horse2zebra/trainA/ok.jpg": b"ok", name: b"evil"}))
    with pytest.raises(DownloadError, match="unsafe entry"):
        safe_extract(archive, tmp_path / "root")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "root").exists()


def test_existing_files_need_force(zip_bytes, tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_bytes({"d/trainA/x.jpg": b"new"}))
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


# --- pix2pix: aligned datasets as tar.gz ---------------------------------------------------------------------------


def _tar_gz(entries: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    """A tar.gz holding ``entries`` (name -> data) and symbolic ``links`` (name -> target)."""
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buffer.getvalue()


FACADES = {f"facades/{split}/{i}.jpg": bytes([i, len(split)]) * 3000 for split in ("train", "val", "test")
           for i in range(1, 4)}  # fmt: skip


def test_fetch_paired_dataset_unpacks_the_aligned_layout(server, tmp_path):
    server.files["/facades.tar.gz"] = _tar_gz(FACADES)
    folder = fetch_dataset("facades", tmp_path, paired=True, base_url=server.url, progress=False)
    assert folder == tmp_path / "facades"
    assert all((tmp_path / name).read_bytes() == data for name, data in FACADES.items())
    assert not list(tmp_path.glob("*.tar.gz*")), "the archive and partial files are cleaned up"


def test_paired_download_uses_the_official_pix2pix_address(tmp_path, monkeypatch):
    import translate.data.download as download_module

    asked = []

    def offline_download(url, dest, **_):  # no network in tests: record the address, serve the archive from memory
        asked.append(url)
        dest.write_bytes(_tar_gz(FACADES))
        return dest

    monkeypatch.setattr(download_module, "download", offline_download)
    fetch_dataset("facades", tmp_path, paired=True, progress=False)
    assert asked == ["https://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz"]


def test_corrupt_tar_gz_is_refused_before_anything_is_written(server, tmp_path):
    data = bytearray(_tar_gz(FACADES))
    data[len(data) // 2 : len(data) // 2 + 16] = b"\xff" * 16
    server.files["/facades.tar.gz"] = bytes(data)
    with pytest.raises(DownloadError, match="corrupt or truncated"):
        fetch_dataset("facades", tmp_path, paired=True, base_url=server.url, progress=False)
    assert not (tmp_path / "facades").exists()


def test_truncated_tar_gz_is_refused(tmp_path):
    archive = tmp_path / "facades.tar.gz"
    archive.write_bytes(_tar_gz(FACADES)[:-200])
    with pytest.raises(DownloadError, match="corrupt or truncated"):
        safe_extract(archive, tmp_path / "root")
    assert not (tmp_path / "root").exists()


@pytest.mark.parametrize(
    ("entries", "links"),
    [({"../evil.txt": b"x"}, None), ({"/tmp/evil.txt": b"x"}, None), ({"facades/train/ok.jpg": b"ok"},
     {"facades/train/link.jpg": "/etc/passwd"})],
)  # fmt: skip
def test_unsafe_tar_entries_are_refused(entries, links, tmp_path):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(_tar_gz({"facades/train/1.jpg": b"fine", **entries}, links))
    with pytest.raises(DownloadError, match="unsafe entry"):
        safe_extract(archive, tmp_path / "root")
    assert not (tmp_path / "root").exists() and not (tmp_path / "evil.txt").exists()


def test_existing_files_from_a_tar_need_force(tmp_path):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(_tar_gz({"facades/train/1.jpg": b"new"}))
    (tmp_path / "root/facades/train").mkdir(parents=True)
    (tmp_path / "root/facades/train/1.jpg").write_bytes(b"mine")
    with pytest.raises(DownloadError, match="already exist.*--force"):
        safe_extract(archive, tmp_path / "root")
    assert (tmp_path / "root/facades/train/1.jpg").read_bytes() == b"mine"
    safe_extract(archive, tmp_path / "root", force=True)
    assert (tmp_path / "root/facades/train/1.jpg").read_bytes() == b"new"


def test_unknown_paired_dataset_lists_the_pix2pix_choices(tmp_path):
    with pytest.raises(ValueError, match="pix2pix.*edges2shoes"):
        fetch_dataset("horse2zebra", tmp_path, paired=True)
