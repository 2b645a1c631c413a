"""translate predict --input takes image files, several values and glob patterns, not only folders (issue #20.3):
where each is written, --output as one image file, and the one-line refusals (same name twice, missing file, a
pattern matching nothing), through the CLI and predict_folder."""

from functools import partial
from pathlib import Path

import lightning
import numpy as np
import pytest
import torch
from PIL import Image

from translate.cli import main
from translate.inference.predict import predict_folder
from translate.models import CycleGAN
from translate.networks import PatchDiscriminator, ResnetGenerator


def _tiny_cyclegan() -> CycleGAN:
    torch.manual_seed(0)
    generator = partial(ResnetGenerator, base_channels=4, num_blocks=1)
    return CycleGAN(generator, partial(PatchDiscriminator, base_channels=4, num_layers=2)).eval()


def _save_checkpoint(model: CycleGAN, path: Path) -> Path:
    """A checkpoint as `translate fit` records it (class paths and init args, as `translate import` writes them), so
    that `translate predict --ckpt` rebuilds the same networks without a training run."""
    hparams = {
        "_class_path": "translate.models.CycleGAN",
        "_instantiator": "lightning.pytorch.cli.instantiate_module",
        "generator": {"class_path": "translate.networks.ResnetGenerator",
                      "init_args": {"base_channels": 4, "num_blocks": 1}},
        "discriminator": {"class_path": "translate.networks.PatchDiscriminator",
                          "init_args": {"base_channels": 4, "num_layers": 2}},
    }  # fmt: skip
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": hparams, "epoch": 0, "global_step": 0,
                "pytorch-lightning_version": lightning.__version__}, path)  # fmt: skip
    return path


@pytest.fixture(scope="module")
def model() -> CycleGAN:
    return _tiny_cyclegan()


@pytest.fixture(scope="module")
def ckpt(model, tmp_path_factory) -> Path:
    return _save_checkpoint(model, tmp_path_factory.mktemp("ckpt") / "tiny.ckpt")


def _photo(path: Path, size: tuple[int, int] = (24, 20), seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def _predict(ckpt: Path, *args: str) -> None:
    main(["predict", "--ckpt", str(ckpt), "--num-workers", "0", *args])


def _one_line_error(ckpt: Path, *args: str) -> str:
    with pytest.raises(SystemExit) as error:
        _predict(ckpt, *args)
    message = str(error.value.code)
    assert message.startswith("translate predict: error: ") and "\n" not in message, message
    return message


def _files(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def test_a_single_file_is_written_under_output_with_its_name(ckpt, model, tmp_path):
    photo = _photo(tmp_path / "photo.jpg", size=(30, 22))
    _predict(ckpt, "--input", str(photo), "--output", str(tmp_path / "out"))
    assert _files(tmp_path / "out") == ["photo.jpg"]
    with Image.open(tmp_path / "out" / "photo.jpg") as out:
        assert out.format == "JPEG" and out.size == (30, 22)
    assert predict_folder(model, photo, tmp_path / "api", progress=False) == [tmp_path / "api" / "photo.jpg"]


def test_several_files_from_several_folders(ckpt, model, tmp_path):
    a, b = _photo(tmp_path / "x" / "a.jpg"), _photo(tmp_path / "y" / "deeper" / "b.png", seed=1)
    _predict(ckpt, "--input", str(a), str(b), "--output", str(tmp_path / "out"))
    assert _files(tmp_path / "out") == ["a.jpg", "b.png"]
    written = predict_folder(model, [a, str(b)], tmp_path / "api", progress=False)
    assert sorted(path.name for path in written) == ["a.jpg", "b.png"]


def test_a_quoted_glob_is_expanded_here(ckpt, model, tmp_path):
    photos = tmp_path / "photos"
    for name in ("a.jpg", "b.jpg", "c.png", "sub/d.jpg"):
        _photo(photos / name)
    _predict(ckpt, "--input", str(photos / "*.jpg"), "--output", str(tmp_path / "flat"))
    assert _files(tmp_path / "flat") == ["a.jpg", "b.jpg"]
    _predict(ckpt, "--input", str(photos / "**" / "*.jpg"), "--output", str(tmp_path / "deep"))
    assert _files(tmp_path / "deep") == ["a.jpg", "b.jpg", "sub/d.jpg"]  # relative to the pattern's fixed folder
    written = predict_folder(model, str(photos / "*.png"), tmp_path / "api", progress=False)
    assert written == [tmp_path / "api" / "c.png"]


def test_output_names_one_image_file_for_one_input(ckpt, model, tmp_path):
    photo = _photo(tmp_path / "photo.jpg")
    _predict(ckpt, "--input", str(photo), "--output", str(tmp_path / "result" / "out.png"))
    assert _files(tmp_path / "result") == ["out.png"]
    with Image.open(tmp_path / "result" / "out.png") as out:
        assert out.format == "PNG" and out.size == (24, 20)  # the format of --output's extension, not the input's
    assert predict_folder(model, photo, tmp_path / "api.tif", progress=False) == [tmp_path / "api.tif"]
    assert Image.open(tmp_path / "api.tif").format == "TIFF"

    message = _one_line_error(ckpt, "--input", str(tmp_path / "result"), "--output", str(tmp_path / "x.png"))
    assert "--output" in message and "x.png" in message and "pass a folder as --output" in message
    assert not (tmp_path / "x.png").exists()


def test_two_inputs_of_the_same_name_are_refused_naming_both(ckpt, model, tmp_path):
    a, b = _photo(tmp_path / "x" / "photo.jpg"), _photo(tmp_path / "y" / "photo.jpg", seed=1)
    message = _one_line_error(ckpt, "--input", str(a), str(b), "--output", str(tmp_path / "out"))
    assert str(a) in message and str(b) in message and "photo.jpg" in message
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="would both be written as photo.jpg"):
        predict_folder(model, [a, b], tmp_path / "out", progress=False)


def test_a_missing_file_or_an_empty_pattern_is_one_line_naming_it(ckpt, model, tmp_path):
    message = _one_line_error(ckpt, "--input", str(tmp_path / "photo.jpg"), "--output", str(tmp_path / "out"))
    assert f"--input {tmp_path / 'photo.jpg'} not found: no file or folder" in message
    pattern = str(tmp_path / "*.jpg")
    message = _one_line_error(ckpt, "--input", pattern, "--output", str(tmp_path / "out"))
    assert f"--input {pattern!r} matches no image files (png, jpg" in message and str(tmp_path) in message
    with pytest.raises(FileNotFoundError, match="matches no image files"):
        predict_folder(model, pattern, tmp_path / "out", progress=False)


def test_an_output_onto_its_input_is_refused(ckpt, tmp_path):
    photo = _photo(tmp_path / "photo.jpg")
    before = photo.read_bytes()
    message = _one_line_error(ckpt, "--input", str(photo), "--output", str(tmp_path), "--overwrite")
    assert f"would overwrite the input {photo}" in message
    assert photo.read_bytes() == before
