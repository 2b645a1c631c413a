"""``translate data download NAME``: the standard CycleGAN datasets, fetched resumably and unpacked safely.

Datasets by Zhu et al. 2017, published at https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/. Only the
standard library's urllib is used: the download resumes a partial file with an HTTP Range request, checks the size the
server announced and every member's CRC, and refuses archive entries that would land outside the target folder.
"""

import hashlib
import logging
import shutil
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

from translate.data.layouts import CYCLEGAN_DATASETS

log = logging.getLogger(__name__)

BASE_URL = "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets"
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
    """Unpack ``archive`` under ``root`` after checking every member: CRCs, no absolute or ``..`` paths, no links,
    and no existing file replaced unless ``force``. Nothing is written when a check fails."""
    root = Path(root).resolve()
    try:
        with zipfile.ZipFile(archive) as zipped:
            bad = zipped.testzip()  # reads every member and checks its CRC
            if bad is not None:
                raise DownloadError(f"{archive} is corrupt (bad CRC in {bad}); delete it and download again")
            members = [m for m in zipped.infolist() if not m.is_dir()]
            targets = [_target(root, member, archive) for member in members]
            existing = [t for t in targets if t.exists()]
            if existing and not force:
                raise DownloadError(
                    f"{len(existing)} files from {archive.name} already exist (first: {existing[0]}); "
                    "pass --force to replace them"
                )
            for member, target in zip(members, targets, strict=True):
                target.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(member) as source, open(target, "wb") as sink:
                    shutil.copyfileobj(source, sink, CHUNK)
    except zipfile.BadZipFile as error:
        raise DownloadError(f"{archive} is not a valid zip archive ({error}); delete it and download again") from None
    return targets


def _target(root: Path, member: zipfile.ZipInfo, archive: Path) -> Path:
    name = PurePosixPath(member.filename.replace("\\", "/"))
    is_link = (member.external_attr >> 16) & 0o170000 == 0o120000
    target = (root / name).resolve()
    if name.is_absolute() or ".." in name.parts or is_link or not target.is_relative_to(root):
        raise DownloadError(f"{archive} holds an unsafe entry {member.filename!r} (absolute, '..' or a link); refused")
    return target


def fetch_dataset(name: str, root: str | Path = "datasets", *, base_url: str = BASE_URL, force: bool = False,
                  progress: bool = True) -> Path:  # fmt: skip
    """Download and unpack a standard CycleGAN dataset into ``root/name`` (trainA, trainB, testA, testB)."""
    if name not in CYCLEGAN_DATASETS:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(CYCLEGAN_DATASETS)}")
    root = Path(root)
    archive = download(f"{base_url}/{name}.zip", root / f"{name}.zip", progress=progress)
    safe_extract(archive, root, force=force)
    folder = root / name
    missing = [split for split in ("trainA", "trainB") if not (folder / split).is_dir()]
    if missing:
        raise DownloadError(f"{archive} did not unpack to {folder}/{{trainA,trainB,...}}: missing {missing}")
    archive.unlink()  # unpacked and checked: the zip is no longer needed
    log.info("%s ready in %s", name, folder)
    return folder
