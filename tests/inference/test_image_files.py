"""Prediction outputs are written atomically: a failed write leaves no half-written image and no temporary file."""

import logging

import pytest
import torch
from PIL import Image

from translate.inference.image_files import input_images


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


@pytest.mark.parametrize("pattern", ["in", "in/**", "in/**/*.png"])
def test_a_symlink_loop_under_the_input_is_read_once(tmp_path, monkeypatch, caplog, pattern):
    """#29: with in/loop -> in, predict wrote in/rgba.png as out/loop/loop/.../loop/rgba.png (40 levels)."""
    (tmp_path / "in" / "sub").mkdir(parents=True)
    Image.new("RGBA", (20, 20)).save(tmp_path / "in" / "rgba.png")
    Image.new("RGB", (20, 20)).save(tmp_path / "in" / "sub" / "s.png")
    (tmp_path / "in" / "loop").symlink_to("..", target_is_directory=True)
    (tmp_path / "in" / "a_sub").symlink_to("sub", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.WARNING):
        found = input_images([pattern])
    assert [name.as_posix() for name in found.names] == ["rgba.png", "sub/s.png"]
    assert "loop" in caplog.text and "shortest path" in caplog.text
