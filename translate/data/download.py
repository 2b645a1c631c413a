"""``translate data download NAME [--paired]``: the standard CycleGAN and pix2pix datasets, fetched resumably and
unpacked safely.

Datasets by Zhu et al. 2017 (unpaired, zip) and Isola et al. 2017 (aligned A|B pairs, tar.gz), published at
https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/ and .../pix2pix/datasets/. Only the standard library is used:
the download resumes a partial file with an HTTP Range request and checks the size the server announced; the archive's
checksums (zip CRCs, gzip CRC) are verified and entries that would land outside the target folder, links and devices
are refused before anything is written.
"""

import gzip
import hashlib
import logging
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO, Any

from tqdm.auto import tqdm

from translate.data.layouts import CYCLEGAN_DATASETS, PIX2PIX_DATASETS

log = logging.getLogger(__name__)

BASE_URL = "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets"
PIX2PIX_URL = "https://efrosgans.eecs.berkeley.edu/pix2pix/datasets"
CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download or an archive that cannot be used; the message says what to do."""


def download(url: str, dest: Path, *, sha256: str | None = None, progress: bool = True, timeout: float = 60) -> Path:
    """Fetch ``url`` to ``dest``, resuming ``dest.part`` if an earlier attempt stopped; returns ``dest``."""
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:  # the partial file is already complete
            response = None
        else:
            raise DownloadError(f"{url}: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, TimeoutError) as error:
        raise DownloadError(
            f"cannot reach {url}: {getattr(error, 'reason', error)}; check the network and retry"
        ) from None
    if response is not None:
        with response:
            resumed = response.status == 206
            if have and not resumed:  # the server ignored the Range header: start over
                have = 0
            length = int(response.headers.get("Content-Length", -1))
            total = have + length if length >= 0 else None
            with (
                open(part, "ab" if resumed else "wb") as file,
                tqdm(total=total, initial=have, unit="B", unit_scale=True, desc=dest.name, disable=not progress) as bar,
            ):
                try:
                    while chunk := response.read(CHUNK):
                        file.write(chunk)
                        bar.update(len(chunk))
                except (OSError, TimeoutError) as error:
                    raise DownloadError(f"{url}: connection lost ({error}); run the command again to resume") from None
        size = part.stat().st_size
        if total is not None and size != total:
            raise DownloadError(f"{url}: got {size} of {total} bytes; run the command again to resume")
    if sha256 is not None and _sha256(part) != sha256:
        part.unlink()
        raise DownloadError(f"{url}: checksum mismatch (expected sha256 {sha256}); the partial file was removed, retry")
    part.replace(dest)
    return dest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def safe_extract(archive: Path, root: Path, *, force: bool = False) -> list[Path]:
    """Unpack a zip or tar(.gz) ``archive`` under ``root`` after checking it whole: checksums, no absolute or ``..``
    paths, no links or devices, and no existing file replaced unless ``force``. Nothing is written when a check
    fails."""
    root, archive = Path(root).resolve(), Path(archive)
    if archive.name.endswith((".tar.gz", ".tgz", ".tar")):
        return _extract_tar(archive, root, force)
    return _extract_zip(archive, root, force)


def _extract_zip(archive: Path, root: Path, force: bool) -> list[Path]:
    try:
        with zipfile.ZipFile(archive) as zipped:
            bad = zipped.testzip()  # reads every member and checks its CRC
            if bad is not None:
                raise DownloadError(f"{archive} is corrupt (bad CRC in {bad}); delete it and download again")
            members = [m for m in zipped.infolist() if not m.is_dir()]
            is_link = [(m.external_attr >> 16) & 0o170000 == 0o120000 for m in members]
            names = [m.filename for m in members]
            targets = _checked_targets(archive, root, force, names, refused=is_link)
            _copy_out(members, targets, zipped.open)
    except zipfile.BadZipFile as error:
        raise DownloadError(f"{archive} is not a valid zip archive ({error}); delete it and download again") from None
    return targets


def _extract_tar(archive: Path, root: Path, force: bool) -> list[Path]:
    try:
        if archive.name.endswith(("gz", "tgz")):
            with gzip.open(archive) as stream:  # read to the end: gzip checks its CRC and length there
                while stream.read(CHUNK):
                    pass
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if not m.isdir()]
            not_file = [not m.isfile() for m in members]  # symlinks, hard links, devices, fifos
            targets = _checked_targets(archive, root, force, [m.name for m in members], refused=not_file)
            _copy_out(members, targets, tar.extractfile)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DownloadError(f"{archive} is corrupt or truncated ({error}); delete it and download again") from None
    return targets


def _checked_targets(archive: Path, root: Path, force: bool, names: list[str], *, refused: list[bool]) -> list[Path]:
    """Where each entry ``names`` lands under ``root``, after refusing links and devices (``refused``), paths that
    leave ``root``, and existing files unless ``force``: the checks both archive kinds pass before anything is
    written."""
    for name, bad in zip(names, refused, strict=True):
        if bad:
            _refuse(archive, name)
    targets = [_target(root, name, archive) for name in names]
    existing = [t for t in targets if t.exists()]
    if existing and not force:
        raise DownloadError(
            f"{len(existing)} files from {archive.name} already exist (first: {existing[0]}); pass --force to "
            "replace them"
        )
    return targets


def _copy_out(members: list, targets: list[Path], open_member: Callable[[Any], IO[bytes]]) -> None:
    """Each member's bytes to its target, through the archive's own reader (zip: open, tar: extractfile)."""
    for member, target in zip(members, targets, strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        with open_member(member) as source, open(target, "wb") as sink:
            shutil.copyfileobj(source, sink, CHUNK)


def _refuse(archive: Path, name: str) -> None:
    raise DownloadError(f"{archive} holds an unsafe entry {name!r} (absolute, '..', a link or a device); refused")


def _target(root: Path, filename: str, archive: Path) -> Path:
    name = PurePosixPath(filename.replace("\\", "/"))
    target = (root / name).resolve()
    if name.is_absolute() or ".." in name.parts or not target.is_relative_to(root):
        _refuse(archive, filename)
    return target


def fetch_dataset(name: str, root: str | Path = "datasets", *, paired: bool = False, base_url: str | None = None,
                  force: bool = False, progress: bool = True) -> Path:  # fmt: skip
    """Download and unpack a standard dataset into ``root/name``: CycleGAN's unpaired zip (trainA, trainB, testA,
    testB) or, ``paired``, pix2pix's aligned tar.gz (train, val, test of A|B images)."""
    collection, suffix, expected = (
        (PIX2PIX_DATASETS, ".tar.gz", ("train",)) if paired else (CYCLEGAN_DATASETS, ".zip", ("trainA", "trainB"))
    )
    if name not in collection:
        kind = "pix2pix (--paired)" if paired else "CycleGAN"
        raise ValueError(f"unknown {kind} dataset {name!r}; available: {', '.join(collection)}")
    root = Path(root)
    base_url = base_url or (PIX2PIX_URL if paired else BASE_URL)
    archive = download(f"{base_url}/{name}{suffix}", root / f"{name}{suffix}", progress=progress)
    safe_extract(archive, root, force=force)
    folder = root / name
    missing = [split for split in expected if not (folder / split).is_dir()]
    if missing:
        raise DownloadError(f"{archive} did not unpack to {folder}/{{{','.join(expected)},...}}: missing {missing}")
    archive.unlink()  # unpacked and checked: the archive is no longer needed
    log.info("%s ready in %s", name, folder)
    return folder
