"""Output files (an export, an imported checkpoint, an evaluation report) that are never half-written and never
replace an existing file unasked: checked before any work, written to a temporary file in the target's own folder,
then renamed over the target (atomic on POSIX and Windows)."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def check_output(path: str | Path, option: str = "--output", *, overwrite: bool = False) -> Path:
    """``path`` as a file to write: refused (``FileExistsError``) when it exists, unless ``overwrite``, and
    (``ValueError``) when it is a folder."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{option} {path} is a folder; name the file to write")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{option} {path} exists; pass --overwrite to replace it, or choose another {option}")
    return path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` for the block to write; renamed over ``path`` when the block ends, removed
    when it fails. An ``OSError`` (a full disk, a read-only folder) is said in one line naming ``path``."""
    path, temporary = Path(path), None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        os.close(handle)
        temporary = Path(name)
        yield temporary
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 would hide the file from other users
        os.replace(temporary, path)
    except OSError as error:
        said = OSError(f"cannot write {path} ({error.strerror or error}); nothing was replaced: free space or choose "
                       "a writable folder")  # fmt: skip
        said.errno = error.errno  # kept for callers, left out of the message (no "[Errno 28]" before it)
        raise said from error
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0o022)  # reading it means setting it: put it straight back
    os.umask(mask)
    return mask
