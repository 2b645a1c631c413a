"""A stand-in for Inception in the metric tests: small, deterministic, no weights, no download."""

import torch
from torch import Tensor, nn
from torch.nn.functional import adaptive_avg_pool2d


class TinyFeatures(nn.Module):
    """(N, 3, H, W) images with values in [0, 255] (uint8 or float, any size) -> (N, 18) float32: per channel the
    mean, the standard deviation and the four quadrant means. Colour and layout move it, as they move Inception."""

    num_features = 18

    def forward(self, images: Tensor) -> Tensor:
        x = images.float() / 255
        quadrants = adaptive_avg_pool2d(x, 2).flatten(1)
        return torch.cat([x.mean((2, 3)), x.std((2, 3)), quadrants], dim=1)
