"""On a CUDA GPU: every model family fits and resumes in fp32, TF32, bf16-mixed and 16-mixed, the translation models
predict and export to ONNX on it, and CycleGAN's resume exactness under ``trainer.deterministic`` is measured
(tests/gpu/fit_checks.py; benchmarks/gpu_check.py runs the same checks as a report). Skipped without CUDA; on the
CPU, tests/test_gpu_check.py runs them through the report."""

import math

import pytest
import torch

from tests.gpu.fit_checks import (
    FAMILIES,
    NOISE_FAMILIES,
    PRECISIONS,
    check_exactness,
    check_inference,
    check_training,
    fit,
    set_tf32,
    write_data,
)

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
DEVICE = "cuda"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_data(tmp_path_factory.mktemp("gpu_data"))


@pytest.fixture(autouse=True)
def tf32_off():
    yield
    set_tf32(False)  # fit() sets it for the whole process


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("family", FAMILIES)
def test_fit_and_resume(family, precision, data, tmp_path):
    if precision == "bf16-mixed" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    check_training(family, precision, DEVICE, data, tmp_path)


@pytest.mark.parametrize("family", [family for family in FAMILIES if family not in NOISE_FAMILIES])
def test_predict_and_onnx_export_agree(family, data, tmp_path):
    pytest.importorskip("onnxruntime")
    ckpt = fit(family, "fp32", DEVICE, data, tmp_path / "run")
    difference = check_inference(ckpt, DEVICE, data, tmp_path / "inference")
    assert difference < 2.0, f"ONNX outputs differ from the checkpoint's by {difference:.2f} grey levels"


def test_resume_exactness_is_measured(data, tmp_path, record_property):
    """A measurement, not a bound: CUDA's deterministic mode is ``warn`` (reflection padding's backward has no
    deterministic kernel), so the differences are recorded (junit XML, ``-rP``), and only have to be finite."""
    differences = check_exactness(DEVICE, data, tmp_path)
    for name, value in differences.items():
        record_property(name, value)
        print(name, value)
    assert differences["deterministic"] == "warn"
    assert all(math.isfinite(v) for k, v in differences.items() if k.endswith("_difference")), differences
