"""TraVeLGAN (Amodio & Krishnaswamy 2019, arXiv:1902.09631) and a variant whose discriminator is the siamese network.

See docs/models.md for the objectives written out.
"""

from collections.abc import Callable, Iterator
from functools import partial
from typing import Literal

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn
from torch.nn.utils import parametrize

from translate import losses
from translate.models.checks import (
    attached_data,
    check_channels,
    check_checkpoint_fits,
    check_precision,
    check_two_domains,
)
from translate.models.contract import ReportsOwnMetrics, ShowsSamples, TranslationModel
from translate.models.ema import moving_average
from translate.models.two_way import TwoWayTranslation
from translate.networks import DiscriminatorFactory, GeneratorFactory
from translate.schedules import catch_up, check_weight_end, linear_weight, run_length

# "article": Pasini's "A New Way to look at GANs" (magnitude = realism, contrastive; angle = content, cosine only);
# "travel": realism as one-sided distance hinge, content the full TraVeL loss plus the siamese margin (0.1's default).
SiameseObjective = Literal["article", "travel"]
CONTENT_TERMS = ("travel_", "margin_", "angle_")  # the terms lambda_travel weighs
SiameseFactory = Callable[[int], nn.Module]  # channels -> network mapping (B, C, H, W) to (B, embed_dim)
# KrishnaswamyLab/travelgan train.py; TTUR from SAGAN (Zhang et al. 2019): D learns 4x faster. fused: see cyclegan.py.
OFFICIAL_ADAM = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999), fused=True)
TTUR_G = partial(torch.optim.Adam, lr=1e-4, betas=(0.0, 0.9), fused=True)
TTUR_D = partial(torch.optim.Adam, lr=4e-4, betas=(0.0, 0.9), fused=True)


