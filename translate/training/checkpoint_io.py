"""Checkpoint files written so that a crash, a full disk or a refused write never costs the previous one."""

import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.cloud_io import _is_local_file_protocol
from lightning.pytorch.plugins.io import TorchCheckpointIO

from translate.data.datamodule import with_data_state_for_every_name


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes a local checkpoint to a temporary file in its own folder, syncs it, then renames it over the target.

    Lightning's own writer stages the file in the system temporary folder and moves it into place: when that folder
    is on another disk (a container's /tmp, a cluster's node-local /tmp) the move is a copy that truncates the old
    ``last.ckpt`` first, and a refused move over an existing file is ignored (fsspec), so a failed save is silent.
    A rename within one folder is atomic on POSIX and Windows: readers see the old file or the new one, never half.
    Remote paths (s3://, gs://, ...) keep Lightning's writer.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        if storage_options is not None or not _is_local_file_protocol(path):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        target = Path(path)
        temporary = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
            with os.fdopen(handle, "wb") as file:
                torch.save(checkpoint, file)
                file.flush()
                os.fsync(file.fileno())  # the bytes are on disk before the name points at them
            os.replace(temporary, target)
        except BaseException as error:
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)
            if isinstance(error, OSError):
                said = OSError(
                    f"could not write checkpoint {target} ({error.strerror}); the previous file is "
                    "unchanged. Free space or choose a writable folder (trainer.default_root_dir)"
                )
                said.errno = error.errno  # kept for callers, left out of the message (no "[Errno 28]" before it)
                raise said from error
            raise

    def load_checkpoint(self, path, map_location: Any = None, weights_only: bool | None = None) -> dict[str, Any]:
        """Lightning's reading, with the data module's resume position where any of translate's data modules finds it
        (it is stored under the writing class's name)."""
        kwargs = {} if map_location is None else {"map_location": map_location}
        checkpoint = super().load_checkpoint(path, weights_only=weights_only, **kwargs)
        return with_data_state_for_every_name(checkpoint)


def resolve_checkpoint(path: str | Path) -> Path:
    """``path`` itself, or for a run or checkpoint folder its newest ``last.ckpt`` (else its newest ``.ckpt``): fit,
    validate, test and predict all accept ``runs/<name>``."""
    path = Path(path)
    if not path.is_dir():
        return path
    newest = sorted(path.rglob("last.ckpt"), key=lambda p: p.stat().st_mtime)
    newest = newest or sorted(path.rglob("*.ckpt"), key=lambda p: p.stat().st_mtime)  # no save_last: epoch=...ckpt
    if not newest:
        raise FileNotFoundError(f"no .ckpt file under {path}; pass a checkpoint file or a run folder that holds one")
    return newest[-1]


LEGACY_MAGIC = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19"  # torch.save before 1.6: pickle protocol 2, magic number
SIGNATURES = {b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image",
              b"%PDF": "a PDF document", b"\x1f\x8b": "a gzip archive"}  # fmt: skip


def read_checkpoint(path: Path, *, trust: bool = False, mmap: bool = False, trust_option: bool = True) -> dict:
    """The contents of a PyTorch checkpoint, read with ``weights_only`` unless ``trust``; one-line errors that tell a
    file that is not a checkpoint at all (an image, text, a truncated download) from a real checkpoint holding
    pickled objects beyond tensors and plain data, the only case where ``--trust-checkpoint`` can help.

    ``mmap`` maps a zip-format file instead of reading it (for a look at its hyper-parameters); legacy files are read.
    ``trust_option``: the command has ``--trust-checkpoint`` (predict, export), so the refusal names it.
    """
    kind = checkpoint_format(path)
    if kind is None:
        raise ValueError(f"{path} is not a readable PyTorch checkpoint ({what_file_is(path)}); pass a .ckpt written by "
                         "`translate fit` or `translate import`, or the run folder that holds it")  # fmt: skip
    try:
        return torch.load(path, map_location="cpu", weights_only=not trust, mmap=mmap and kind == "zip")
    except pickle.UnpicklingError as error:
        if not any(word in str(error).lower() for word in ("global", "unsupported class")):  # not a refused object
            raise ValueError(f"{path} is a damaged PyTorch checkpoint ({first_line(error)})") from None
        fix = (
            "Pass --trust-checkpoint only if you trust where it comes from"
            if trust_option
            else ("Resume from a checkpoint of tensors and plain data, as `translate fit` writes")
        )
        raise ValueError(
            f"checkpoint {path} holds pickled Python objects beyond tensors and plain data, which could run code when "
            f"loaded; refused. {fix}"
        ) from None
    except (EOFError, RuntimeError, KeyError, IndexError, ValueError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path} is a damaged PyTorch checkpoint ({first_line(error)}); an interrupted copy or "
                         "download? Copy it again") from None  # fmt: skip


def checkpoint_format(path: Path) -> str | None:
    """``"zip"`` (torch.save since 1.6), ``"legacy"`` (before: official StarGAN files), or None for anything else."""
    with open(path, "rb") as file:
        head = file.read(len(LEGACY_MAGIC))
    if head == LEGACY_MAGIC:
        return "legacy"
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return (
                "zip" if any(name.endswith("/data.pkl") or name == "data.pkl" for name in archive.namelist()) else None
            )
    return None


def what_file_is(path: Path) -> str:
    with open(path, "rb") as file:
        head = file.read(4096)
    if not head:
        return "it is empty"
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive that is truncated or holds no checkpoint; an interrupted copy or download?"
    kind = next((name for signature, name in SIGNATURES.items() if head.startswith(signature)), None)
    if kind is not None:
        return f"it is {kind}"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "its bytes are no format PyTorch writes"
    return "it is a text file"


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
