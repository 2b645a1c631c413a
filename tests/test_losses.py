"""Loss functions against hand-computed values and their defining properties: GAN losses, the gradient penalty, L1,
TraVeLGAN's TraVeL, margin and anchor losses.
"""

import math

import pytest
import torch
from torch import nn

from translate import losses


@pytest.mark.parametrize(
    "mode, real, fake, expected",
    [
        ("lsgan", 1.0, 0.0, 0.0),  # perfect D
        ("lsgan", 0.0, 1.0, 1.0),  # fooled D: 0.5 * (1 + 1)
        ("lsgan", 0.5, 0.5, 0.25),
        ("vanilla", 0.0, 0.0, math.log(2)),  # 0.5 * (log 2 + log 2)
        ("vanilla", 20.0, -20.0, 0.5 * 2 * math.log1p(math.exp(-20))),
        ("hinge", 2.0, -2.0, 0.0),
        ("hinge", 0.0, 0.0, 2.0),
        ("hinge", 0.5, 0.25, 0.5 + 1.25),
        ("wgangp", 3.0, 1.0, -2.0),
    ],
)
def test_discriminator_loss_values(mode, real, fake, expected):
    value = losses.discriminator_loss(torch.full((2, 1, 3, 3), real), torch.full((2, 1, 3, 3), fake), mode)
    assert value.item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "mode, fake, expected",
    [
        ("lsgan", 1.0, 0.0),
        ("lsgan", 0.0, 1.0),
        ("vanilla", 0.0, math.log(2)),
        ("hinge", 0.7, -0.7),
        ("wgangp", 2.0, -2.0),
    ],
)
def test_generator_loss_values(mode, fake, expected):
    assert losses.generator_loss(torch.full((2, 1, 3, 3), fake), mode).item() == pytest.approx(expected, abs=1e-6)


def test_sure_discriminator_beats_fooled_one():
    for mode in ("lsgan", "vanilla", "hinge", "wgangp"):
        sure = losses.discriminator_loss(torch.full((4,), 3.0), torch.full((4,), -3.0), mode)
        fooled = losses.discriminator_loss(torch.full((4,), -3.0), torch.full((4,), 3.0), mode)
        assert sure < fooled, mode


def test_unknown_mode_names_the_choices():
    with pytest.raises(ValueError, match="lsgan.*vanilla.*hinge.*wgangp"):
        losses.discriminator_loss(torch.zeros(1), torch.zeros(1), "wgan")
    with pytest.raises(ValueError, match="expected one of"):
        losses.generator_loss(torch.zeros(1), "bce")


def test_fp16_logits_do_not_overflow():
    big = torch.full((4, 1, 8, 8), 300.0, dtype=torch.float16)  # 300^2 = 90000 > fp16 max 65504
    value = losses.generator_loss(-big, "lsgan")
    assert value.dtype == torch.float32 and torch.isfinite(value) and value.item() == pytest.approx(301**2)


class _LinearCritic(nn.Module):
    """D(x) = <w, x> per image: its input gradient is w everywhere, so its slope is ||w||."""

    def __init__(self, slope: float):
        super().__init__()
        weight = torch.randn(3, 8, 8)
        self.weight = nn.Parameter(weight / weight.norm() * slope)

    def forward(self, x):
        return (x * self.weight).flatten(1).sum(1)


def test_gradient_penalty_zero_for_unit_slope_and_positive_otherwise():
    real, fake = torch.randn(4, 3, 8, 8), torch.randn(4, 3, 8, 8)
    assert losses.gradient_penalty(_LinearCritic(1.0), real, fake).item() == pytest.approx(0.0, abs=1e-10)
    assert losses.gradient_penalty(_LinearCritic(3.0), real, fake).item() == pytest.approx(4.0, rel=1e-5)


def test_gradient_penalty_reaches_the_critic_weights():
    critic = _LinearCritic(3.0)
    losses.gradient_penalty(critic, torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)).backward()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||: along w, magnitude 2 * 2 = 4
    assert critic.weight.grad is not None
    assert critic.weight.grad.norm().item() == pytest.approx(4.0, rel=1e-4)


def test_l1_is_fp32_mean_absolute_error():
    value = losses.l1(torch.tensor([1.0, -1.0], dtype=torch.float16), torch.tensor([0.0, 1.0]))
    assert value.dtype == torch.float32 and value.item() == pytest.approx(1.5)


# --- TraVeLGAN --------------------------------------------------------------------------------------------------------


def test_travel_loss_is_zero_for_a_shift_and_positive_otherwise():
    emb = torch.randn(5, 7)
    assert losses.travel_loss(emb, emb + torch.randn(7)) == pytest.approx(0.0, abs=1e-5)  # same vectors v_ij
    assert losses.travel_cosine(emb, emb + 3.0) == pytest.approx(1.0, abs=1e-5)
    assert losses.travel_loss(emb, 2 * emb) > 0.1  # same directions, different lengths
    assert losses.travel_loss(emb, emb[[1, 0, 2, 3, 4]]) > 0.1  # two images swapped
    assert losses.travel_loss(emb, torch.randn(5, 7)) > 0.1


