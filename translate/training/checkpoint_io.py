"""Checkpoint files written so that a crash, a full disk or a refused write never costs the previous one (reading
them, for training and inference alike, is translate/checkpoints.py)."""

import os
import tempfile
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
