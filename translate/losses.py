"""Loss terms shared by the translation models: pure functions of tensors, no modules, no state.

Reductions run in fp32 so that fp16 autocast cannot overflow a sum of squares.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor

GanMode = Literal["lsgan", "vanilla", "hinge", "wgangp"]


def _check_mode(mode: str) -> None:
    if mode not in get_args(GanMode):
        raise ValueError(f"unknown GAN mode {mode!r}, expected one of {get_args(GanMode)}")


def discriminator_loss(real: Tensor, fake: Tensor, mode: GanMode = "lsgan") -> Tensor:
    """Adversarial loss for D given its logits on real and (detached) fake images.

    lsgan (Mao et al. 2017) and vanilla (Goodfellow et al. 2014) are halved as in the official CycleGAN, which slows
    D relative to G; hinge (Lim & Ye 2017) and wgangp (Gulrajani et al. 2017) use their papers' sums. For wgangp add
    ``lambda_gp * gradient_penalty(...)`` on top: it needs the critic itself, not only its outputs.
    """
    _check_mode(mode)
    real, fake = real.float(), fake.float()
    if mode == "lsgan":
        return 0.5 * (F.mse_loss(real, torch.ones_like(real)) + F.mse_loss(fake, torch.zeros_like(fake)))
    if mode == "vanilla":  # softplus(-x) = -log(sigmoid(x)): BCE with logits, stable for large |x|
        return 0.5 * (F.softplus(-real).mean() + F.softplus(fake).mean())
    if mode == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    return fake.mean() - real.mean()  # wgangp: the critic's Wasserstein estimate, negated


def generator_loss(fake: Tensor, mode: GanMode = "lsgan") -> Tensor:
    """Adversarial loss for G given D's logits on G's output (non-saturating for vanilla)."""
    _check_mode(mode)
    fake = fake.float()
    if mode == "lsgan":
        return F.mse_loss(fake, torch.ones_like(fake))
    if mode == "vanilla":
        return F.softplus(-fake).mean()
    return -fake.mean()  # hinge and wgangp: G raises the critic's score


def _autocast_off(device: torch.device) -> AbstractContextManager:
    """A context with autocast disabled on ``device`` (nothing to disable where its type has no autocast)."""
    if torch.amp.is_autocast_available(device.type):
        return torch.autocast(device.type, enabled=False)
    return nullcontext()


def _penalty_dtype(critic: Callable[[Tensor], Tensor], real: Tensor) -> torch.dtype:
    """The critic's weight dtype (fp32 under mixed precision, fp64 under 64-true; 16-true and bf16-true have no fp32
    weights to run in), or fp32 or wider for a critic without parameters."""
    params = critic.parameters() if isinstance(critic, torch.nn.Module) else ()
    return next((p.dtype for p in params if p.is_floating_point()), torch.promote_types(real.dtype, torch.float32))


def gradient_penalty(
    critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, *, dtype: torch.dtype | None = None
) -> Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017, Eq. 3): E[(||grad_x D(x)||_2 - 1)^2] on random interpolates.

    ``critic`` maps images to scores of any shape; patch scores are summed per image, so the penalty constrains the
    whole critic's slope. Uses ``create_graph=True`` so the penalty itself is differentiable w.r.t. D's weights.

    Second order, so it runs in fp32 with autocast off whatever the caller's precision: the interpolates, the critic's
    pass on them, the input gradient and (backward replays the dtypes recorded here) the double backward. Measured on
    the CPU with a tiny PatchGAN: under bf16 autocast the penalty came out 8.0e-3 instead of 5.4e-4, and under fp16
    the double backward gave NaN weight gradients at any loss scale, so GradScaler skipped every critic step.

    ``dtype`` is the critic's weight dtype, read from its parameters when None; give it for a critic that is a
    function rather than a Module (whose weights would otherwise be taken for fp32: bf16-true would fail).
    """
    dtype = dtype or _penalty_dtype(critic, real)
    with _autocast_off(real.device):
        real, fake = real.detach().to(dtype), fake.detach().to(dtype)
        # drawn in fp32 whatever the precision: 64-true and bf16-true take the same interpolates as fp32 training
        alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=torch.float32).to(dtype)
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        scores = critic(mixed)
        (grad,) = torch.autograd.grad(scores.float().sum(), mixed, create_graph=True)
        return (grad.float().flatten(1).norm(2, dim=1) - 1).square().mean()


