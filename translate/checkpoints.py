"""Reading checkpoint files: a run folder's newest checkpoint, its contents read with ``weights_only``, and one-line
errors that tell a file that is no checkpoint (an image, text, a truncated download) from one holding pickled objects.

Below training and inference alike: ``translate fit``'s resume check, ``translate predict``, ``sample``, ``eval`` and
the official-weights import read checkpoints here; writing them atomically is training's (``AtomicCheckpointIO``).
"""

import pickle
import zipfile
from pathlib import Path

import torch


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


def existing_checkpoint(ckpt: str | Path) -> Path:
    """The checkpoint file ``ckpt`` names (a run or checkpoint folder: its newest ``last.ckpt``), which must exist."""
    path = resolve_checkpoint(ckpt)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; `translate fit` writes them under checkpoints/")
    return path


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
