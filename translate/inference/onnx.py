"""``translate predict --onnx``: a file written by ``translate export``, run by onnxruntime like its checkpoint."""

from pathlib import Path

import torch
from torch import Tensor, nn

from translate.models.contract import TranslationModel


class OnnxTranslator(TranslationModel):
    """An ONNX file written by ``export``, run by onnxruntime, under the model contract: the translation plan pads to
    its ``size_multiple`` and translates ``channels``-channel images like the checkpoint it came from, in the one
    direction (or to the one target domain) it was exported for, written where the checkpoint's would be."""

    def __init__(self, path: str | Path, device: str | torch.device = "cpu"):
        try:
            import onnxruntime
        except ImportError:
            raise ValueError("--onnx needs onnxruntime: pip install 'translate[export]'") from None
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"ONNX file {self.path} does not exist; `translate export` writes one")
        providers = ["CPUExecutionProvider"]
        if str(device).startswith("cuda") and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self.session = onnxruntime.InferenceSession(str(self.path), providers=providers)
        except Exception as error:  # noqa: BLE001 (onnxruntime raises its own types for unreadable files)
            raise ValueError(f"{self.path} is not a readable ONNX file ({error})") from None
        metadata = self.session.get_modelmeta().custom_metadata_map
        if "translate.size_multiple" not in metadata:
            raise ValueError(f"{self.path} was not written by `translate export` (no translate.* metadata); export "
                             "the checkpoint with translate export --format onnx")  # fmt: skip
        self._size_multiple = int(metadata["translate.size_multiple"])
        self._channels = int(metadata["translate.channels"])
        self.direction = metadata["translate.direction"] or None
        self.target_domain = metadata["translate.target_domain"] or None
        self.target_kind = "domain" if self.target_domain is not None else "direction"
        self.translates_at = metadata.get("translate.translates_at", "native")  # absent from older files: native
        self.training_size = (
            int(metadata["translate.training_size"]) if metadata.get("translate.training_size") else None
        )
        # "true"/"false"; unknown ("", or absent from files exported before the plan) for a model that does not say
        self._uses_ema = {"true": True, "false": False}.get(metadata.get("translate.ema", ""))
        self.device = torch.device("cpu")  # onnxruntime takes and returns host arrays, whatever its provider

    source = "onnx"

    @property
    def name(self) -> str:
        return str(self.path)

    @property
    def uses_ema(self) -> bool | None:
        return self._uses_ema

    @property
    def channels(self) -> int:
        return self._channels

    @property
    def size_multiple(self) -> int:
        return self._size_multiple

    @property
    def targets(self) -> tuple[str, ...]:
        return (self.target_domain or self.direction,)

    def translator(self, target: str) -> nn.Module:
        if target not in self.targets:
            raise ValueError(f"{self.path} holds one translation ({self.targets[0]}), not {target}")
        return _Session(self)

    def __call__(self, images: Tensor) -> Tensor:
        (translated,) = self.session.run(None, {"image": images.float().cpu().numpy()})
        return torch.from_numpy(translated)  # (B, C, H, W) in [-1, 1]


class _Session(nn.Module):
    """The file's translation as an image -> image module, as the contract's ``translator`` returns."""

    def __init__(self, onnx: OnnxTranslator):
        super().__init__()
        self.onnx = onnx

    def forward(self, images: Tensor) -> Tensor:
        return self.onnx(images)
