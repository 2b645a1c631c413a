"""The device a front end's ``--device`` names, checked before anything loads: a typo or a missing GPU is one line,
not a CUDA traceback mid-run (``translate predict``, ``serve`` and ``eval``)."""

import torch


def resolve_device(name: str) -> str:
    """``auto``: cuda when a GPU is visible, else cpu; any other name is returned as given once torch knows it and it
    is usable here (cpu, cuda, cuda:N, mps). A ValueError naming ``--device`` otherwise."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"--device {name!r} is not a device; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"--device {name}: no CUDA GPU is visible here; use --device cpu")
        if device.index is not None and device.index >= count:
            raise ValueError(f"--device {name}: only {count} GPU(s) visible (cuda:0 to cuda:{count - 1})")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"--device {name}: MPS is not available here; use --device cpu")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"--device {name!r}: use auto, cpu, cuda or cuda:N")
    return name
