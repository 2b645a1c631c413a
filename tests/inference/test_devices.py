"""``--device`` is checked once for predict, serve and eval (translate/inference/devices.py): one line naming the
option, before a model loads."""

import pytest
import torch

from translate.inference.devices import resolve_device


def test_auto_is_cuda_when_visible_else_cpu():
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == "cpu"


@pytest.mark.parametrize(
    ("name", "said"),
    [("gpu0", r"^--device 'gpu0' is not a device; use auto, cpu, cuda or cuda:N$"),
     ("meta", r"^--device 'meta': use auto, cpu, cuda or cuda:N$"),
     ("cuda:99", r"^--device cuda:99: (no CUDA GPU is visible here|only \d+ GPU\(s\) visible)")],
)  # fmt: skip
def test_a_device_that_cannot_run_here_is_one_line(name, said):
    with pytest.raises(ValueError, match=said):
        resolve_device(name)
