"""The contract's answers for a model of one generator that translates A to B only (pix2pix, CUT)."""

from typing import ClassVar

from torch import nn

from translate.models.contract import TargetKind, TranslationModel


class OneWayTranslation(TranslationModel):
    """A two-domain model whose generator ``gen`` (and its moving average ``ema``, None when not kept) translates
    ``"a2b"``; ``hparams.channels`` are its image channels. The model keeps its own ``forward`` (after
    LightningModule in the bases, nn.Module's would shadow one here) and may call ``_check_target`` in it."""

    target_kind: ClassVar[TargetKind] = "direction"
    gen: nn.Module
    ema: nn.Module | None

    @property
    def channels(self) -> int:
        return self.hparams.channels

    @property
    def size_multiple(self) -> int:
        return self.gen.size_multiple

    @property
    def min_side(self) -> int:
        return self.gen.min_side

    @property
    def targets(self) -> tuple[str, ...]:
        return ("a2b",)

    @property
    def uses_ema(self) -> bool:
        return self.ema is not None

    def translator(self, target: str) -> nn.Module:
        self._check_target(target, "target")
        return self.ema if self.ema is not None else self.gen

    def _check_target(self, target: str, what: str) -> None:
        if target != "a2b":
            raise ValueError(f"unknown {what} {target!r}: {type(self).__name__} translates 'a2b' only")