def test_travel_and_margin_losses_use_all_ordered_pairs():
    emb_real, emb_fake, margin = torch.randn(4, 6), torch.randn(4, 6), 12.0
    travel, hinge = [], []
    for i in range(4):
        for j in range(4):
            if i != j:
                v, w = emb_real[i] - emb_real[j], emb_fake[i] - emb_fake[j]
                travel.append((v - w).square().mean() + 1 - torch.dot(v, w) / (v.norm() * w.norm()))
                hinge.append(max(0.0, margin - v.square().sum().item()))
    assert losses.travel_loss(emb_real, emb_fake) == pytest.approx(torch.stack(travel).mean().item(), rel=1e-5)
    assert losses.margin_loss(emb_real, margin) == pytest.approx(sum(hinge) / len(hinge), rel=1e-5)


def test_margin_loss_is_zero_beyond_the_margin_only():
    far = torch.tensor([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])  # squared distances 16 and 32
    assert losses.margin_loss(far, margin=10.0) == 0
    assert losses.margin_loss(far, margin=20.0) > 0  # the pair (1, 2)... and (0, 1), (0, 2) at 16 < 20
    assert losses.margin_loss(torch.zeros(3, 2), margin=10.0) == pytest.approx(10.0)  # collapse costs the margin


def test_anchor_realism_loss_with_one_dimension_is_lsgan():
    real, fake = torch.randn(6, 1) * 2, torch.rand(6, 1)  # fake scores between LSGAN's targets b = 0 and a = 1
    anchor = torch.tensor(1.0)
    assert losses.anchor_generator_loss(fake, anchor) == pytest.approx(losses.generator_loss(fake, "lsgan").item())
    lsgan_d = losses.discriminator_loss(real, fake, "lsgan")
    assert losses.anchor_discriminator_loss(real, fake, anchor, margin=1.0) == pytest.approx(lsgan_d.item())
    # the generator's loss is LSGAN's for any score, not only inside [b, a]
    wide = torch.randn(6, 1) * 3
    assert losses.anchor_generator_loss(wide, anchor) == pytest.approx(losses.generator_loss(wide, "lsgan").item())
    # a fake beyond the margin costs D nothing (one-sided), where LSGAN would still pull it to b
    assert losses.anchor_discriminator_loss(anchor[None, None], torch.full((1, 1), -2.0), anchor, 1.0) == 0


def test_contrastive_realism_loss_is_the_articles_form():
    # Pasini's "A New Way to look at GANs": d for real vectors, max(0, M - d)^2 for fakes, d the squared distance
    anchor = torch.zeros(())
    real, far_fake, near_fake = torch.tensor([[2.0, 0.0]]), torch.tensor([[3.0, 4.0]]), torch.tensor([[1.0, 0.0]])
    assert losses.contrastive_realism_loss(real, far_fake, anchor, margin=25.0) == pytest.approx(4.0)  # d(fake) = 25
    assert losses.contrastive_realism_loss(real, near_fake, anchor, margin=25.0) == pytest.approx(4.0 + 24.0**2)
    assert losses.contrastive_realism_loss(anchor.expand(1, 2), far_fake, anchor, margin=100.0) == pytest.approx(75**2)


def test_angle_loss_ignores_magnitude_where_travel_loss_does_not():
    real = torch.randn(5, 8)
    for fake in (real + 3.0, real * 4.0):  # a shift and a scaling keep every transformation vector's direction
        assert losses.angle_loss(real, fake) == pytest.approx(0.0, abs=1e-6)
    assert losses.travel_loss(real, real * 4.0) > 1.0  # TraVeL's squared difference ties lengths too
    assert losses.angle_loss(real, -real) == pytest.approx(2.0, abs=1e-6)  # every vector reversed


# --- the classic losses of the noise models (hand-computed values) ---------------------------------------------------

LOGIT_09, LOGIT_01 = math.log(9.0), math.log(1 / 9)  # sigmoid: 0.9 and 0.1


def test_bce_discriminator_loss_and_one_sided_label_smoothing():
    real, fake = torch.full((3, 1), LOGIT_09), torch.full((3, 1), LOGIT_01)
    # -log 0.9 (real judged real with 0.9) - log(1 - 0.1) (fake judged fake with 0.9)
    assert losses.bce_discriminator_loss(real, fake) == pytest.approx(-2 * math.log(0.9), rel=1e-5)
    # target 0.9 for real: -(0.9 log 0.9 + 0.1 log 0.1); fakes keep their target 0 (one-sided)
    smoothed = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1)) - math.log(0.9)
    assert losses.bce_discriminator_loss(real, fake, real_target=0.9) == pytest.approx(smoothed, rel=1e-5)
    for loss in ("minimax", "nonsaturating"):
        assert losses.noise_discriminator_loss(real, fake, loss, real_target=0.9) == pytest.approx(smoothed, rel=1e-5)