class TraVeLGAN(TwoWayTranslation, LightningModule, TranslationModel, ShowsSamples, ReportsOwnMetrics):
    """Generator ``gen_ab`` (A -> B), discriminator ``disc_b`` (judges B) and siamese network ``siamese`` (S).

    With ``bidirectional`` (the official code) ``gen_ba`` and ``disc_a`` train at the same time, sharing S.

    Args:
        siamese: Builds S; it is updated by the generators' optimizer, as in the official code.
        optimizer: The generators' and S's optimizer (official Adam lr 2e-4, beta1 0.5); also D's unless
            ``optimizer_d`` is given.
        scheduler: Per-epoch schedule for both optimizers; None keeps the rates constant (the official default).
        gan_mode: Adversarial loss (official: non-saturating ``vanilla``); ``wgangp`` is not supported.
        lambda_travel: Weight of TraVeL + margin losses against the adversarial loss (official: 10, Eq. 5).
        margin: Siamese margin on the squared length of real transformation vectors (official: 10, Eq. 4).
        lambda_identity: Weight of ||G_AB(b) - b||_1 (and ||G_BA(a) - a||_1 both ways) against the adversarial loss
            (CycleGAN's identity term; not in TraVeLGAN, 0 = off). TraVeL only keeps what S sees as differences
            between images, and S learns with G, so it may drop a colour G changes; the identity term ties colours.
        lambda_identity_end: Move the identity weight linearly from ``lambda_identity`` (first step) to this value
            (the run's last step: ``trainer.max_steps``, or ``max_epochs`` epochs), a function of the global step
            only, so a resumed run weighs as the uninterrupted one; logged as ``train/g/lambda_identity``. None: the
            weight stays ``lambda_identity``. A run of neither length is refused.
        ema_decay: Keep exponential moving averages of the generators (e.g. 0.999; None: off), saved in checkpoints
            and used by ``forward``, predict and sample grids.
    """

    def __init__(
        self,
        generator: GeneratorFactory,
        discriminator: DiscriminatorFactory,
        siamese: SiameseFactory | None,
        optimizer: OptimizerCallable = OFFICIAL_ADAM,
        optimizer_d: OptimizerCallable | None = None,
        scheduler: LRSchedulerCallable | None = None,
        *,
        channels: int = 3,
        gan_mode: losses.GanMode = "vanilla",
        lambda_travel: float = 10.0,
        margin: float = 10.0,
        lambda_identity: float = 0.0,
        lambda_identity_end: float | None = None,
        bidirectional: bool = True,
        ema_decay: float | None = None,
    ):
        super().__init__()
        if gan_mode == "wgangp":
            raise ValueError("gan_mode 'wgangp' is not supported by TraVeLGAN; use 'vanilla', 'lsgan' or 'hinge'")
        check_weight_end(lambda_identity_end, "lambda_identity_end")
        self.save_hyperparameters()  # under LightningCLI: class_path/init_args, so load_from_checkpoint rebuilds
        self.automatic_optimization = False  # D step, then G (with S) step per batch
        self.gen_ab, self.disc_b = generator(channels, channels), discriminator(channels)
        self.gen_ba = generator(channels, channels) if bidirectional else None
        self.disc_a = discriminator(channels) if bidirectional else None
        self.siamese = siamese(channels) if siamese is not None else None
        self.ema_ab = moving_average(self.gen_ab, ema_decay)  # what forward (predict, grids) uses when kept
        self.ema_ba = moving_average(self.gen_ba, ema_decay) if self.gen_ba is not None else None
        self.optimizer, self.optimizer_d, self.scheduler = optimizer, optimizer_d or optimizer, scheduler

    # the model contract: TwoWayTranslation answers it (and forward) from the generators; gen_ba is None one way
    translates_at = "training"  # the U-Net sees the whole image through its bottleneck: scale matters

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        check_checkpoint_fits(self, checkpoint)  # one clear line for another model's or architecture's checkpoint

    def setup(self, stage: str) -> None:
        check_precision(self)
        data = attached_data(self)
        check_channels(self, data)
        check_two_domains(self, data)
        if stage == "fit" and data is not None and data.batch_size < 2:
            raise ValueError("TraVeLGAN compares pairs of images within a batch: set data.batch_size >= 2")
        if stage == "fit" and self.hparams.lambda_identity_end is not None:
            run_length(self.trainer, "lambda_identity_end")  # refuses a run of no length before it starts

    def embed(self, x: Tensor, disc: nn.Module) -> Tensor:
        """Latent vectors (B, D) whose differences must survive translation; ``disc`` judges x's target domain."""
        return self.siamese(x)

    def _directions(self, real_a: Tensor, real_b: Tensor) -> Iterator[tuple[str, nn.Module, nn.Module, Tensor, Tensor]]:
        yield "ab", self.gen_ab, self.disc_b, real_a, real_b  # name, generator, its judge, source, target
        if self.gen_ba is not None:
            yield "ba", self.gen_ba, self.disc_a, real_b, real_a

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        real_a, real_b = batch
        if min(len(real_a), len(real_b)) < 2:  # a last batch of one image has no pairs
            return
        opt_g, opt_d = self.optimizers()
        # The official order: D learns first, then G (and S) against the updated D. Each translation is computed
        # once: D's step sees it detached, G's step backpropagates through the same graph (G has not moved yet).
        fakes = {name: gen(source) for name, gen, _, source, _ in self._directions(real_a, real_b)}
        with self.toggled_optimizer(opt_d):
            with parametrize.cached():  # spectral norm: one power iteration and one weight for the step's terms
                loss_d = self._discriminator_losses(real_a, real_b, {name: f.detach() for name, f in fakes.items()})
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(loss_d)
            opt_d.step()
        with self.toggled_optimizer(opt_g):  # D's weights are frozen while G and S learn
            with parametrize.cached():
                loss_g = self._generator_losses(real_a, real_b, fakes)
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(loss_g)
            opt_g.step()
            for average, generator in ((self.ema_ab, self.gen_ab), (self.ema_ba, self.gen_ba)):
                if average is not None:
                    average.update_parameters(generator)

    def _content_terms(self, name: str, emb_real: Tensor, emb_fake: Tensor) -> dict[str, Tensor]:
        return {
            f"travel_{name}": losses.travel_loss(emb_real, emb_fake),
            f"margin_{name}": losses.margin_loss(emb_real, self.hparams.margin),
            f"cosine_{name}": losses.travel_cosine(emb_real, emb_fake).detach(),  # logged only
        }

    def _generator_terms(self, name: str, disc: nn.Module, source: Tensor, fake: Tensor) -> dict[str, Tensor]:
        """One direction's terms for G's step: adversarial, TraVeL, margin (S learns it here) and the cosine."""
        terms = {f"adv_{name}": losses.generator_loss(disc(fake), self.hparams.gan_mode)}
        return terms | self._content_terms(name, self.embed(source, disc), self.embed(fake, disc))

    def _generator_losses(self, real_a: Tensor, real_b: Tensor, fakes: dict[str, Tensor]) -> Tensor:
        terms = {}
        for name, _, disc, source, _ in self._directions(real_a, real_b):
            terms |= self._generator_terms(name, disc, source, fakes[name])
        adv = sum(terms[f"adv_{name}"] for name in fakes)
        # Averaged over the directions as in the official code; the adversarial terms add up.
        content = sum(value for key, value in terms.items() if key.startswith(CONTENT_TERMS)) / len(fakes)
        hp = self.hparams
        total = adv + hp.lambda_travel * content
        identity = linear_weight(hp.lambda_identity, hp.lambda_identity_end, self._trainer, "lambda_identity_end")
        if hp.lambda_identity_end is not None:
            self.log("train/g/lambda_identity", identity)
        if identity > 0:  # G_AB should leave images that are already in B unchanged
            for name, gen, _, _, target in self._directions(real_a, real_b):
                terms[f"idt_{name}"] = losses.l1(gen(target), target)
                total = total + identity * terms[f"idt_{name}"]
        self.log_dict({f"train/g/{key}": value for key, value in terms.items()})
        self.log("train/g/total", total, prog_bar=True)
        return total

    def _discriminator_losses(self, real_a: Tensor, real_b: Tensor, fakes: dict[str, Tensor]) -> Tensor:
        terms = {}
        for name, _, disc, _, target in self._directions(real_a, real_b):
            terms[name[-1]] = losses.discriminator_loss(disc(target), disc(fakes[name]), self.hparams.gan_mode)
        self.log_dict({f"train/d/{key}": value for key, value in terms.items()}, prog_bar=True)
        return sum(terms.values())

    def own_metrics(self, batch: tuple[Tensor, Tensor], batch_idx: int = 0) -> dict[str, Tensor]:
        """``cosine_{ab,ba}``: the TraVeL cosine between transformation vectors before and after translation (none
        for a batch of fewer than two images: a vector needs a pair)."""
        real_a, real_b = batch
        if min(len(real_a), len(real_b)) < 2:
            return {}
        return {f"cosine_{name}": losses.travel_cosine(self.embed(source, disc), self.embed(gen(source), disc))
                for name, gen, disc, source, _ in self._directions(real_a, real_b)}  # fmt: skip

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self.log_own_metrics(batch, batch_idx, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self.log_own_metrics(batch, batch_idx, "test")

    def on_train_batch_start(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        catch_up(self.lr_schedulers(), self.current_epoch)  # per-epoch schedules, right after a resume too

    @torch.no_grad()
    def sample_columns(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        """Columns of a sample grid, each (N, C, H, W) in [-1, 1]: real and translated, both ways if trained so."""
        real_a, real_b = batch
        columns = {"real_a": real_a, "fake_b": self(real_a, "a2b")}
        if self.gen_ba is not None:
            columns |= {"real_b": real_b, "fake_a": self(real_b, "b2a")}
        return columns

    def configure_optimizers(self):
        generators = [m for m in (self.gen_ab, self.gen_ba, self.siamese) if m is not None]
        discriminators = [m for m in (self.disc_b, self.disc_a) if m is not None]
        opt_g = self.optimizer([p for m in generators for p in m.parameters()])
        opt_d = self.optimizer_d([p for m in discriminators for p in m.parameters()])
        if self.scheduler is None:
            return [opt_g, opt_d]
        return [opt_g, opt_d], [self.scheduler(opt_g), self.scheduler(opt_d)]


class SiameseDiscTraVeLGAN(TraVeLGAN):
    """TraVeLGAN without S: the discriminator outputs a vector that measures both realism and content (Pasini, "A New
    Way to look at GANs").

    ``disc_b`` maps an image to a vector (its ``out_features`` is the vector length, ``vec_len``). With the default
    ``objective="article"``, as the article has it: the vector's distance to a fixed ``anchor`` is realism (D pulls
    real B vectors to it, d, and pushes fakes out, max(0, realism_margin - d)^2; G pulls its outputs' vectors in), and
    the angle between transformation vectors D(a_i) - D(a_j) and D(G(a_i)) - D(G(a_j)) is content (both minimise the
    cosine distance). ``objective="travel"`` is 0.1's design: realism max(0, sqrt(M) - sqrt(d))^2, content the full
    TraVeL loss (squared difference + cosine), and D also minimises the siamese margin on real pairs.

    Args:
        optimizer: The generators' optimizer (default TTUR: Adam 1e-4, betas (0, 0.9)).
        optimizer_d: The discriminators' optimizer (default TTUR: Adam 4e-4, betas (0, 0.9)).
        anchor: Coordinate of the anchor on every axis (0: the origin).
        realism_margin: Squared distance to the anchor beyond which fakes cost D nothing (M).
        objective: ``article`` or ``travel``, above; ``margin`` is used by ``travel`` only.
    """

    def __init__(
        self,
        generator: GeneratorFactory,
        discriminator: DiscriminatorFactory,
        optimizer: OptimizerCallable = TTUR_G,
        optimizer_d: OptimizerCallable = TTUR_D,
        scheduler: LRSchedulerCallable | None = None,
        *,
        channels: int = 3,
        lambda_travel: float = 10.0,
        margin: float = 10.0,
        bidirectional: bool = False,
        anchor: float = 0.0,
        realism_margin: float = 100.0,
        objective: SiameseObjective = "article",
        lambda_identity: float = 0.0,
        lambda_identity_end: float | None = None,
        ema_decay: float | None = None,
    ):
        if objective not in ("article", "travel"):
            raise ValueError(f"unknown objective {objective!r}, expected 'article' or 'travel'")
        super().__init__(generator, discriminator, None, optimizer, optimizer_d, scheduler, channels=channels,
                         lambda_travel=lambda_travel, margin=margin, lambda_identity=lambda_identity,
                         bidirectional=bidirectional, ema_decay=ema_decay,
                         lambda_identity_end=lambda_identity_end)  # fmt: skip
        self.save_hyperparameters()  # again: only this class's arguments, so load_from_checkpoint can rebuild it
        self.register_buffer("anchor", torch.tensor(float(anchor)), persistent=False)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        super().on_load_checkpoint(checkpoint)
        if self._trainer is not None and self.trainer.state.fn == "fit":
            check_same_objective(self.hparams, checkpoint.get("hyper_parameters", {}))

    def embed(self, x: Tensor, disc: nn.Module) -> Tensor:
        return disc(x)  # (B, vec_len): the discriminator plays S

    def _generator_terms(self, name: str, disc: nn.Module, source: Tensor, fake: Tensor) -> dict[str, Tensor]:
        vec_source, vec_fake = disc(source), disc(fake)  # one pass each: realism and content share vec_fake
        # No margin term: it depends only on D's vectors of real images, which G cannot move (D is frozen here).
        if self.hparams.objective == "article":
            content = {f"angle_{name}": losses.angle_loss(vec_source, vec_fake)}
        else:
            content = {f"travel_{name}": losses.travel_loss(vec_source, vec_fake)}
        return {
            f"adv_{name}": losses.anchor_generator_loss(vec_fake, self.anchor),
            **content,
            f"cosine_{name}": losses.travel_cosine(vec_source, vec_fake).detach(),  # logged only
        }

    def _discriminator_losses(self, real_a: Tensor, real_b: Tensor, fakes: dict[str, Tensor]) -> Tensor:
        terms, total = {}, 0.0
        for name, _, disc, source, target in self._directions(real_a, real_b):
            side = name[-1]  # the domain disc judges
            # One pass per batch: the realism and content terms share vec_fake
            vec_target, vec_source, vec_fake = disc(target), disc(source), disc(fakes[name])
            realism, content = self._discriminator_terms(side, vec_target, vec_source, vec_fake)
            terms |= {f"realism_{side}": realism, **content}
            terms[f"dist_real_{side}"] = losses.anchor_distance(vec_target, self.anchor).mean().detach()
            terms[f"dist_fake_{side}"] = losses.anchor_distance(vec_fake, self.anchor).mean().detach()
            content_loss = sum(value for key, value in content.items() if key.startswith(CONTENT_TERMS))
            total = total + realism + self.hparams.lambda_travel * content_loss
        self.log_dict({f"train/d/{key}": value for key, value in terms.items()})
        self.log("train/d/total", total, prog_bar=True)
        return total

    def _discriminator_terms(self, side: str, vec_target: Tensor, vec_source: Tensor, vec_fake: Tensor):
        """D's realism loss and content terms (fakes detached) for the domain ``side`` it judges."""
        margin = self.hparams.realism_margin
        if self.hparams.objective == "article":
            realism = losses.contrastive_realism_loss(vec_target, vec_fake, self.anchor, margin)
            content = {f"angle_{side}": losses.angle_loss(vec_source, vec_fake),
                       f"cosine_{side}": losses.travel_cosine(vec_source, vec_fake).detach()}  # fmt: skip
            return realism, content
        return losses.anchor_discriminator_loss(vec_target, vec_fake, self.anchor, margin), self._content_terms(
            side, vec_source, vec_fake
        )


def check_same_objective(ours: dict, saved: dict) -> None:
    """Refuse to resume a Siamese-discriminator checkpoint under another objective or realism margin than it was
    trained with, naming the option that gets it back. Checkpoints written before ``objective`` existed (0.1)
    trained under ``travel``; the same class loads them, so without this they would resume silently under
    ``article``. Predict and export load them as they are: the generator does not depend on the objective."""
    theirs = {"objective": saved.get("objective", "travel"), "realism_margin": saved.get("realism_margin", 100.0)}
    for key, value in theirs.items():
        if ours.get(key) != value:
            raise ValueError(
                f"the checkpoint was trained with {key} {value!r} and the config says {ours.get(key)!r}: resume it "
                f"with --model.init_args.{key} {value}, or start a new run without --ckpt_path"
            )
