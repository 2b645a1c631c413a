"""Fuzzing (issue 7): random bytes, image sizes and modes, and folder trees fed to the data module and to predict.

The only errors allowed are the documented ones (docs/troubleshooting.md), each naming a folder or file. Examples are
derandomized and few, so the file is reproducible in CI and runs in seconds.
"""

import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from translate.inference.predict import predict_folder


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
