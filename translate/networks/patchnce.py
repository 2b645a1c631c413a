"""PatchNCE: the patch-wise contrastive loss of CUT (Park et al. 2020, "Contrastive learning for unpaired
image-to-image translation", arXiv:2007.15651, Eq. 2-5), with the patch sampler and MLP heads it is computed on.

A patch of the translated image should be closer to the patch of the input at the same location (the positive) than
to the input's patches elsewhere (the negatives), in the feature space of the generator's own encoder projected by
a small MLP per layer. The official code is ``models/patchnce.py`` and ``PatchSampleF`` in ``models/networks.py``
(taesungp/contrastive-unpaired-translation).
"""

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from translate.networks.layers import InitType, autocast_off, init_weights
from translate.networks.qs_attn import QuerySelection, route


class PatchSampleHeads(nn.Module):
    """Sample the same ``num_patches`` locations of every image's feature map, project each location's feature
    vector with a two-layer MLP (Linear, ReLU, Linear to ``out_features``) per layer, and L2-normalise it.

    The official ``PatchSampleF`` creates its MLPs on the first batch, from the feature shapes it sees; here the
    model gives the channel counts when it builds the heads (``feature_channels``), so the parameters exist before
    the optimizer and a checkpoint load. At CUT's settings (channels 3, 128, 256, 256, 256 and 256 units) the heads
    have 560,384 parameters, whatever the image size.
    """

    def __init__(
        self,
        feature_channels: Sequence[int],
        *,
        out_features: int = 256,
        init_type: InitType = "xavier",
        init_gain: float = 0.02,
    ):
        super().__init__()
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(channels, out_features), nn.ReLU(), nn.Linear(out_features, out_features))
            for channels in feature_channels
        )
        init_weights(self, init_type, init_gain)

    def forward(
        self,
        features: Sequence[Tensor],
        num_patches: int,
        patch_ids: Sequence[Tensor] | None = None,
        *,
        generator: torch.Generator | None = None,
        selections: Sequence[QuerySelection | None] | None = None,
    ) -> tuple[list[Tensor], list[Tensor]]:
        """Project ``num_patches`` locations of each (B, C_l, H_l, W_l) map to (B * num_patches, out_features).

        The locations are drawn without replacement (all of them when a map has fewer), one draw per layer shared by
        the batch, unless ``patch_ids`` (what a previous call returned) fixes them: the keys and the queries of
        PatchNCE must be the same places. Rows are ordered image by image. A layer with a QS-Attn ``selections``
        entry (``translate.networks.qs_attn``, chosen on the source) draws nothing: its rows are the selection's
        attention applied to this map, and its ids the selected locations (B, P), per image.
        """
        if len(features) != len(self.heads):
            raise ValueError(f"{len(features)} feature maps for {len(self.heads)} heads")
        projected, drawn = [], []
        for index, (feature, head) in enumerate(zip(features, self.heads, strict=True)):
            flat = feature.permute(0, 2, 3, 1).flatten(1, 2)  # (B, H * W, C)
            selection = None if selections is None else selections[index]
            if selection is not None:
                ids, sample = selection.ids, route(feature, selection)  # (B * P, C)
            else:
                if patch_ids is None:
                    ids = torch.randperm(flat.shape[1], generator=generator)[:num_patches].to(flat.device)
                else:
                    ids = patch_ids[index]
                sample = flat[:, ids, :].flatten(0, 1)  # (B * P, C)
            # (B * P, out_features). The heads' outputs start with norms of 1e-5 to 4e-4 (a full-size CUT at its
            # init), so normalising multiplies their gradients by up to 1e5: under fp16 autocast the division's
            # backward squared the norms to zero (NaN at any loss scale), and the head's gradients overflowed fp16 at
            # scales where the generator's underflow. So the heads run with autocast off, in their weights' dtype
            # (fp32 under mixed precision), and normalise in fp32 or wider.
            dtype = head[0].weight.dtype
            with autocast_off(sample.device):
                vectors = head(sample.to(dtype)).to(torch.promote_types(dtype, torch.float32))
            projected.append(vectors / (vectors.norm(dim=1, keepdim=True) + 1e-7))  # official: + 1e-7, no clamp
            drawn.append(ids)
        return projected, drawn


