"""Fuzzing (issue 7): random bytes, image sizes and modes, and folder trees fed to the data module and to predict.

The only errors allowed are the documented ones (docs/troubleshooting.md), each naming a folder or file. Examples are
derandomized and few, so the file is reproducible in CI and runs in seconds.
"""

import shutil
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from translate.data.images import UndecodableImageError
from translate.inference.predict import predict_folder


def _documented(error: Exception, folder: Path) -> bool:
    """The errors docs/troubleshooting.md lists for junk folders, naming the folder or a file in it."""
    text = str(error)
    messages = ("no images (", "can be decoded", "cannot decode ")
    return isinstance(error, ValueError) and any(m in text for m in messages) and str(folder) in text


@settings(settings.get_profile("fuzz"))
@given(data=st.data(), bad_images=st.sampled_from(["skip", "fail"]), channels=st.sampled_from([1, 3]))
def test_data_module_on_random_trees(random_trees, tiny_data, tmp_path, data, bad_images, channels):
    files = data.draw(random_trees.files)
    root = tmp_path / "fuzz"
    random_trees.write(root / "trainA", files)
    random_trees.write(root / "trainB", [("", "ok.png", ("RGB", 20, 20, 0))])
    dm = tiny_data(root, load_size=16, channels=channels, bad_images=bad_images)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skipped and small images warn; the assertions are on the outcome
        try:
            dm.setup("fit")
            real_a, real_b = next(iter(dm.train_dataloader()))
        except (ValueError, UndecodableImageError) as error:
            assert _documented(error, root / "trainA"), error
            return
    assert real_a.shape[1:] == (channels, 16, 16) and real_a.abs().max() <= 1
    assert real_b.shape == real_a.shape


@pytest.fixture(scope="module")
def tiny_model(tiny_cyclegan):
    return tiny_cyclegan().eval()


@settings(settings.get_profile("fuzz"))
@given(data=st.data(), batch_size=st.integers(1, 3))
def test_predict_on_random_trees(random_trees, tmp_path, tiny_model, data, batch_size):
    files = data.draw(random_trees.files)
    photos, out = tmp_path / "photos", tmp_path / "out"
    random_trees.write(photos, files)
    shutil.rmtree(out, ignore_errors=True)
    try:
        written = predict_folder(tiny_model, photos, out, batch_size=batch_size, progress=False)
    except ValueError as error:
        text = str(error)
        assert "no images (" in text or "could not be translated" in text, text
        assert str(photos) in text, text
        written = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    for path in written:  # each output is a whole image of its input's size
        source = photos / path.relative_to(out)
        with Image.open(path) as image, Image.open(source) as original:
            assert image.size == original.size or image.size == original.size[::-1]  # EXIF-rotated
    assert not [p for p in out.rglob(".*.partial")] if out.exists() else True
