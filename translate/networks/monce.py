"""MoNCE: PatchNCE with its negatives reweighted by an optimal-transport plan (Zhan et al. 2022, "Modulated Contrast
for Versatile Image Synthesis", arXiv:2203.09333, Sec. 3.2).

Vanilla PatchNCE pushes every negative away from the query with the same force. MoNCE scales each negative's term
by the entry of an entropic optimal-transport plan between the queries and the keys of an image, found by Sinkhorn's
iterations: with the ``hard`` cost the negatives most similar to the query weigh most (harder negatives), with
``easy`` the least similar. The reference code is ``models/monce.py`` and ``models/sinkhorn.py`` in
fnzhan/MoNCE ``CUT_MoNCE``.
"""

from typing import Literal

import torch
from torch import Tensor

from translate.networks.layers import autocast_off

MoNCECost = Literal["hard", "easy"]
SINKHORN_ITERATIONS = 50  # the official MoNCELoss calls OT(..., max_iter=50)


def check_monce(epsilon: float, cost: str, negative_weight: float) -> None:
    """MoNCE's settings, each error naming what is allowed."""
    if cost not in ("hard", "easy"):
        raise ValueError(f"unknown monce_cost {cost!r}, expected 'hard' or 'easy'")
    if not (epsilon > 0 and negative_weight > 0):
        raise ValueError(f"monce_epsilon and monce_negative_weight must be > 0, got {epsilon}, {negative_weight}")


def sinkhorn_plan(kernel: Tensor, iterations: int = SINKHORN_ITERATIONS) -> Tensor:
    """The entropic transport plan ``diag(u) K diag(v)`` of a positive kernel (G, M, N) with uniform marginals: each
    iteration scales the rows to sum to N / M (``u = (N / M) / (K v)``), then the columns to 1 (``v = 1 / (K^T u)``),
    starting from ``u = v = 1``, as the official ``sinkhorn``."""
    g, m, n = kernel.shape
    v = kernel.new_ones(g, n)
    for _ in range(iterations):
        u = (n / m) / (kernel @ v.unsqueeze(2)).squeeze(2)  # (G, M)
        v = 1.0 / (u.unsqueeze(1) @ kernel).squeeze(1)  # (G, N)
    return u.unsqueeze(2) * (kernel * v.unsqueeze(1))


def monce_weights(queries: Tensor, keys: Tensor, *, groups: int, epsilon: float, cost: MoNCECost = "hard",
                  negative_weight: float = 1.0) -> Tensor:  # fmt: skip
    """MoNCE's weights of the negatives, (G, M, M) for ``groups`` groups of M rows of the (G * M, D) ``queries`` and
    ``keys``: the Sinkhorn plan of ``K = exp(s / epsilon)`` with ``s = q . k`` (``hard``) or ``1 - q . k``
    (``easy``) and ``s = -10`` on the diagonal (a query's own key, the positive), times ``(M - 1) *
    negative_weight`` (the plan's rows sum to 1: the weights of a row's M - 1 negatives then average
    ``negative_weight``), plus 1e-8. The keys get no gradient; the queries do, through the plan, as in the official
    code. Computed with autocast off, in fp32 or wider (``exp(s / epsilon)`` overflows fp16 at small epsilon).
    """
    if cost not in ("hard", "easy"):
        raise ValueError(f"unknown MoNCE cost {cost!r}, expected 'hard' or 'easy'")
    dim = queries.shape[1]
    with autocast_off(queries.device):
        dtype = torch.promote_types(queries.dtype, torch.float32)
        q, k = queries.to(dtype).reshape(groups, -1, dim), keys.detach().to(dtype).reshape(groups, -1, dim)
        similarity = q @ k.transpose(1, 2)  # (G, M, M)
        score = similarity if cost == "hard" else 1 - similarity
        same_place = torch.eye(score.shape[1], dtype=torch.bool, device=score.device)
        plan = sinkhorn_plan(torch.exp(score.masked_fill(same_place, -10.0) / epsilon))
    return plan * (score.shape[1] - 1) * negative_weight + 1e-8