def test_minimax_and_nonsaturating_generator_losses():
    fake = torch.full((2, 1), LOGIT_01)  # D gives the fakes 0.1
    assert losses.minimax_generator_loss(fake) == pytest.approx(math.log(0.9), rel=1e-5)  # log(1 - D(G(z)))
    assert losses.nonsaturating_generator_loss(fake) == pytest.approx(-math.log(0.1), rel=1e-5)  # -log D(G(z))
    assert losses.noise_generator_loss(fake, "minimax") == losses.minimax_generator_loss(fake)
    # the minimax gradient vanishes as D grows sure (saturation), the non-saturating one does not
    sure = torch.full((1, 1), -10.0, requires_grad=True)
    (grad_minimax,) = torch.autograd.grad(losses.minimax_generator_loss(sure), sure)
    (grad_nonsat,) = torch.autograd.grad(losses.nonsaturating_generator_loss(sure), sure)
    assert abs(grad_minimax.item()) < 1e-4 and abs(grad_nonsat.item()) > 0.99


def test_wgan_critic_loss_and_weight_clipping():
    real, fake = torch.tensor([[1.0], [3.0]]), torch.tensor([[0.5], [-0.5]])
    assert losses.wgan_critic_loss(real, fake) == pytest.approx(-2.0)  # mean f(G(z)) - mean f(x) = 0 - 2
    for loss in ("wgan", "wgangp"):
        assert losses.noise_discriminator_loss(real, fake, loss) == pytest.approx(-2.0)
        assert losses.noise_generator_loss(real, loss) == pytest.approx(-2.0)
    weights = nn.Parameter(torch.tensor([0.5, -0.02, 0.005]))
    losses.clip_weights_([weights], 0.01)
    assert weights.tolist() == pytest.approx([0.01, -0.01, 0.005])


def test_noise_lsgan_and_hinge_values():
    real, fake = torch.tensor([[1.0], [0.0]]), torch.tensor([[0.0], [1.0]])
    assert losses.noise_discriminator_loss(real, fake, "lsgan") == pytest.approx(0.5)  # 0.5 * (0.5 + 0.5)
    assert losses.noise_generator_loss(fake, "lsgan") == pytest.approx(0.5)  # mean (D(G(z)) - 1)^2
    real, fake = torch.tensor([[2.0], [0.0]]), torch.tensor([[-2.0], [0.0]])
    assert losses.noise_discriminator_loss(real, fake, "hinge") == pytest.approx(1.0)  # 0.5 + 0.5
    assert losses.noise_generator_loss(fake, "hinge") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="expected one of"):
        losses.noise_generator_loss(fake, "relativistic")


def test_feature_matching_loss_is_either_of_the_authors_forms():
    # openai/improved-gan: m1 = T.mean(real, axis=0), m2 = T.mean(fake, axis=0); CIFAR-10 and SVHN take
    # T.mean(abs(m1 - m2)), MNIST T.mean(T.square(m1 - m2)). By hand: m1 = (2, 3), m2 = (1, 5), m1 - m2 = (1, -2).
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    fake = torch.tensor([[0.0, 4.0], [2.0, 6.0]], requires_grad=True)
    absolute = losses.feature_matching_loss(real, fake, "absolute")
    assert absolute.item() == pytest.approx((1 + 2) / 2)
    absolute.backward()
    # d/d fake[i, k] = -sign(m1_k - m2_k) / (features * batch): feature 0 pulled up, feature 1 down, 1/4 each
    torch.testing.assert_close(fake.grad, torch.tensor([[-0.25, 0.25], [-0.25, 0.25]]))
    fake.grad = None
    squared = losses.feature_matching_loss(real, fake)  # the default: the paper's norm over the feature count
    assert squared.item() == pytest.approx((1 + 4) / 2)
    squared.backward()
    # d/d fake[i, k] = -2 (m1_k - m2_k) / (features * batch)
    torch.testing.assert_close(fake.grad, torch.tensor([[-0.5, 1.0], [-0.5, 1.0]]))
    assert losses.feature_matching_loss(real, real, "absolute") == 0 == losses.feature_matching_loss(real, real)
    with pytest.raises(ValueError, match="'absolute'"):
        losses.feature_matching_loss(real, fake, "l1")


def test_kl_normal_loss():
    assert losses.kl_normal_loss(torch.zeros(3, 4), torch.zeros(3, 4)) == 0  # already the prior
    mu, logvar = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, math.log(2.0)]])
    # -0.5 * [(1 + 0 - 1 - 1) + (1 + log 2 - 0 - 2)] = 1 - log(2) / 2
    assert losses.kl_normal_loss(mu, logvar) == pytest.approx(1 - math.log(2) / 2, rel=1e-6)
