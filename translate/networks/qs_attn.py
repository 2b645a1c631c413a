"""Query-selected attention: QS-Attn's patch sampler for PatchNCE (Hu et al. 2022, "QS-Attn: Query-Selected Attention
for Contrastive Learning in I2I Translation", arXiv:2203.08483, Sec. 3.2-3.3).

Instead of random locations, PatchNCE compares the locations whose attention over the source's feature map is most
peaked (lowest entropy: the ones that relate to few others, so carry the most distinctive content), and each compared
feature is the attention-weighted sum of the features it attends to, with the source's attention applied to the
translation's features too (the source relations are routed into both domains). No learnable parameters. The
reference code is ``PatchSampleF`` in ``models/networks_global.py`` and ``models/networks_local.py``
(sapphire497/query-selected-attention).
"""

from collections.abc import Sequence
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from translate.networks.layers import autocast_off

QSMode = Literal["none", "global", "local"]
# QS-Attn attends on the fourth and later of CUT's nce_layers (12 and 16 at the defaults); the first three sample at
# random (the official PatchSampleF: `if feat_id < 3`).
QS_FIRST_LAYER = 3
# The local attention's window (the reference's k_s = 7, F.unfold with padding 3: zero features beyond the border).
LOCAL_WINDOW = 7


class QuerySelection(NamedTuple):
    """The rows of a source attention matrix kept as PatchNCE's anchors.

    ``ids`` (B, P): the selected locations of each image, lowest entropy first; ``attention`` (B, P, HW) for global
    attention (each kept row over the whole map), (B, P, window**2) for local (over the window around the location).
    """

    ids: Tensor
    attention: Tensor
    mode: QSMode


def check_qs_attn(mode: str, num_layers: int) -> None:
    """A mode that is one, and layers for it to attend on."""
    if mode not in ("none", "global", "local"):
        raise ValueError(f"unknown qs_attn {mode!r}, expected 'none', 'global' or 'local'")
    if mode != "none" and num_layers <= QS_FIRST_LAYER:
        raise ValueError(f"qs_attn attends on the 4th and later nce_layers (official 12, 16), got {num_layers} layers")


def qs_selections(features: Sequence[Tensor], num_patches: int, mode: QSMode) -> list[QuerySelection | None] | None:
    """QS-Attn's anchors on the source's maps from ``QS_FIRST_LAYER`` on, None before (random locations); None for
    ``mode`` ``none`` (CUT's sampler everywhere)."""
    if mode == "none":
        return None
    return [None if i < QS_FIRST_LAYER else select_queries(f, num_patches, mode) for i, f in enumerate(features)]


def select_queries(feature: Tensor, num_patches: int, mode: QSMode) -> QuerySelection:
    """QS-Attn's selection on a source feature map (B, C, H, W): the attention ``softmax(f_i . f_j)`` of each location
    ``i`` over the map (``global``) or its ``LOCAL_WINDOW``-square neighbourhood (``local``), its entropy
    ``-sum_j a_ij log a_ij`` (terms with ``a_ij = 0`` count 0), and the ``num_patches`` rows of lowest entropy, per
    image (all of them when the map has fewer locations). The dot products are of the raw features, unscaled, as the
    reference; computed with autocast off, in fp32 or wider.
    """
    with autocast_off(feature.device):
        feature = feature.to(torch.promote_types(feature.dtype, torch.float32))
        flat = feature.flatten(2).transpose(1, 2)  # (B, HW, C)
        if mode == "global":
            logits = flat @ flat.transpose(1, 2)  # (B, HW, HW)
        elif mode == "local":
            logits = (_windows(feature) @ flat.unsqueeze(3)).squeeze(3)  # (B, HW, window**2)
        else:
            raise ValueError(f"unknown QS-Attn mode {mode!r}, expected 'global' or 'local'")
        attention = logits.softmax(dim=2)
        entropy = -torch.special.xlogy(attention, attention).sum(dim=2)  # (B, HW); xlogy(0, 0) = 0
    ids = entropy.argsort(dim=1, stable=True)[:, :num_patches]  # (B, P)
    rows = torch.gather(attention, 1, ids[:, :, None].expand(-1, -1, attention.shape[2]))
    return QuerySelection(ids, rows, mode)


def route(feature: Tensor, selection: QuerySelection) -> Tensor:
    """The attended features of ``feature`` (B, C, H, W) for the selected rows: ``sum_j a_ij f_j``, (B * P, C), rows
    ordered image by image. ``feature`` is the source's own map for PatchNCE's keys, the translation's for its
    queries: one attention (the source's) routes both."""
    with autocast_off(feature.device):
        feature = feature.to(torch.promote_types(feature.dtype, torch.float32))
        attention = selection.attention.to(feature.dtype)
        if selection.mode == "global":
            routed = attention @ feature.flatten(2).transpose(1, 2)  # (B, P, HW) @ (B, HW, C)
        else:
            windows = _windows(feature)  # (B, HW, window**2, C)
            index = selection.ids[:, :, None, None].expand(-1, -1, *windows.shape[2:])
            routed = (attention.unsqueeze(2) @ torch.gather(windows, 1, index)).squeeze(2)  # (B, P, C)
    return routed.flatten(0, 1)


def _windows(feature: Tensor) -> Tensor:
    """The ``LOCAL_WINDOW``-square neighbourhood of every location, zero beyond the border: (B, HW, window**2, C)."""
    b, c = feature.shape[:2]
    unfolded = F.unfold(feature, LOCAL_WINDOW, padding=LOCAL_WINDOW // 2)  # (B, C * window**2, HW), channel-major
    return unfolded.view(b, c, LOCAL_WINDOW**2, -1).permute(0, 3, 2, 1)
