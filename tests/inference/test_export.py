"""ONNX (run in onnxruntime) and TorchScript exports match PyTorch at sizes other than the export size."""

import pytest
import torch

from translate.inference.export import export

onnxruntime = pytest.importorskip("onnxruntime")


@pytest.fixture
def models(tiny_cyclegan, tiny_travelgan, tiny_stargan, tiny_pix2pix):
    """``models()``: a seeded tiny model of each kind, with the export options and the PyTorch call they export."""

    def build():
        torch.manual_seed(0)
        return {
            "cyclegan": (tiny_cyclegan(ema_decay=0.9), {"direction": "b2a"}, lambda m, x: m(x, direction="b2a")),
            "travelgan": (tiny_travelgan(), {"direction": "a2b"}, lambda m, x: m(x, direction="a2b")),
            "stargan": (tiny_stargan(), {"target_domain": "green"}, lambda m, x: m(x, torch.tensor([0.0, 1.0, 0.0]))),
            "pix2pix": (tiny_pix2pix(ema_decay=0.9), {"direction": "a2b"}, lambda m, x: m(x)),  # U-Net, batch norm
        }

    return build


@pytest.mark.parametrize("name", ["cyclegan", "travelgan", "stargan", "pix2pix"])
@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_matches_pytorch_at_other_sizes(models, name, fmt, tmp_path):
    model, options, reference = models()[name]
    path = export(model, tmp_path / f"{name}.{fmt}", format=fmt, **options)
    height, width = (48, 80) if name == "pix2pix" else (24, 40)  # the tiny U-Net takes multiples of 16
    x = torch.rand(2, 3, height, width) * 2 - 1  # not the export size (32x32), batch 2
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


def test_export_errors_name_the_options(models, tmp_path):
    model, _, _ = models()["stargan"]
    with pytest.raises(ValueError, match="unknown --target-domain 'purple'; this StarGAN knows"):
        export(model, tmp_path / "x.onnx", target_domain="purple")
    with pytest.raises(ValueError, match="for StarGAN"):
        export(models()["cyclegan"][0], tmp_path / "x.onnx", target_domain="green")
