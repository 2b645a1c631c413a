"""DCLGAN and SimDCL: unpaired A <-> B translation with dual contrastive learning (Han, Ghosh and Latecki 2021,
"Dual Contrastive Learning for Unsupervised Image-to-Image Translation", arXiv:2104.07689).

Two generators and two discriminators as CycleGAN, but no cycle: each direction is tied to its input by PatchNCE
(CUT's patch-wise contrastive loss, ``translate.networks.patchnce``), with one projection head per domain. The
patches of the input are embedded by its own generator's encoder and head, those of the translation by the other
generator's encoder and head (the encoder of the domain the translation is in). SimDCL adds a similarity loss between
the patch embeddings of a real and a translated image of the same domain.
"""

from functools import partial
from typing import Literal

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn

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
from translate.networks.patchnce import PatchSampleHeads, PatchStackEmbedding, patchnce_loss
from translate.schedules import LinearDecayLR, catch_up

Mode = Literal["dcl", "simdcl"]
# The official presets (dcl_model.py, simdcl_model.py): the similarity weight, and the heads' learning rate and betas
# where they differ from G's (None: G's). DCLGAN builds the heads' Adam with torch's defaults (lr 1e-3, betas (0.9,
# 0.999), dcl_model.py line 126); SimDCL with G's settings (simdcl_model.py lines 141-145).
MODES = {
    "dcl": {"lambda_sim": 0.0, "heads_lr": 1e-3, "heads_betas": (0.9, 0.999)},
    "simdcl": {"lambda_sim": 10.0, "heads_lr": None, "heads_betas": None},
}
GanMode = Literal["hinge", "lsgan"]
# fused=True: one kernel over all parameters instead of a loop per tensor, the same update to float tolerance.
OFFICIAL_ADAM = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999), fused=True)


