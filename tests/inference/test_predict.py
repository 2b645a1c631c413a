"""predict_folder: never writes into its input, keeps each name and format, never overwrites without asking, reports
the images it cannot translate (too small, unwritable output) and translates the rest; bf16 within a few grey levels
of fp32; random folder trees (fuzzing, issue 7: only the documented errors).
"""

import errno
import os
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from translate.inference.loading import load_model
from translate.inference.predict import predict_folder


@pytest.fixture(scope="module")
def model(checkpoints):
    return load_model(checkpoints["cyclegan"])


def test_predict_never_writes_into_its_input(write_images, model, tmp_path):
    photos = tmp_path / "photos"
    write_images(photos, 2)
    before = sorted(photos.rglob("*"))
    for output in (photos, photos / "out", photos / "a" / "b", tmp_path / "photos" / ".." / "photos" / "x"):
        with pytest.raises(ValueError, match=rf"--output {output} is inside --input {photos}; choose a folder"):
            predict_folder(model, photos, output, progress=False)
    assert sorted(photos.rglob("*")) == before


def test_same_stem_other_format_outputs_stay_distinct_and_existing_ones_are_kept(write_images, model, tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    write_images(photos, 1, size=(20, 12), ext="png")
    write_images(photos, 1, size=(12, 20), colour=1, ext="jpg")  # img_000.png and img_000.jpg
    written = predict_folder(model, photos, out, progress=False)
    assert sorted(p.name for p in written) == ["img_000.jpg", "img_000.png"]
    assert Image.open(out / "img_000.png").format == "PNG" and Image.open(out / "img_000.png").size == (20, 12)
    assert Image.open(out / "img_000.jpg").format == "JPEG" and Image.open(out / "img_000.jpg").size == (12, 20)
    (out / "img_000.png").write_bytes(b"mine")  # an existing output is never replaced without --overwrite
    assert predict_folder(model, photos, out, progress=False) == []
    assert (out / "img_000.png").read_bytes() == b"mine"
    predict_folder(model, photos, out, overwrite=True, progress=False)
    assert Image.open(out / "img_000.png").size == (20, 12)


def test_predict_reports_an_image_too_small_for_the_generator_and_translates_the_rest(write_images, model, tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    write_images(photos, 1, size=(20, 12))
    Image.new("RGB", (1, 5)).save(photos / "speck.png")  # found by the fuzz test below: a crash deep in the network
    Image.new("RGB", (5, 5)).save(photos / "edge.png")  # just above the ResNet's size multiple (4): translates
    with pytest.raises(ValueError, match=r"1 of 3 images could not be translated \(first: .*speck.png: 1x5 is too "
                                         r"small; resize it to at least 5x5\); the other 2 were written"):  # fmt: skip
        predict_folder(model, photos, out, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["edge.png", "img_000.png"]
    assert Image.open(out / "edge.png").size == (5, 5)


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES], ids=["read-only", "no-permission"])
def test_unwritable_prediction_folder_is_one_clear_error(write_images, model, tmp_path, monkeypatch, code):
    # We run as root, where chmod does not stop writes: make the write fail the way the OS would.
    photos, out = tmp_path / "photos", tmp_path / "out"
    write_images(photos, 2)

    def refuse(self, fp, *args, **kwargs):
        raise OSError(code, os.strerror(code), str(fp))

    monkeypatch.setattr(Image.Image, "save", refuse)
    with pytest.raises(ValueError, match=rf"cannot write {out}/img_000.png \({os.strerror(code)}\); make {out} "):
        predict_folder(model, photos, out, progress=False)
    assert not [p for p in out.rglob("*") if p.is_file()], "no partial file left"


# --- precision --------------------------------------------------------------------------------------------------------


def test_predict_in_bf16_matches_fp32_to_a_few_grey_levels(write_images, tiny_cyclegan, tmp_path):
    import numpy as np
    from PIL import Image

    from translate.inference.predict import predict_folder

    model = tiny_cyclegan().eval()
    write_images(tmp_path / "in", 2, size=(24, 20))
    outputs = {}
    for precision in ("32", "bf16"):
        predict_folder(model, tmp_path / "in", tmp_path / precision, precision=precision, progress=False)
        outputs[precision] = np.stack(
            [np.asarray(Image.open(p), dtype=np.int16) for p in sorted((tmp_path / precision).iterdir())]
        )
    difference = np.abs(outputs["32"] - outputs["bf16"])
    assert outputs["bf16"].shape == (2, 20, 24, 3)
    assert 0 < difference.mean() < 2 and difference.max() <= 16  # really bf16 (not identical), still the same image


def test_predict_rejects_an_unknown_precision(tiny_cyclegan, tmp_path):
    from translate.inference.predict import predict_folder

    with pytest.raises(ValueError, match="--precision must be one of 32, bf16, 16, got 'fp8'"):
        predict_folder(tiny_cyclegan(), tmp_path, tmp_path / "out", precision="fp8", progress=False)


# --- fuzzing ----------------------------------------------------------------------------------------------------------


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


def test_a_unet_translates_images_as_small_as_its_size_multiple(tmp_path):
    from functools import partial

    from PIL import Image

    from translate.models import CycleGAN, Pix2Pix
    from translate.networks import PatchDiscriminator, ResnetGenerator, UNetGenerator

    (tmp_path / "in").mkdir()
    Image.new("RGB", (8, 8), (200, 30, 40)).save(tmp_path / "in" / "small.png")
    unet = partial(UNetGenerator, base_channels=4, num_downs=3, norm="batch")  # size multiple 8: a 1x1 bottleneck
    for model in (Pix2Pix(unet, partial(PatchDiscriminator, base_channels=4, num_layers=2)),
                  CycleGAN(unet, partial(PatchDiscriminator, base_channels=4, num_layers=2))):  # fmt: skip
        (written,) = predict_folder(model.eval(), tmp_path / "in", tmp_path / type(model).__name__, progress=False)
        assert Image.open(written).size == (8, 8)  # unet_256 translates 256 px images, as the official test does
    resnet = CycleGAN(partial(ResnetGenerator, base_channels=4, num_blocks=1), partial(PatchDiscriminator))
    Image.new("RGB", (4, 4)).save(tmp_path / "in" / "small.png")  # a ResNet (size multiple 4) needs one pixel more
    with pytest.raises(ValueError, match=r"4x4 is too small; resize it to at least 5x5"):
        predict_folder(resnet.eval(), tmp_path / "in", tmp_path / "resnet", progress=False)
