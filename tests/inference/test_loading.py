"""Checkpoints are loaded safely: a pickle that would run code is refused, with a message, unless trusted; a truncated
file is a clear error.
"""

import os

import pytest
import torch

from translate.cli import main
from translate.inference.loading import load_model


class _WritesAFile:
    """Unpickling this calls os.system: the classic malicious checkpoint payload."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_malicious_checkpoint_is_refused_and_runs_nothing(tmp_path, capsys):
    marker, ckpt = tmp_path / "pwned", tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {"x": _WritesAFile(marker)}}, ckpt)
    with pytest.raises(ValueError, match="pickled Python objects.*--trust-checkpoint"):
        load_model(ckpt)
    with pytest.raises(SystemExit, match="refused"):
        main(["predict", "--ckpt", str(ckpt), "--input", str(tmp_path), "--output", str(tmp_path / "out")])
    assert not marker.exists(), "the payload ran"


def test_trusting_a_checkpoint_is_explicit(tmp_path):
    marker, ckpt = tmp_path / "ran", tmp_path / "trusted.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {"x": _WritesAFile(marker)}}, ckpt)
    with pytest.raises(ValueError, match="does not record its model class"):
        load_model(ckpt, trust=True)  # trusted: unpickled (the payload runs), then refused as not ours
    assert marker.exists()


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    ckpt = tmp_path / "cut.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1000)}}, ckpt)
    ckpt.write_bytes(ckpt.read_bytes()[:500])
    with pytest.raises(ValueError, match="not a readable PyTorch checkpoint"):
        load_model(ckpt)
