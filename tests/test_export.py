"""ONNX (run in onnxruntime) and TorchScript exports match PyTorch at sizes other than the export size."""

import pytest
import torch

from tests.test_models import tiny_cyclegan
from tests.test_stargan import tiny_stargan
from tests.test_travelgan import tiny_travelgan
from translate.inference.export import export

onnxruntime = pytest.importorskip("onnxruntime")


def _models():
    torch.manual_seed(0)
    return {
        "cyclegan": (tiny_cyclegan(ema_decay=0.9), {"direction": "b2a"}, lambda m, x: m(x, direction="b2a")),
        "travelgan": (tiny_travelgan(), {"direction": "a2b"}, lambda m, x: m(x, direction="a2b")),
        "stargan": (tiny_stargan(), {"target_domain": "green"}, lambda m, x: m(x, torch.tensor([0.0, 1.0, 0.0]))),
    }


@pytest.mark.parametrize("name", ["cyclegan", "travelgan", "stargan"])
@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_matches_pytorch_at_other_sizes(name, fmt, tmp_path):
    model, options, reference = _models()[name]
    path = export(model, tmp_path / f"{name}.{fmt}", format=fmt, **options)
    x = torch.rand(2, 3, 24, 40) * 2 - 1  # not the export size (32x32), batch 2
    with torch.no_grad():
        expected = reference(model.eval(), x)
    if fmt == "onnx":
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (actual,) = session.run(None, {"image": x.numpy()})
        actual = torch.from_numpy(actual)
    else:
        actual = torch.jit.load(str(path))(x)
    assert actual.shape == expected.shape
    assert (actual - expected).abs().max() < 1e-4


def test_export_errors_name_the_options(tmp_path):
    model, _, _ = _models()["stargan"]
    with pytest.raises(ValueError, match="target-domain must be one of"):
        export(model, tmp_path / "x.onnx", target_domain="purple")
    with pytest.raises(ValueError, match="for StarGAN"):
        export(_models()["cyclegan"][0], tmp_path / "x.onnx", target_domain="green")
