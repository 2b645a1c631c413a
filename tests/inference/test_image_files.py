"""Prediction inputs: the images --input names (globs, folders, symlinks) and their names under --output."""

import logging

import pytest
from PIL import Image

from translate.inference.image_files import input_images


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
