"""Contracts every generator and discriminator honours; no training logic lives here."""

from collections.abc import Callable

from torch import Tensor, nn


class Generator(nn.Module):
    """Image -> image of the same H x W with values in [-1, 1].

    Subclasses take ``(in_channels, out_channels)`` first and set ``size_multiple``: height and width must be
    divisible by it (prediction pads to it and crops back).
    """

    size_multiple: int = 1

    @property
    def min_side(self) -> int:
        """The smallest height and width it translates: one pixel more than ``size_multiple`` by default, which pads
        to twice it, since a 1-pixel bottleneck breaks instance norm and reflect padding (ResNet generators)."""
        return self.size_multiple + 1


class Discriminator(nn.Module):
    """Image -> patch logits, split (as timm does) so models can put their own heads on the trunk."""

    num_features: int  # channels returned by forward_features

    def forward_features(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def forward_head(self, h: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


# LightningCLI binds the config's init_args; the model supplies the channel counts when it calls the factory.
GeneratorFactory = Callable[[int, int], Generator]
DiscriminatorFactory = Callable[[int], Discriminator]