class DCLGAN(TwoWayTranslation, LightningModule, TranslationModel, ShowsSamples, ReportsOwnMetrics):
    """Generators ``gen_ab`` (A -> B; official ``netG_A``) and ``gen_ba`` (``netG_B``), discriminators ``disc_b``
    judging B (official ``netD_A``, which judges G_A's outputs) and ``disc_a`` (``netD_B``), PatchNCE heads
    ``heads_ab`` on ``gen_ab``'s encoder (``netF1``) and ``heads_ba`` on ``gen_ba``'s (``netF2``); with SimDCL's
    similarity loss also ``sim_real_a``, ``sim_fake_b``, ``sim_real_b``, ``sim_fake_a`` (``netF3`` to ``netF6``).

    G minimises (Eq. 8-9; JunlinHan/DCLGAN ``compute_G_loss``)::

        lambda_gan / 2 * (adv(D_B(G_AB(a))) + adv(D_A(G_BA(b))))
        + lambda_nce / 2 * (PatchNCE_ab + PatchNCE_ba) + lambda_identity / 2 * (|G_AB(b) - b| + |G_BA(a) - a|)
        + lambda_sim * (|E_real_a - E_fake_a| + |E_fake_b - E_real_b|)            (SimDCL)

    where ``PatchNCE_ab`` compares keys ``heads_ab(gen_ab.encode(a))`` with queries
    ``heads_ba(gen_ba.encode(G_AB(a)))`` at the same locations (``PatchNCE_ba`` the mirror image), per patch as
    ``translate.networks.patchnce.patchnce_loss`` with cosine similarity and the negatives drawn from the whole batch
    (the official ``PatchNCELoss``), averaged over patches and ``nce_layers``. Each D minimises ``lambda_gan`` times
    half its loss on real and translated images. Official settings: the anti-aliased ResNet-9 and PatchGAN of CUT,
    xavier init (gain 0.02), hinge loss, no image pool, batch 1; each batch takes a D step, then a G step on the
    same translations.

    Args:
        generator: Builds ``gen_ab`` and ``gen_ba``; it must have ``encode(x, layers)`` (``ResnetGenerator``).
        discriminator: Builds ``disc_a`` and ``disc_b``.
        optimizer: G's (both generators, and the heads as a second parameter group) and D's optimizer (official:
            Adam 2e-4, betas (0.5, 0.999)).
        scheduler: Per-epoch schedule for both optimizers, every parameter group (official: 200 + 200 epochs).
        mode: ``dcl``: no similarity loss, the heads learn at lr 1e-3 with betas (0.9, 0.999) (the official DCLGAN
            builds their Adam with torch's defaults); ``simdcl``: lambda_sim 10, the heads and the similarity
            networks learn with G's settings.
        gan_mode: ``hinge`` (official): D minimises mean(relu(1 - D(real))) + mean(relu(1 + D(fake))), G minimises
            mean(relu(1 - D(G(x)))) (the official ``GANLoss('hinge')`` with the real label, not SAGAN's -D(G(x)));
            ``lsgan``: squared errors to 1 and 0.
        lambda_gan, lambda_nce, lambda_identity: Weights of the adversarial, PatchNCE and L1 identity terms
            (official 1, 2, 1).
        lambda_sim: Weight of SimDCL's similarity loss (None: the mode's, 0 or 10); above 0 builds its networks.
        heads_lr, heads_betas: The heads' learning rate and Adam betas in G's optimizer (None: the mode's).
        nce_layers: Indices of the generators' ``model`` whose outputs PatchNCE compares (official 4, 8, 12, 16: the
            two down-sampling convs, the first and fifth residual blocks; no pixels, unlike CUT's 0).
        num_patches: Locations sampled per layer and image (official 256); ``nce_temperature``: tau (0.07).
        ema_decay: Keep exponential moving averages of both generators' weights (e.g. 0.999; None: off); they
            translate.
    """

    def __init__(
        self,
        generator: GeneratorFactory,
        discriminator: DiscriminatorFactory,
        optimizer: OptimizerCallable = OFFICIAL_ADAM,
        scheduler: LRSchedulerCallable = LinearDecayLR,
        *,
        channels: int = 3,
        mode: Mode = "dcl",
        gan_mode: GanMode = "hinge",
        lambda_gan: float = 1.0,
        lambda_nce: float = 2.0,
        lambda_identity: float = 1.0,
        lambda_sim: float | None = None,
        heads_lr: float | None = None,
        heads_betas: tuple[float, float] | None = None,
        nce_layers: tuple[int, ...] = (4, 8, 12, 16),
        num_patches: int = 256,
        nce_temperature: float = 0.07,
        ema_decay: float | None = None,
    ):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}, expected one of {list(MODES)}")
        if gan_mode not in ("hinge", "lsgan"):
            raise ValueError(f"unknown gan_mode {gan_mode!r}, expected 'hinge' or 'lsgan'")
        if num_patches < 1 or nce_temperature <= 0:
            raise ValueError(f"num_patches must be >= 1 and nce_temperature > 0, got {num_patches}, {nce_temperature}")
        for name, weight in (("lambda_gan", lambda_gan), ("lambda_nce", lambda_nce),
                             ("lambda_identity", lambda_identity), ("lambda_sim", lambda_sim)):  # fmt: skip
            if weight is not None and not (isinstance(weight, int | float) and weight >= 0):
                raise ValueError(f"{name} must be a number >= 0, got {weight!r}")
        self.save_hyperparameters()  # under LightningCLI: class_path/init_args, so load_from_checkpoint rebuilds
        self.automatic_optimization = False  # two optimizers: D step, then G step per batch
        preset = MODES[mode]
        self.objective = {
            "lambda_sim": preset["lambda_sim"] if lambda_sim is None else float(lambda_sim),
            "heads_lr": preset["heads_lr"] if heads_lr is None else heads_lr,
            "heads_betas": preset["heads_betas"] if heads_betas is None else tuple(heads_betas),
        }
        self.gen_ab, self.gen_ba = generator(channels, channels), generator(channels, channels)
        self.disc_a, self.disc_b = discriminator(channels), discriminator(channels)
        feature_channels = self._feature_channels(channels, list(nce_layers))
        self.heads_ab, self.heads_ba = PatchSampleHeads(feature_channels), PatchSampleHeads(feature_channels)
        if self.objective["lambda_sim"] > 0:  # H_xr, H_yf, H_yr, H_xf of the paper
            self.sim_real_a, self.sim_fake_b, self.sim_real_b, self.sim_fake_a = (
                PatchStackEmbedding(len(nce_layers)) for _ in range(4)
            )
        self.ema_ab, self.ema_ba = moving_average(self.gen_ab, ema_decay), moving_average(self.gen_ba, ema_decay)
        self.optimizer, self.scheduler = optimizer, scheduler

    def _feature_channels(self, channels: int, layers: list[int]) -> list[int]:
        """The channels of the generators' features at ``layers``, from one small probe (the official heads learn
        them from the first batch); eval mode, so that batch-norm statistics stay untouched."""
        if not callable(getattr(self.gen_ab, "encode", None)):
            raise ValueError(f"DCLGAN needs a generator with encode(x, layers) (ResnetGenerator), got "
                             f"{type(self.gen_ab)}")  # fmt: skip
        side = 4 * self.gen_ab.size_multiple
        with torch.no_grad():
            self.gen_ab.eval()
            features = self.gen_ab.encode(torch.zeros(1, channels, side, side), layers)
            self.gen_ab.train()
        return [feature.shape[1] for feature in features]

    # training ------------------------------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        check_precision(self)
        check_channels(self, attached_data(self))
        check_two_domains(self, attached_data(self))

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        real_a, real_b = batch
        opt_g, opt_d = self.optimizers()
        fakes = self._translate(real_a, real_b)  # one forward for both steps, as the official
        with self.toggled_optimizer(opt_d):
            loss_d = self._discriminator_losses(real_a, real_b, fakes["fake_a"].detach(), fakes["fake_b"].detach())
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(loss_d)
            opt_d.step()
        with self.toggled_optimizer(opt_g):  # D's weights (just updated) are frozen while G learns to fool them
            loss_g, terms = self._generator_losses(real_a, real_b, fakes)
            self.log_dict({f"train/g/{name}": value for name, value in terms.items()})
            self.log("train/g/total", loss_g, prog_bar=True)
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(loss_g)
            opt_g.step()
            if self.ema_ab is not None:
                self.ema_ab.update_parameters(self.gen_ab)
                self.ema_ba.update_parameters(self.gen_ba)

    def _translate(self, real_a: Tensor, real_b: Tensor) -> dict[str, Tensor]:
        """G_AB(a), G_BA(b) and the identity passes G_AB(b), G_BA(a) (official ``forward``), one batch per generator."""
        n = len(real_a)
        out_ab, out_ba = self.gen_ab(torch.cat([real_a, real_b])), self.gen_ba(torch.cat([real_b, real_a]))
        return {"fake_b": out_ab[:n], "idt_b": out_ab[n:], "fake_a": out_ba[:n], "idt_a": out_ba[n:]}

    def _adversarial(self, logits: Tensor) -> Tensor:
        """G's adversarial loss: the official GANLoss with the real label."""
        if self.hparams.gan_mode == "hinge":
            return F.relu(1 - logits.float()).mean()
        return losses.generator_loss(logits, "lsgan")

    def _discriminator_loss(self, disc: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        """Half the sum of D's losses on real and translated images (official ``backward_D_basic``)."""
        loss = losses.discriminator_loss(disc(real), disc(fake), self.hparams.gan_mode)  # lsgan comes halved
        return 0.5 * loss if self.hparams.gan_mode == "hinge" else loss

    def _discriminator_losses(self, real_a: Tensor, real_b: Tensor, fake_a: Tensor, fake_b: Tensor) -> Tensor:
        hp = self.hparams
        loss_a = hp.lambda_gan * self._discriminator_loss(self.disc_a, real_a, fake_a)
        loss_b = hp.lambda_gan * self._discriminator_loss(self.disc_b, real_b, fake_b)
        self.log_dict({"train/d/a": loss_a, "train/d/b": loss_b}, prog_bar=True)
        return loss_a + loss_b

    def _generator_losses(self, real_a: Tensor, real_b: Tensor, fakes: dict[str, Tensor],
                          generator: torch.Generator | None = None) -> tuple[Tensor, dict[str, Tensor]]:  # fmt: skip
        """G's total loss and its terms (unweighted); ``generator`` draws the patch locations (None: torch's)."""
        hp = self.hparams
        fake_a, fake_b = fakes["fake_a"], fakes["fake_b"]
        keys_a, ids_a = self._keys(self.gen_ab, self.heads_ab, real_a, generator)  # A's patches, A's embedding
        keys_b, ids_b = self._keys(self.gen_ba, self.heads_ba, real_b, generator)
        terms = {
            "adv_ab": self._adversarial(self.disc_b(fake_b)),
            "adv_ba": self._adversarial(self.disc_a(fake_a)),
            # G_AB(a) is in B: embedded by B's encoder and head, at the locations drawn on a
            "nce_ab": self._patch_nce(keys_a, self._queries(self.gen_ba, self.heads_ba, fake_b, ids_a), len(real_a)),
            "nce_ba": self._patch_nce(keys_b, self._queries(self.gen_ab, self.heads_ab, fake_a, ids_b), len(real_b)),
            "idt_a": losses.l1(fakes["idt_a"], real_a),
            "idt_b": losses.l1(fakes["idt_b"], real_b),
        }
        total = (
            hp.lambda_gan * 0.5 * (terms["adv_ab"] + terms["adv_ba"])
            + hp.lambda_nce * 0.5 * (terms["nce_ab"] + terms["nce_ba"])
            + hp.lambda_identity * 0.5 * (terms["idt_a"] + terms["idt_b"])
        )
        if self.objective["lambda_sim"] > 0:  # the translations' patches at locations of their own
            embedded_fake_b = self._keys(self.gen_ba, self.heads_ba, fake_b, generator)[0]
            embedded_fake_a = self._keys(self.gen_ab, self.heads_ab, fake_a, generator)[0]
            sim_a = losses.l1(self.sim_real_a(self._stack(keys_a, len(real_a))),
                              self.sim_fake_a(self._stack(embedded_fake_a, len(real_a))))  # fmt: skip
            sim_b = losses.l1(self.sim_fake_b(self._stack(embedded_fake_b, len(real_b))),
                              self.sim_real_b(self._stack(keys_b, len(real_b))))  # fmt: skip
            terms["sim"] = sim_a + sim_b
            total = total + self.objective["lambda_sim"] * terms["sim"]
        return total, terms

    def _keys(self, gen: nn.Module, heads: PatchSampleHeads, images: Tensor,
              generator: torch.Generator | None) -> tuple[list[Tensor], list[Tensor]]:  # fmt: skip
        """``images``' projected patches at ``num_patches`` new locations per layer, and the locations. PatchNCE
        detaches keys; SimDCL's similarity loss takes them with their graph, so DCLGAN alone skips it."""
        layers, with_graph = list(self.hparams.nce_layers), self.objective["lambda_sim"] > 0 and torch.is_grad_enabled()
        with torch.set_grad_enabled(with_graph):
            return heads(gen.encode(images, layers), self.hparams.num_patches, generator=generator)

    def _queries(self, gen: nn.Module, heads: PatchSampleHeads, images: Tensor, ids: list[Tensor]) -> list[Tensor]:
        return heads(gen.encode(images, list(self.hparams.nce_layers)), self.hparams.num_patches, ids)[0]

    def _patch_nce(self, keys: list[Tensor], queries: list[Tensor], batch_size: int) -> Tensor:
        """Mean over layers of the mean PatchNCE loss, as the official ``PatchNCELoss``: cosine similarity, the
        negatives from every image of the batch."""
        per_layer = [
            patchnce_loss(
                q,
                k,
                batch_size=batch_size,
                temperature=self.hparams.nce_temperature,
                negatives_from_batch=True,
                similarity="cosine",
            ).mean()  # fmt: skip
            for q, k in zip(queries, keys, strict=True)
        ]
        return torch.stack(per_layer).mean()

    @staticmethod
    def _stack(projected: list[Tensor], batch_size: int) -> Tensor:
        """Per-layer (B * P_l, D) projections -> (B, layers, P, D), what SimDCL's light networks take. A layer with
        fewer locations than ``num_patches`` (small images) gave fewer rows; every layer then keeps as many as the
        smallest gave (the first of its random draw: still a uniform sample). The official code takes 256 from each
        and fails otherwise."""
        per_image = [p.reshape(batch_size, -1, p.shape[-1]) for p in projected]
        count = min(p.shape[1] for p in per_image)
        return torch.stack([p[:, :count] for p in per_image], dim=1)

    def on_train_batch_start(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        catch_up(self.lr_schedulers(), self.current_epoch)  # per-epoch schedules, right after a resume too

    def configure_optimizers(self):
        heads = [*self.heads_ab.parameters(), *self.heads_ba.parameters()]
        if self.objective["lambda_sim"] > 0:
            heads += [p for net in (self.sim_real_a, self.sim_fake_b, self.sim_real_b, self.sim_fake_a)
                      for p in net.parameters()]  # fmt: skip
        settings = {"lr": self.objective["heads_lr"], "betas": self.objective["heads_betas"]}
        heads_group = {"params": heads, **{k: v for k, v in settings.items() if v is not None}}
        opt_g = self.optimizer([{"params": [*self.gen_ab.parameters(), *self.gen_ba.parameters()]}, heads_group])
        opt_d = self.optimizer([*self.disc_a.parameters(), *self.disc_b.parameters()])
        return [opt_g, opt_d], [self.scheduler(opt_g), self.scheduler(opt_d)]

    # evaluation ----------------------------------------------------------------------------------------------------
    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self.log_own_metrics(batch, batch_idx, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self.log_own_metrics(batch, batch_idx, "test")

    def own_metrics(self, batch: tuple[Tensor, Tensor], batch_idx: int = 0) -> dict[str, Tensor]:
        """PatchNCE both ways at locations fixed per batch (comparable between evaluations), and how far each
        generator moves images already in its target domain (||G_AB(b) - b||_1, ||G_BA(a) - a||_1)."""
        real_a, real_b = batch
        locations = torch.Generator().manual_seed(batch_idx)
        fake_b, fake_a = self(real_a, "a2b"), self(real_b, "b2a")
        keys_a, ids_a = self._keys(self.gen_ab, self.heads_ab, real_a, locations)
        keys_b, ids_b = self._keys(self.gen_ba, self.heads_ba, real_b, locations)
        return {
            "nce_ab": self._patch_nce(keys_a, self._queries(self.gen_ba, self.heads_ba, fake_b, ids_a), len(real_a)),
            "nce_ba": self._patch_nce(keys_b, self._queries(self.gen_ab, self.heads_ab, fake_a, ids_b), len(real_b)),
            "idt_a": losses.l1(self(real_a, "b2a"), real_a),
            "idt_b": losses.l1(self(real_b, "a2b"), real_b),
        }

    @torch.no_grad()
    def sample_columns(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        """Columns of a sample grid, each (N, C, H, W) in [-1, 1]: A and its translation, B and its translation."""
        real_a, real_b = batch
        return {"real_a": real_a, "fake_b": self(real_a, "a2b"), "real_b": real_b, "fake_a": self(real_b, "b2a")}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        check_checkpoint_fits(self, checkpoint)  # one clear line for another model's or architecture's checkpoint
