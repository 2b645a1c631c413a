"""Fuzzing (issue 7): random bytes, image sizes and modes, and folder trees fed to the data module and to predict.

The only errors allowed are the documented ones (docs/troubleshooting.md), each naming a folder or file. Examples are
derandomized and few, so the file is reproducible in CI and runs in seconds.
"""

import io
import shutil
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from translate.data import UnpairedDataModule
from translate.data.images import UndecodableImageError
from translate.inference.predict import predict_folder
from translate.models import CycleGAN
from translate.networks import PatchDiscriminator, ResnetGenerator

FUZZ = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F"]
NAMES = st.sampled_from(["a.png", "b.jpg", "c.jpeg", "d.bmp", "e.tif", "f.webp", "g.PNG", "readme.txt", ".hidden.png"])


def _encode(mode: str, width: int, height: int, ext: str, seed: int) -> bytes:
    """A random image of ``mode`` and size, encoded for ``ext`` (falling back to PNG/TIFF where the format refuses)."""
    rng = np.random.default_rng(seed)
    if mode in ("I;16", "I", "F"):
        top = {"I;16": 65535, "I": 2**20, "F": 1}[mode]
        dtype = {"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]
        image = Image.fromarray((rng.random((height, width)) * top).astype(dtype))
    else:
        image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).convert(mode)
    buffer = io.BytesIO()
    format_ = {".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF", ".webp": "WEBP"}.get(ext, "PNG")
    try:
        image.save(buffer, format=format_)
    except (OSError, ValueError, KeyError):  # e.g. JPEG has no alpha, WEBP no 16-bit: keep the mode, change format
        buffer = io.BytesIO()
        image.save(buffer, format="TIFF" if mode in ("I", "F", "CMYK") else "PNG")
    return buffer.getvalue()


FILES = st.lists(
    st.tuples(
        st.sampled_from(["", "sub", "sub/deeper", ".cache"]),  # folder inside the domain
        NAMES,
        st.one_of(
            st.binary(max_size=64),  # random bytes with an image name
            st.tuples(st.sampled_from(MODES), st.integers(1, 40), st.integers(1, 40), st.integers(0, 9)),
        ),
    ),
    max_size=6,
)


def _write_tree(folder: Path, files) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "empty_sub").mkdir()
    for index, (sub, name, content) in enumerate(files):
        path = folder / sub / f"{index}_{name}"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content if isinstance(content, bytes) else _encode(*content[:3], path.suffix.lower(), content[3])
        path.write_bytes(data)


def _documented(error: Exception, folder: Path) -> bool:
    """The errors docs/troubleshooting.md lists for junk folders, naming the folder or a file in it."""
    text = str(error)
    messages = ("no images (", "can be decoded", "cannot decode ")
    return isinstance(error, ValueError) and any(m in text for m in messages) and str(folder) in text


@FUZZ
@given(files=FILES, bad_images=st.sampled_from(["skip", "fail"]), channels=st.sampled_from([1, 3]))
def test_data_module_on_random_trees(tmp_path, files, bad_images, channels):
    root = tmp_path / "fuzz"
    _write_tree(root / "trainA", files)
    _write_tree(root / "trainB", [("", "ok.png", ("RGB", 20, 20, 0))])
    dm = UnpairedDataModule(root, load_size=16, crop_size=16, batch_size=2, num_workers=0, channels=channels,
                            bad_images=bad_images)  # fmt: skip
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
def tiny_model() -> CycleGAN:
    model = CycleGAN(
        partial(ResnetGenerator, base_channels=2, num_blocks=1), partial(PatchDiscriminator, base_channels=2)
    )
    return model.eval()


@FUZZ
@given(files=FILES, batch_size=st.integers(1, 3))
def test_predict_on_random_trees(tmp_path, tiny_model, files, batch_size):
    photos, out = tmp_path / "photos", tmp_path / "out"
    _write_tree(photos, files)
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
