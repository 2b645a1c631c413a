"""What a model may know of the data it trains on: the values it checks its own settings against."""

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from torch import Tensor


@dataclass(frozen=True)
class DataSpec:
    """The data's side of the settings a model must agree with.

    Args:
        channels: Image channels (1 grayscale, 3 RGB).
        domains: Domain (or attribute) names in batch/label order.
        image_size: Side of the square images the model sees (the data module's ``crop_size``).
        batch_size: Items per batch, per domain.
        labelled: Batches are (images, labels) from an attribute file rather than one tensor per domain.
        paired: Batches are (real_a, real_b) pairs: ``real_b[i]`` is the target of ``real_a[i]`` (pix2pix data).
    """

    channels: int
    domains: tuple[str, ...]
    image_size: int
    batch_size: int
    labelled: bool
    paired: bool = False


@runtime_checkable
class DescribesData(Protocol):
    """A data module that states its ``DataSpec`` and gives fixed batches for sample grids (translate's own does; a
    user's may)."""

    @property
    def spec(self) -> DataSpec: ...

    def sample_batch(self, n: int = 4) -> tuple[Tensor, ...]: ...


def described_data(datamodule: object) -> DescribesData | None:
    """``datamodule`` when it states its ``DataSpec`` and gives sample batches (``DescribesData``), else None (no data
    module, or a user's that does not describe its data)."""
    return datamodule if isinstance(datamodule, DescribesData) else None