def l1(x: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error in fp32 (cycle, identity and reconstruction terms)."""
    return (x.float() - target.float()).abs().mean()


def _pair_vectors(embeddings: Tensor) -> Tensor:
    """Every ordered pair's transformation vector e_i - e_j, i != j: (B * (B - 1), D) from (B, D)."""
    vectors = embeddings.float()[:, None] - embeddings.float()[None]  # (B, B, D)
    off_diagonal = ~torch.eye(len(embeddings), dtype=torch.bool, device=embeddings.device)
    return vectors[off_diagonal]


def travel_cosine(emb_real: Tensor, emb_fake: Tensor) -> Tensor:
    """Mean cosine similarity between v_ij = S(x_i) - S(x_j) and v'_ij = S(G(x_i)) - S(G(x_j)) over all pairs."""
    return F.cosine_similarity(_pair_vectors(emb_real), _pair_vectors(emb_fake), dim=-1).mean()


def travel_loss(emb_real: Tensor, emb_fake: Tensor) -> Tensor:
    """TraVeL loss (Amodio & Krishnaswamy 2019, Eq. 3): transformation vectors survive translation.

    Over all ordered pairs i != j of the batch: mean_d (v_ij - v'_ij)^2 + 1 - cos(v_ij, v'_ij), where ``emb_real`` is
    S(x) and ``emb_fake`` is S(G(x)), both (B, D). The squared distance is averaged over the D dimensions, the scale
    of the official code (a sum would weigh it D times more against the cosine term). Needs B >= 2.
    """
    v_real, v_fake = _pair_vectors(emb_real), _pair_vectors(emb_fake)
    cosine = F.cosine_similarity(v_real, v_fake, dim=-1)  # (P,)
    return (v_real - v_fake).square().mean(-1).mean() + (1 - cosine).mean()


def margin_loss(embeddings: Tensor, margin: float = 10.0) -> Tensor:
    """Siamese margin loss (Amodio & Krishnaswamy 2019, Eq. 4): mean over pairs of max(0, margin - ||v_ij||^2).

    Keeps S from collapsing every image to one point, which would satisfy ``travel_loss`` trivially. Needs B >= 2.
    """
    return F.relu(margin - _pair_vectors(embeddings).square().sum(-1)).mean()


def anchor_distance(vectors: Tensor, anchor: Tensor) -> Tensor:
    """Squared euclidean distance ||v - anchor||^2 of each (B, L) vector to the anchor (L values or one): (B,)."""
    return (vectors.float() - anchor.float()).square().sum(-1)


def anchor_discriminator_loss(real: Tensor, fake: Tensor, anchor: Tensor, margin: float) -> Tensor:
    """Siamese-discriminator realism loss for D: real vectors to the anchor, fakes at least ``margin`` away.

    0.5 * (mean ||D(y) - a||^2 + mean max(0, sqrt(margin) - ||D(G(x)) - a||)^2), ``margin`` a squared distance.
    With one-dimensional vectors, anchor a and margin (a - b)^2 it is the halved LSGAN loss with targets a (real)
    and b (fake) while fake scores lie between b and a; a fake already past b costs nothing (one-sided, like hinge).
    """
    fake_gap = F.relu(margin**0.5 - anchor_distance(fake, anchor).clamp_min(1e-12).sqrt())
    return 0.5 * (anchor_distance(real, anchor).mean() + fake_gap.square().mean())


def anchor_generator_loss(fake: Tensor, anchor: Tensor) -> Tensor:
    """Siamese-discriminator realism loss for G: mean ||D(G(x)) - a||^2 (LSGAN's generator loss when L = 1)."""
    return anchor_distance(fake, anchor).mean()


def contrastive_realism_loss(real: Tensor, fake: Tensor, anchor: Tensor, margin: float) -> Tensor:
    """Siamese-discriminator realism loss for D in the contrastive form of Pasini's "A New Way to look at GANs" (after
    Hadsell et al. 2006): mean d(D(y)) + mean max(0, margin - d(D(G(x))))^2, d the squared distance to the anchor.

    Real vectors are pulled to the anchor, fakes pushed until their squared distance reaches ``margin``.
    """
    return anchor_distance(real, anchor).mean() + F.relu(margin - anchor_distance(fake, anchor)).square().mean()


def angle_loss(emb_real: Tensor, emb_fake: Tensor) -> Tensor:
    """Content as the same article has it: the mean cosine distance 1 - cos(v_ij, v'_ij) between transformation vectors
    of real pairs and of their translations. Unlike ``travel_loss`` it leaves the vectors' lengths free: "angle and
    magnitude of vectors are independent features", the magnitude carrying realism."""
    return 1 - travel_cosine(emb_real, emb_fake)


# The classic losses of the noise-to-image GANs (translate.models.noise) ----------------------------------------------

NoiseLoss = Literal["minimax", "nonsaturating", "lsgan", "hinge", "wgan", "wgangp"]


def bce_discriminator_loss(real: Tensor, fake: Tensor, real_target: float = 1.0) -> Tensor:
    """D's side of the original GAN (Goodfellow et al. 2014, Eq. 1): -mean log D(x) - mean log(1 - D(G(z))), as two
    binary cross-entropies on logits (the reference DCGAN's errD_real + errD_fake).

    ``real_target`` < 1 is one-sided label smoothing (Salimans et al. 2016, Sec. 3.4; 0.9): real images get that
    target, fakes keep 0, so D is not rewarded for ever more confident logits on real data.
    """
    real, fake = real.float(), fake.float()
    return F.binary_cross_entropy_with_logits(real, torch.full_like(real, real_target)) + F.softplus(fake).mean()


def minimax_generator_loss(fake: Tensor) -> Tensor:
    """G minimises mean log(1 - D(G(z))) (Goodfellow et al. 2014, Eq. 1): log(1 - sigmoid(x)) = -softplus(x). It
    saturates: while D rejects the fakes confidently the gradient vanishes, which is why the paper suggests the
    non-saturating form."""
    return -F.softplus(fake.float()).mean()


def nonsaturating_generator_loss(fake: Tensor) -> Tensor:
    """G minimises -mean log D(G(z)) (Goodfellow et al. 2014, Sec. 3): the same fixed point, strong early gradients."""
    return F.softplus(-fake.float()).mean()


def wgan_critic_loss(real: Tensor, fake: Tensor) -> Tensor:
    """The critic's loss of WGAN (Arjovsky et al. 2017, Alg. 1) and WGAN-GP before its penalty: mean f(G(z)) - mean
    f(x), the negated Wasserstein-1 estimate."""
    return fake.float().mean() - real.float().mean()


def clip_weights_(parameters, clip: float) -> None:
    """WGAN's Lipschitz constraint (Arjovsky et al. 2017, Alg. 1; c = 0.01): clamp every critic weight to [-c, c] in
    place after each critic step."""
    with torch.no_grad():
        for parameter in parameters:
            parameter.clamp_(-clip, clip)


def noise_discriminator_loss(real: Tensor, fake: Tensor, loss: NoiseLoss, *, real_target: float = 1.0) -> Tensor:
    """D's adversarial loss by name, from its logits on real and (detached) fake images.

    minimax and nonsaturating share D's cross-entropy (``bce_discriminator_loss``, where ``real_target`` applies);
    lsgan (Mao et al. 2017, Eq. 2 with a = 0, b = 1: the halved sum) and hinge are ``discriminator_loss``'s; wgan and
    wgangp the critic's ``wgan_critic_loss`` (add the clipping or ``lambda_gp * gradient_penalty`` yourself).
    """
    if loss not in get_args(NoiseLoss):
        raise ValueError(f"unknown loss {loss!r}, expected one of {get_args(NoiseLoss)}")
    if loss in ("minimax", "nonsaturating"):
        return bce_discriminator_loss(real, fake, real_target)
    if loss in ("wgan", "wgangp"):
        return wgan_critic_loss(real, fake)
    return discriminator_loss(real, fake, loss)


def noise_generator_loss(fake: Tensor, loss: NoiseLoss) -> Tensor:
    """G's adversarial loss by name, from D's logits on G's samples: minimax, non-saturating, LSGAN's
    mean (D(G(z)) - 1)^2, or -mean D(G(z)) for hinge, wgan and wgangp."""
    if loss not in get_args(NoiseLoss):
        raise ValueError(f"unknown loss {loss!r}, expected one of {get_args(NoiseLoss)}")
    if loss == "minimax":
        return minimax_generator_loss(fake)
    if loss == "nonsaturating":
        return nonsaturating_generator_loss(fake)
    return generator_loss(fake, "lsgan" if loss == "lsgan" else "hinge")


FeatureDistance = Literal["squared", "absolute"]


def feature_matching_loss(
    features_real: Tensor, features_fake: Tensor, distance: FeatureDistance = "squared"
) -> Tensor:
    """Feature matching (Salimans et al. 2016, Sec. 3.1): G matches the batch mean of an intermediate layer of D on
    real images, averaged over the features so that its scale does not grow with D's width. ``features_real`` is
    detached.

    ``squared``: mean_k (E f_k(x) - E f_k(G(z)))^2, the paper's ||E f(x) - E f(G(z))||_2^2 over the feature count and
    the authors' MNIST code (openai/improved-gan, train_mnist_feature_matching.py: ``T.mean(T.square(mom_gen -
    mom_real))``). ``absolute``: mean_k |E f_k(x) - E f_k(G(z))|, their CIFAR-10 and SVHN code
    (train_cifar_feature_matching.py, train_svhn_feature_matching.py: ``T.mean(abs(m1 - m2))``).
    """
    if distance not in get_args(FeatureDistance):
        raise ValueError(f"unknown feature-matching distance {distance!r}, expected one of {get_args(FeatureDistance)}")
    difference = features_real.detach().float().flatten(1).mean(0) - features_fake.float().flatten(1).mean(0)
    return difference.square().mean() if distance == "squared" else difference.abs().mean()


def kl_normal_loss(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over the latent, averaged over the batch (Kingma & Welling 2014,
    Appendix B): -0.5 * sum(1 + logvar - mu^2 - exp(logvar))."""
    mu, logvar = mu.float(), logvar.float()
    return (-0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(1)).mean()


def r1_penalty(critic: Callable[[Tensor], Tensor], real: Tensor) -> Tensor:
    """R1 (Mescheder et al. 2018, Eq. 9, before its gamma / 2): E[||grad_x D(x)||^2] on real images only.

    Zero-centred on the data, unlike WGAN-GP's unit slope between reals and fakes: D is pushed to be flat around real
    images, which keeps it from growing sharp slopes G then follows. Patch scores are summed per image, as in
    ``gradient_penalty``, and it runs in fp32 with autocast off for the same reasons.
    """
    dtype = _penalty_dtype(critic, real)
    with _autocast_off(real.device):
        real = real.detach().to(dtype).requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(real).float().sum(), real, create_graph=True)
        return grad.float().flatten(1).square().sum(dim=1).mean()
