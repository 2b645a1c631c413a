"""A model that only implements the model contract gets folder prediction, export and translate.load for free.

``Recolour`` is no GAN: one 1x1 conv per target domain that swaps colour channels, so every output is known exactly.
Its targets are domains but it is not label-conditioned (one generator per domain), a kind no shipped model has:
inference must work from the contract alone.
"""

import numpy as np
import pytest
import torch
from lightning.pytorch import LightningModule
from PIL import Image
from torch import nn

from translate.inference.api import LoadedTranslator
from translate.inference.export import export
from translate.inference.predict import predict_folder
from translate.models.contract import (
    TranslationModel,
    noise_model,
    reconstructing_model,
    sample_source,
    two_domain_model,
)

ORDERS = {"red": [1, 2, 0], "blue": [2, 0, 1]}  # output channel c takes input channel ORDERS[target][c]


class Recolour(LightningModule, TranslationModel):
    target_kind, channels, size_multiple = "domain", 3, 4

    def __init__(self):
        super().__init__()
        self.generators = nn.ModuleDict()
        for name, order in ORDERS.items():
            conv = nn.Conv2d(3, 3, 1, bias=False)
            conv.weight.data = torch.eye(3)[order][:, :, None, None]
            self.generators[name] = conv

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(ORDERS)

    def translator(self, target: str) -> nn.Module:
        return self.generators[target]


@pytest.fixture
def photo(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (10, 14, 3), dtype=np.uint8)  # not a multiple of 4: padded
    (tmp_path / "in").mkdir()
    Image.fromarray(pixels).save(tmp_path / "in" / "photo.png")
    return pixels


def test_predict_writes_a_folder_per_target_domain(photo, tmp_path):
    written = predict_folder(Recolour().eval(), tmp_path / "in", tmp_path / "out", targets=["all"], progress=False)
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == ["blue/photo.png", "red/photo.png"]
    for name, order in ORDERS.items():
        assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / name / "photo.png")), photo[..., order])


def test_predict_names_what_a_domain_model_needs(photo, tmp_path):
    with pytest.raises(ValueError, match=r"Recolour needs --target-domain NAME .*\['red', 'blue'\]"):
        predict_folder(Recolour(), tmp_path / "in", tmp_path / "out", direction="a2b", progress=False)
    with pytest.raises(ValueError, match="unknown --target-domain 'green'"):
        predict_folder(Recolour(), tmp_path / "in", tmp_path / "out", targets=["green"], progress=False)
    with pytest.raises(ValueError, match="--attrs and --grid are for label-conditioned models"):
        predict_folder(Recolour(), tmp_path / "in", tmp_path / "out", grid=True, progress=False)


def test_load_translates_to_the_chosen_domain(photo):
    to_blue = LoadedTranslator(Recolour().eval(), target_domain="blue")
    assert np.array_equal(np.asarray(to_blue(Image.fromarray(photo))), photo[..., ORDERS["blue"]])
    with pytest.raises(ValueError, match=r"unknown --target-domain 'green'; this Recolour knows \['red', 'blue'\]$"):
        LoadedTranslator(Recolour(), target_domain="green")


def test_export_writes_the_chosen_domain(photo, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    path = export(Recolour(), tmp_path / "red.onnx", target_domain="red")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    image = torch.rand(1, 3, 8, 12).numpy()
    (out,) = session.run(None, {"image": image})
    assert np.allclose(out, image[:, ORDERS["red"]])
    assert session.get_modelmeta().custom_metadata_map["translate.target_domain"] == "red"


def test_code_outside_models_asks_the_contract_what_a_model_is():
    # FID during validation compares directions with domains: a domain model, or no translation model, is skipped
    assert two_domain_model(Recolour()) is None and two_domain_model(nn.Identity()) is None
    assert sample_source(Recolour()) is None  # no sample_columns: SampleGrid is disabled
    with pytest.raises(ValueError, match=r"^checkpoint x.ckpt holds a Recolour, which translates images rather than"):
        noise_model(Recolour(), "checkpoint x.ckpt")
    with pytest.raises(ValueError, match=r"^a Recolour has no encoder"):
        reconstructing_model(Recolour())
