"""Checkpoint files written so that a crash, a full disk or a refused write never costs the previous one."""

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.cloud_io import _is_local_file_protocol
from lightning.pytorch.plugins.io import TorchCheckpointIO


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
                raise OSError(
                    error.errno, f"could not write checkpoint {target} ({error.strerror}); the previous file is "
                    "unchanged. Free space or choose a writable folder (trainer.default_root_dir)"
                ) from error  # fmt: skip
            raise


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
