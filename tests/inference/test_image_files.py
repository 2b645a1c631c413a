"""Prediction outputs are written atomically: a failed write leaves no half-written image and no temporary file."""

import pytest
import torch


def test_predictions_are_written_atomically(tmp_path, monkeypatch):
    from PIL import Image

    from translate.inference.image_files import save_image as _save

    _save(torch.zeros(3, 8, 8), tmp_path / "ok.jpg")
    assert Image.open(tmp_path / "ok.jpg").size == (8, 8) and [p.name for p in tmp_path.iterdir()] == ["ok.jpg"]

    def disk_full(self, fp, *args, **kwargs):
        with open(fp, "wb") as file:
            file.write(b"half an image")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", disk_full)
    with pytest.raises(OSError, match="No space left"):
        _save(torch.zeros(3, 8, 8), tmp_path / "cut.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.jpg"]  # no half-written output, no temporary file
