"""QS-Attn and MoNCE, CUT's two options (#32): the selected queries are the lowest-entropy rows, each loss (and G's
gradient) equals an independent re-derivation of the reference code's formula on a fixed input, no new parameters,
and through the CLI: a resume that continues bit-exactly, predict and export."""

import math
from functools import partial
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from tests.models.test_cut import REPO, _fit
from translate.cli import main
from translate.models import CUT
from translate.networks import AntialiasedPatchDiscriminator, ResnetGenerator
from translate.networks.monce import monce_weights
from translate.networks.patchnce import patchnce_loss
from translate.networks.qs_attn import LOCAL_WINDOW, route, select_queries


def variant_cut(**kwargs) -> CUT:
    """A tiny CUT whose features spread enough (xavier gain 1) that the entropies have no near-ties."""
    generator = partial(ResnetGenerator, base_channels=4, num_blocks=1, antialias=True, init_type="xavier",
                        init_gain=1.0)  # fmt: skip
    return CUT(generator, partial(AntialiasedPatchDiscriminator, base_channels=4, num_layers=2), num_patches=8,
               **kwargs)  # fmt: skip


# --- the reference formulas, re-derived with plain ops ------------------------------------------------------------


def reference_patchnce(q: torch.Tensor, k: torch.Tensor, batch_size: int, tau: float = 0.07,
                       log_weights: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
    """PatchNCELoss / MoNCELoss of the reference repositories (models/patchnce.py, models/monce.py)."""
    k = k.detach()
    n, dim = q.shape
    l_pos = torch.bmm(q.view(n, 1, -1), k.view(n, -1, 1)).view(n, 1)
    qb, kb = q.view(batch_size, -1, dim), k.view(batch_size, -1, dim)
    l_neg = torch.bmm(qb, kb.transpose(2, 1))
    if log_weights is not None:
        l_neg = l_neg + log_weights * tau
    l_neg = l_neg.masked_fill(torch.eye(qb.shape[1], dtype=torch.bool)[None], -10.0).view(-1, qb.shape[1])
    out = torch.cat((l_pos, l_neg), dim=1) / tau
    return F.cross_entropy(out, torch.zeros(n, dtype=torch.long), reduction="none")


def reference_monce_log_weights(q, k, batch_size, eps, cost, num_patches, neg_weight=1.0, iterations=50):
    """models/sinkhorn.py OT + sinkhorn, then MoNCELoss's f: log of the (query, key) weights."""
    q, k = q.view(batch_size, -1, q.shape[1]), k.detach().view(batch_size, -1, k.shape[1])
    c = torch.einsum("bid,bod->bio", q, k)
    kernel = (1 - c) if cost == "easy" else c.clone()
    kernel = kernel.masked_fill(torch.eye(q.shape[1], dtype=torch.bool)[None], -10)
    kernel = torch.exp(kernel / eps)
    n, size_in, size_out = kernel.shape
    u, v = kernel.new_ones((n, size_in)), kernel.new_ones((n, size_out))
    for _ in range(iterations):
        u = float(size_out / size_in) / torch.bmm(kernel, v.view(n, size_out, 1)).view(n, size_in)
        v = 1.0 / torch.bmm(u.view(n, 1, size_in), kernel).view(n, size_out)
    plan = u.view(n, size_in, 1) * (kernel * v.view(n, 1, size_out))
    plan = plan.permute(0, 2, 1).permute(0, 2, 1)  # OT returns it transposed, MoNCELoss transposes it back
    return torch.log(plan * (num_patches - 1) * neg_weight + 1e-8)


def reference_global_attention(feat: torch.Tensor, num_patches: int) -> tuple[torch.Tensor, torch.Tensor]:
    """networks_global.py PatchSampleF on a source map: the kept attention rows and their indices."""
    b = feat.shape[0]
    flat = feat.permute(0, 2, 3, 1).flatten(1, 2)
    attn = torch.bmm(flat, flat.permute(0, 2, 1)).softmax(dim=2)
    prob = -torch.log(attn)
    prob = torch.where(torch.isinf(prob), torch.full_like(prob, 0), prob)
    entropy = torch.sum(attn * prob, dim=2)
    index = torch.sort(entropy)[1][:, :num_patches]
    return attn[torch.arange(b)[:, None], index, :], index


def reference_qs_nce(model: CUT, source, translated, seed: int) -> torch.Tensor:
    """qs_model.py calculate_NCE_loss with networks_global.py PatchSampleF (global mode), on our G and heads."""
    layers, p, g = list(model.hparams.nce_layers), model.hparams.num_patches, torch.Generator().manual_seed(seed)
    feat_q, feat_k = model.gen.encode(translated, layers), model.gen.encode(source, layers)
    total = 0.0
    for index, (fq, fk, head) in enumerate(zip(feat_q, feat_k, model.heads.heads, strict=True)):
        rq, rk = fq.permute(0, 2, 3, 1).flatten(1, 2), fk.permute(0, 2, 3, 1).flatten(1, 2)
        if index < 3:
            ids = torch.randperm(rk.shape[1], generator=g)[:p]
            xq, xk = rq[:, ids].flatten(0, 1), rk[:, ids].flatten(0, 1)
        else:
            attn, _ = reference_global_attention(fk, p)
            xq, xk = torch.bmm(attn, rq).flatten(0, 1), torch.bmm(attn, rk).flatten(0, 1)
        zq, zk = head(xq), head(xk)
        zq = zq / (zq.pow(2).sum(1, keepdim=True).pow(0.5) + 1e-7)
        zk = zk / (zk.pow(2).sum(1, keepdim=True).pow(0.5) + 1e-7)
        total = total + reference_patchnce(zq, zk, len(source)).mean()
    return total / len(layers)


def reference_monce_nce(model: CUT, source, translated, seed: int, eps: float, cost: str) -> torch.Tensor:
    """cut_model.py calculate_MoNCE_loss of fnzhan/MoNCE, on our G and heads, at the same random locations."""
    layers, p, g = list(model.hparams.nce_layers), model.hparams.num_patches, torch.Generator().manual_seed(seed)
    total = 0.0
    feats = zip(model.gen.encode(translated, layers), model.gen.encode(source, layers), model.heads.heads, strict=True)
    for fq, fk, head in feats:
        rq, rk = fq.permute(0, 2, 3, 1).flatten(1, 2), fk.permute(0, 2, 3, 1).flatten(1, 2)
        ids = torch.randperm(rk.shape[1], generator=g)[:p]
        zq, zk = head(rq[:, ids].flatten(0, 1)), head(rk[:, ids].flatten(0, 1))
        zq = zq / (zq.pow(2).sum(1, keepdim=True).pow(0.5) + 1e-7)
        zk = zk / (zk.pow(2).sum(1, keepdim=True).pow(0.5) + 1e-7)
        log_w = reference_monce_log_weights(zq, zk, len(source), eps, cost, p)
        total = total + reference_patchnce(zq, zk, len(source), log_weights=log_w).mean()
    return total / len(layers)


# --- QS-Attn --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["global", "local"])
def test_the_selected_queries_are_the_lowest_entropy_rows(mode):
    torch.manual_seed(0)
    feature = torch.randn(2, 3, 5, 6)
    selection = select_queries(feature, 7, mode)
    flat = feature.flatten(2).transpose(1, 2)  # (B, HW, C)
    padded = F.pad(feature, [LOCAL_WINDOW // 2] * 4)
    for b in range(2):
        entropies = []
        for i in range(30):
            if mode == "global":
                others = flat[b]
            else:  # the 7x7 window around location i, zero beyond the border
                y, x = divmod(i, 6)
                others = padded[b, :, y : y + LOCAL_WINDOW, x : x + LOCAL_WINDOW].flatten(1).T
            a = (others @ flat[b, i]).softmax(0).tolist()
            entropies.append(-sum(p * math.log(p) for p in a if p > 0))
        assert selection.ids[b].tolist() == sorted(range(30), key=entropies.__getitem__)[:7]


def test_local_attention_routes_each_window_as_the_papers_formula():
    torch.manual_seed(1)
    source, target = torch.randn(2, 3, 5, 6), torch.randn(2, 3, 5, 6)
    selection = select_queries(source, 4, "local")
    routed = route(target, selection).view(2, 4, 3)
    pad = LOCAL_WINDOW // 2
    ps, pt = F.pad(source, [pad] * 4), F.pad(target, [pad] * 4)
    for b in range(2):
        for row, i in enumerate(selection.ids[b].tolist()):
            y, x = divmod(i, 6)
            window_s = ps[b, :, y : y + LOCAL_WINDOW, x : x + LOCAL_WINDOW].flatten(1).T  # (49, C)
            window_t = pt[b, :, y : y + LOCAL_WINDOW, x : x + LOCAL_WINDOW].flatten(1).T
            attention = (window_s @ source[b, :, y, x]).softmax(0)
            torch.testing.assert_close(routed[b, row], attention @ window_t)


def test_global_selection_and_routing_equal_the_reference():
    torch.manual_seed(2)
    source, target = torch.randn(2, 4, 6, 6), torch.randn(2, 4, 6, 6)
    attention, index = reference_global_attention(source, 10)
    selection = select_queries(source, 10, "global")
    assert torch.equal(selection.ids, index)
    torch.testing.assert_close(selection.attention, attention)
    expected = torch.bmm(attention, target.permute(0, 2, 3, 1).flatten(1, 2)).flatten(0, 1)
    torch.testing.assert_close(route(target, selection), expected)


@pytest.mark.parametrize("batch", [1, 2])
def test_qs_attn_loss_and_gradient_equal_the_reference(batch):
    torch.manual_seed(3)
    model = variant_cut(qs_attn="global")
    source, translated = torch.rand(batch, 3, 32, 32) * 2 - 1, torch.rand(batch, 3, 32, 32) * 2 - 1
    ours = model._patch_nce(source, translated, generator=torch.Generator().manual_seed(5))
    grads = torch.autograd.grad(ours, list(model.gen.parameters()), allow_unused=True)
    expected = reference_qs_nce(model, source, translated, seed=5)
    expected_grads = torch.autograd.grad(expected, list(model.gen.parameters()), allow_unused=True)
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-6)
    scale = max(g.abs().max().item() for g in expected_grads if g is not None)  # biases before a norm get ~0: noise
    for ours_g, expected_g in zip(grads, expected_grads, strict=True):  # G learns through the source's attention too
        assert (ours_g is None) == (expected_g is None)
        if ours_g is not None:
            torch.testing.assert_close(ours_g, expected_g, rtol=1e-4, atol=1e-5 * scale)


# --- MoNCE --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cost, eps", [("hard", 0.1), ("easy", 1.0)])
def test_monce_loss_equals_the_reference_on_a_fixed_input(cost, eps):
    torch.manual_seed(4)
    q, k = F.normalize(torch.randn(2 * 6, 5), dim=1).requires_grad_(), F.normalize(torch.randn(2 * 6, 5), dim=1)
    weights = monce_weights(q, k, groups=2, epsilon=eps, cost=cost)
    ours = patchnce_loss(q, k, batch_size=2, negative_weights=weights)
    expected = reference_patchnce(q, k, 2, log_weights=reference_monce_log_weights(q, k, 2, eps, cost, 6))
    torch.testing.assert_close(ours, expected, rtol=1e-6, atol=1e-6)
    off_diagonal = ~torch.eye(6, dtype=torch.bool)
    torch.testing.assert_close(
        weights.sum(2) - weights.diagonal(dim1=1, dim2=2), torch.full((2, 6), 5.0), rtol=1e-3, atol=1e-3
    )  # fmt: skip (each query's negatives weigh M - 1 in all)
    assert (weights[:, off_diagonal] > 0).all()
    (grad,) = torch.autograd.grad(ours.mean(), q)
    (expected_grad,) = torch.autograd.grad(expected.mean(), q)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-5, atol=1e-7)  # through the plan too, as the reference


@pytest.mark.parametrize("batch", [1, 2])
def test_monce_model_loss_and_gradient_equal_the_reference(batch):
    torch.manual_seed(5)
    model = variant_cut(nce_weighting="monce", monce_epsilon=0.1)
    source, translated = torch.rand(batch, 3, 32, 32) * 2 - 1, torch.rand(batch, 3, 32, 32) * 2 - 1
    ours = model._patch_nce(source, translated, generator=torch.Generator().manual_seed(7))
    expected = reference_monce_nce(model, source, translated, 7, 0.1, "hard")
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-6)
    ours_g = torch.autograd.grad(ours, model.heads.parameters())
    expected_g = torch.autograd.grad(expected, model.heads.parameters())
    scale = max(g.abs().max().item() for g in expected_g)
    for a, b in zip(ours_g, expected_g, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5 * scale)


