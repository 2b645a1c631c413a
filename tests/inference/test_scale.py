"""Translating at the scale a model was trained at: validation crops at the training scale, predict --scale, and the
training size a checkpoint records."""

from pathlib import Path

import numpy as np
import pytest
from lightning.pytorch import LightningModule
from PIL import Image
from torch import nn

from translate.data.datamodule import default_transforms
from translate.inference.loading import load_model
from translate.inference.predict import predict_folder
from translate.models.contract import TranslationModel

OLD = Path(__file__).resolve().parent.parent / "assets" / "main_478439d"


class _Seen(nn.Module):
    """The identity, noting the size of every batch it translates."""

    def __init__(self):
        super().__init__()
        self.sizes = []

    def forward(self, x):
        self.sizes.append(tuple(x.shape[-2:]))
        return x


class WholeImage(LightningModule, TranslationModel):
    target_kind, channels, size_multiple, targets, translates_at = "direction", 3, 4, ("a2b",), "training"

    def __init__(self, training_size: int | None):
        super().__init__()
        self.seen, self.training_size = _Seen(), training_size

    def translator(self, target: str) -> nn.Module:
        return self.seen


def _photo(folder: Path, height: int, width: int) -> np.ndarray:
    folder.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(folder / "photo.png")
    return pixels


def test_evaluation_sees_the_training_scale():
    train, evaluate = default_transforms(48, 40)
    image = np.zeros((40, 40, 3), dtype=np.uint8)
    image[:2] = image[-2:] = image[:, :2] = image[:, -2:] = 255  # a white frame: at 48/40 it lies outside the crop
    out = evaluate(image=image)["image"]
    assert out.shape == (40, 40, 3) and out.max() < 128  # the centre 40 of the image resized to 48: no frame
    for _ in range(3):  # training's crops have the same scale: parts of the frame, never all of it
        assert train(image=image)["image"].shape == (40, 40, 3)


def test_predict_translates_at_the_training_scale_and_writes_the_input_size(tmp_path):
    pixels = _photo(tmp_path / "in", 100, 60)
    model = WholeImage(training_size=30)
    (written,) = predict_folder(model, tmp_path / "in", tmp_path / "out", progress=False)
    assert model.seen.sizes == [(52, 32)]  # shorter side 60 -> 30: 100 -> 50, padded to a multiple of 4
    out = np.asarray(Image.open(written))
    assert out.shape == pixels.shape
    assert np.abs(out.astype(int) - pixels).mean() > 10  # down and up again: the identity is not exact any more


def test_native_scale_is_the_input_pixels(tmp_path):
    pixels = _photo(tmp_path / "in", 100, 60)
    model = WholeImage(training_size=30)
    (written,) = predict_folder(model, tmp_path / "in", tmp_path / "out", scale="native", progress=False)
    assert model.seen.sizes == [(100, 60)] and np.array_equal(np.asarray(Image.open(written)), pixels)


def test_an_unknown_training_size_is_said(tmp_path, caplog):
    _photo(tmp_path / "in", 20, 20)
    with pytest.raises(ValueError, match="--scale training needs the size WholeImage was trained at"):
        predict_folder(WholeImage(None), tmp_path / "in", tmp_path / "out", scale="training", progress=False)
    model = WholeImage(None)
    predict_folder(model, tmp_path / "in", tmp_path / "auto", progress=False)
    assert model.seen.sizes == [(20, 20)] and "does not record its training size" in caplog.text


def test_a_checkpoint_records_its_training_size():
    assert load_model(OLD / "cyclegan.ckpt").training_size == 36  # data.load_size of the run that wrote it
    assert load_model(OLD / "stargan.ckpt").translates_at == "native"


def test_travelgan_translates_at_the_training_scale_by_default():
    from translate.models import SiameseDiscTraVeLGAN, TraVeLGAN

    assert TraVeLGAN.translates_at == SiameseDiscTraVeLGAN.translates_at == "training"


def test_an_onnx_export_translates_at_the_checkpoints_scale(tmp_path):
    pytest.importorskip("onnxruntime")
    from translate.inference.export import export
    from translate.inference.onnx import OnnxTranslator

    exported = OnnxTranslator(export(WholeImage(training_size=30), tmp_path / "whole.onnx"))
    assert (exported.translates_at, exported.training_size) == ("training", 30)
    plain = OnnxTranslator(export(WholeImage(training_size=None), tmp_path / "plain.onnx"))
    assert (plain.translates_at, plain.training_size) == ("training", None)


def test_at_the_training_scale_a_small_image_is_translated_after_resizing(tmp_path):
    _photo(tmp_path / "in", 4, 6)  # smaller than the size multiple: refused at its own scale, fine resized to 30
    model = WholeImage(training_size=30)
    (written,) = predict_folder(model, tmp_path / "in", tmp_path / "out", progress=False)
    assert model.seen.sizes == [(32, 48)] and Image.open(written).size == (6, 4)  # 30 x 45, padded to 4
    with pytest.raises(ValueError, match="6x4 is too small; resize it to at least 5x5"):
        predict_folder(WholeImage(30), tmp_path / "in", tmp_path / "native", scale="native", progress=False)


def test_training_size_is_unknown_after_a_custom_training_pipeline(tiny_domains):
    # predict scales to load_size only when the default pipeline resized to it; a custom one may not have
    import albumentations as A

    from translate.data.datamodule import ImageDataModule
    from translate.data.sources import DomainFolders
    from translate.data.transforms import Transforms
    from translate.inference.loading import training_size

    def checkpoint(**options) -> dict:
        module = ImageDataModule(DomainFolders(root=tiny_domains), load_size=20, crop_size=16, **options)
        return {"datamodule_hyper_parameters": dict(module.hparams)}

    assert training_size(checkpoint()) == 20
    assert training_size(checkpoint(transforms=Transforms(train=A.Compose([A.RandomCrop(16, 16)])))) is None
    old = {"load_size": 20, "train_transform": {"class_path": "albumentations.Compose"}}  # before data sources
    assert training_size({"datamodule_hyper_parameters": old}) is None
    assert training_size({"datamodule_hyper_parameters": {**old, "train_transform": None}}) == 20
