"""What the two-generator translation models (CycleGAN, DCLGAN, TraVeLGAN) share: a generator (and its moving
average, when kept) per direction, and the model contract answered from them."""

from typing import Literal

from torch import Tensor, nn

Direction = Literal["a2b", "b2a"]


class TwoWayTranslation:
    """Mixed in before ``LightningModule`` by a model with ``gen_ab``, ``gen_ba``, ``ema_ab``, ``ema_ba`` (the averages
    None when not kept; ``gen_ba`` and ``ema_ba`` None for a model trained one way, TraVeLGAN's
    ``bidirectional=false``) and a ``channels`` hyperparameter; it answers ``forward`` and the model contract."""

    target_kind = "direction"

    def _generators(self, direction: str, what: str) -> tuple[nn.Module, nn.Module | None]:
        if direction not in ("a2b", "b2a"):
            raise ValueError(f"unknown {what} {direction!r}, expected 'a2b' or 'b2a'")
        if direction == "b2a" and self.gen_ba is None:
            raise ValueError(f"unknown {what} 'b2a': this {type(self).__name__} was trained with bidirectional=false, "
                             "it only translates 'a2b'")  # fmt: skip
        return (self.gen_ab, self.ema_ab) if direction == "a2b" else (self.gen_ba, self.ema_ba)

    def forward(self, x: Tensor, direction: Direction = "a2b", *, use_ema: bool = True) -> Tensor:
        """Translate a batch (B, C, H, W) in [-1, 1]; H and W must be multiples of ``size_multiple``.

        Uses the generators' moving averages when the model keeps them, unless ``use_ema=False``.
        """
        generator, average = self._generators(direction, "direction")
        return average(x) if use_ema and average is not None else generator(x)

    # the model contract (translate.models.contract) ----------------------------------------------------------------
    @property
    def channels(self) -> int:
        return self.hparams.channels

    @property
    def size_multiple(self) -> int:
        return self.gen_ab.size_multiple

    @property
    def min_side(self) -> int:
        return self.gen_ab.min_side

    @property
    def targets(self) -> tuple[Direction, ...]:
        return ("a2b", "b2a") if self.gen_ba is not None else ("a2b",)

    @property
    def uses_ema(self) -> bool:
        return self.ema_ab is not None

    def translator(self, target: str) -> nn.Module:
        generator, average = self._generators(target, "target")
        return average if average is not None else generator