# --- both -----------------------------------------------------------------------------------------------------------


def test_no_new_parameters_and_cuts_path_by_default():
    plain = variant_cut()
    for variant in (variant_cut(qs_attn="global"), variant_cut(qs_attn="local"), variant_cut(nce_weighting="monce")):
        assert list(variant.state_dict()) == list(plain.state_dict())
    assert plain.hparams.qs_attn == "none" and plain.hparams.nce_weighting == "none"
    with pytest.raises(ValueError, match="4th and later nce_layers"):
        variant_cut(qs_attn="global", nce_layers=(0, 4, 8))
    with pytest.raises(ValueError, match="unknown monce_cost 'soft'"):
        variant_cut(nce_weighting="monce", monce_cost="soft")
    with pytest.raises(ValueError, match="must be > 0"):
        variant_cut(nce_weighting="monce", monce_epsilon=0.0)


def _configs(name: str) -> list[Path]:
    return [REPO / "configs" / f"{name}.yaml", REPO / "configs" / "debug_cut.yaml"]


@pytest.mark.parametrize("name", ["qsattn_quickstart", "monce_quickstart"])
def test_a_finished_run_trains_longer_exactly(name, tiny_domains, tmp_path):
    reference = _fit(tiny_domains, tmp_path / "reference", 8, configs=_configs(name))
    _fit(tiny_domains, tmp_path / "finished", 6, configs=_configs(name))  # 6: an epoch's end
    longer = _fit(tiny_domains, tmp_path / "longer", 8, f"--ckpt_path={tmp_path / 'finished/checkpoints/last.ckpt'}",
                  configs=_configs(name))  # fmt: skip
    assert longer["global_step"] == 8 and longer["hyper_parameters"]["qs_attn"] == (
        "global" if name.startswith("qs") else "none"
    )
    for key, expected in reference["state_dict"].items():
        assert torch.equal(expected, longer["state_dict"][key]), f"{key} differs from the uninterrupted run"


@pytest.mark.parametrize("name", ["qsattn_quickstart", "monce_quickstart"])
def test_predict_and_export_work_as_for_cut(name, tiny_domains, tmp_path):
    import translate

    _fit(tiny_domains, tmp_path / "run", 2, configs=_configs(name))
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    main(["predict", "--ckpt", str(checkpoint), "--input", str(tiny_domains / "testA"), "--output",
          str(tmp_path / "out")])  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in (tiny_domains / "testA").iterdir()
    )
    main(["export", "--ckpt", str(checkpoint), "--format", "torchscript", "--output", str(tmp_path / "g.pt")])
    x = torch.rand(1, 3, 20, 28) * 2 - 1
    with torch.no_grad():
        expected = translate.inference.loading.load_model(checkpoint)(x)
        assert torch.allclose(torch.jit.load(str(tmp_path / "g.pt"))(x), expected, atol=1e-5)