def patchnce_loss(
    queries: Tensor,
    keys: Tensor,
    *,
    batch_size: int,
    temperature: float = 0.07,
    negatives_from_batch: bool = False,
    similarity: Literal["dot", "cosine"] = "dot",
    negative_weights: Tensor | None = None,
) -> Tensor:
    """PatchNCE (Park et al. 2020, Eq. 2-3) for each of the (B * P) query rows: the cross-entropy of picking its own
    key among the keys of the same image, with logits ``q . k / temperature``.

    ``queries`` (B * P, D) come from the translated image, ``keys`` (B * P, D) from the input at the same locations
    (row ``i`` of both is the same place), both L2-normalised; the keys get no gradient, as in the official loss.
    The logit of a query with its own key appears once, as the positive: its place among the negatives holds
    -10 / temperature (official). ``negatives_from_batch`` draws the negatives from every image of the batch (the
    official option for single-image translation; off for CUT and FastCUT). ``similarity`` ``cosine`` divides each
    dot product by the two vectors' norms (DCLGAN's ``PatchNCELoss``: the heads' outputs have norms of 1 - 1e-7 / n
    after their ``+ 1e-7``, so it differs from ``dot`` where a head's raw norm n is small). ``negative_weights``
    (G, M, M), positive, scale each negative's ``exp`` term: MoNCE adds ``temperature * log w`` to the negatives'
    logits (``translate.networks.monce``). Returns (B * P,) losses.
    """
    keys = keys.detach()
    if similarity == "cosine":  # torch.nn.CosineSimilarity: each norm clamped to 1e-8
        queries = queries / queries.norm(dim=1, keepdim=True).clamp_min(1e-8)
        keys = keys / keys.norm(dim=1, keepdim=True).clamp_min(1e-8)
    elif similarity != "dot":
        raise ValueError(f"unknown similarity {similarity!r}, expected 'dot' or 'cosine'")
    positives = (queries * keys).sum(dim=1, keepdim=True)  # (N, 1)
    groups = 1 if negatives_from_batch else batch_size
    dim = queries.shape[1]
    grouped_q, grouped_k = queries.reshape(groups, -1, dim), keys.reshape(groups, -1, dim)  # (G, M, D)
    negatives = grouped_q @ grouped_k.transpose(1, 2)  # (G, M, M): every query with every key of its group
    if negative_weights is not None:  # as the official MoNCE: log(w) * tau added before the division by tau
        negatives = negatives + torch.log(negative_weights) * temperature
    same_place = torch.eye(negatives.shape[1], dtype=torch.bool, device=queries.device)
    negatives = negatives.masked_fill(same_place, -10.0).flatten(0, 1)  # (N, M)
    logits = torch.cat([positives, negatives], dim=1) / temperature  # the positive is class 0
    return F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=queries.device), reduction="none")


class PatchStackEmbedding(nn.Module):
    """SimDCL's light network (Han et al. 2021, Sec. 3.3 and A.1.3; ``MappingF`` in JunlinHan/DCLGAN
    ``models/networks.py``): the projected patches of one image, (num_layers, num_patches, features) seen as an image
    with a channel per layer, through a 3x3 stride-2 conv to ``out_features`` channels, ReLU, global average pooling,
    Linear, ReLU, Linear, then L2-normalised (``+ 1e-7``, as the heads). One vector per image summarises how a domain's
    patches look; SimDCL's similarity loss pulls a real and a translated image's vectors of the same domain together.

    The state_dict keys are the official ones (``model.0``, ``model.4``, ``model.6``); with 4 layers, 10,688 parameters.
    The official network takes one image of 256 patches of 256 features (its input is viewed as (1, L, 256, 256));
    here any batch and any patch and feature counts.
    """

    def __init__(self, num_layers: int, *, out_features: int = 64, init_type: InitType = "xavier",
                 init_gain: float = 0.02):  # fmt: skip
        super().__init__()
        self.model = nn.Sequential(
            nn.Conv2d(num_layers, out_features, 3, stride=2),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(out_features, out_features),
            nn.ReLU(),
            nn.Linear(out_features, out_features),
        )
        init_weights(self, init_type, init_gain)

    def forward(self, patches: Tensor) -> Tensor:
        """(B, num_layers, num_patches, features) -> (B, out_features) unit vectors."""
        dtype = self.model[0].weight.dtype
        with autocast_off(patches.device):  # as the heads: the normalisation's gradient in fp32 or wider
            vectors = self.model(patches.to(dtype)).to(torch.promote_types(dtype, torch.float32))
        return vectors / (vectors.norm(dim=1, keepdim=True) + 1e-7)
