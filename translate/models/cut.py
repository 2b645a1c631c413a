"""CUT and FastCUT: one-sided unpaired A -> B translation with a patch-wise contrastive loss (Park et al. 2020,
"Contrastive learning for unpaired image-to-image translation", arXiv:2007.15651)."""

from contextlib import nullcontext
from functools import partial
from typing import Literal

import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor

from translate import losses
from translate.models.checks import (
    attached_data,
    check_channels,
    check_checkpoint_fits,
    check_precision,
    check_two_domains,
)
from translate.models.contract import ReportsOwnMetrics, ShowsSamples
from translate.models.ema import moving_average
from translate.models.one_way import OneWayTranslation
from translate.networks import DiscriminatorFactory, GeneratorFactory
from translate.networks.monce import MoNCECost, check_monce, monce_weights
from translate.networks.patchnce import PatchSampleHeads, patchnce_loss
from translate.networks.qs_attn import QSMode, check_qs_attn, qs_selections
from translate.schedules import LinearDecayLR, catch_up

Mode = Literal["cut", "fastcut"]
# The official presets (CUT_mode in cut_model.py): the NCE weight, the identity NCE term on B, flip-equivariance.
MODES = {
    "cut": {"lambda_nce": 1.0, "nce_idt": True, "flip_equivariance": False},
    "fastcut": {"lambda_nce": 10.0, "nce_idt": False, "flip_equivariance": True},
}
# fused=True: one kernel over all parameters instead of a loop per tensor, the same update to float tolerance.
OFFICIAL_ADAM = partial(torch.optim.Adam, lr=2e-4, betas=(0.5, 0.999), fused=True)


class CUT(LightningModule, OneWayTranslation, ShowsSamples, ReportsOwnMetrics):
    """A generator ``gen`` (A -> B), a PatchGAN ``disc`` judging B, and the PatchNCE heads ``heads`` on ``gen``'s
    encoder; no second generator and no cycle. Official settings (taesungp/contrastive-unpaired-translation): the
    anti-aliased ResNet-9 (``ResnetGenerator(antialias=True)``) and PatchGAN (``AntialiasedPatchDiscriminator``),
    xavier init (gain 0.02), LSGAN with D's loss halved, no image pool, batch 1; each batch takes a D step, then a G
    step on the same ``G(a)``, as the official ``optimize_parameters``.

    G minimises ``L_GAN(G(a)) + lambda_nce * PatchNCE(a, G(a))`` (Eq. 5), with CUT's identity term the NCE part is
    ``lambda_nce * (PatchNCE(a, G(a)) + PatchNCE(b, G(b))) / 2``; PatchNCE is the mean over ``nce_layers`` of the
    mean over ``num_patches`` locations of ``translate.networks.patchnce.patchnce_loss``. Two later methods are options
    of it: QS-Attn picks and routes the patches of the deeper layers (``qs_attn``), MoNCE weighs the negatives
    (``nce_weighting``); both leave the networks as they are.

    Args:
        generator: Builds ``gen`` as ``generator(channels, channels)``; it must have ``encode(x, layers)``
            (``ResnetGenerator``).
        discriminator: Builds ``disc`` as ``discriminator(channels)``.
        optimizer: Used for G with the heads (official: their own Adam with G's settings, the same update) and D.
        scheduler: Per-epoch schedule for both optimizers (official: CUT 200 + 200 epochs, FastCUT 150 + 50).
        mode: ``cut``: lambda_nce 1, identity term on B images (G(b) vs b); ``fastcut``: lambda_nce 10, no identity
            term, flip-equivariance (G's input flipped left-right at random, its features flipped back).
        lambda_nce: Overrides the mode's NCE weight (None: the mode's).
        nce_layers: Indices of ``gen.model`` whose outputs PatchNCE compares (official 0, 4, 8, 12, 16: the padded
            image, the two down-sampling convs, the first and fifth residual blocks).
        num_patches: Locations sampled per layer and image (official 256); ``nce_temperature``: tau of Eq. 2 (0.07).
        ema_decay: Keep an exponential moving average of ``gen``'s weights (e.g. 0.999; None: off); it translates.
        qs_attn: QS-Attn (Hu et al. 2022; ``translate.networks.qs_attn``): on the fourth and later ``nce_layers`` the
            ``num_patches`` locations of lowest attention entropy on the source, their attended features compared
            (``global``: attention over the map, official; ``local``: over a 7x7 window); ``none``: CUT's sampler.
        nce_weighting: ``monce``: MoNCE (Zhan et al. 2022; ``translate.networks.monce``), the negatives weighted by
            a Sinkhorn plan with ``monce_epsilon``, ``monce_cost`` and ``monce_negative_weight`` (official
            horse2zebra: 0.1, hard, 1); ``none``: PatchNCE's equal weights.
    """

    def __init__(
        self,
        generator: GeneratorFactory,
        discriminator: DiscriminatorFactory,
        optimizer: OptimizerCallable = OFFICIAL_ADAM,
        scheduler: LRSchedulerCallable = LinearDecayLR,
        *,
        channels: int = 3,
        mode: Mode = "cut",
        lambda_nce: float | None = None,
        nce_layers: tuple[int, ...] = (0, 4, 8, 12, 16),
        num_patches: int = 256,
        nce_temperature: float = 0.07,
        ema_decay: float | None = None,
        qs_attn: QSMode = "none",
        nce_weighting: Literal["none", "monce"] = "none",
        monce_epsilon: float = 0.1,
        monce_cost: MoNCECost = "hard",
        monce_negative_weight: float = 1.0,
    ):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}, expected one of {list(MODES)}")
        if num_patches < 1 or nce_temperature <= 0:
            raise ValueError(f"num_patches must be >= 1 and nce_temperature > 0, got {num_patches}, {nce_temperature}")
        check_qs_attn(qs_attn, len(nce_layers))
        if nce_weighting not in ("none", "monce"):
            raise ValueError(f"unknown nce_weighting {nce_weighting!r}, expected 'none' or 'monce'")
        check_monce(monce_epsilon, monce_cost, monce_negative_weight)
        self.save_hyperparameters()  # under LightningCLI: class_path/init_args, so load_from_checkpoint rebuilds
        self.automatic_optimization = False  # two optimizers: D step, then G step per batch
        self.objective = {**MODES[mode], **({} if lambda_nce is None else {"lambda_nce": lambda_nce})}
        self.gen, self.disc = generator(channels, channels), discriminator(channels)
        self.heads = PatchSampleHeads(self._feature_channels(channels, list(nce_layers)))
        self.ema = moving_average(self.gen, ema_decay)
        self.optimizer, self.scheduler = optimizer, scheduler

    def _feature_channels(self, channels: int, layers: list[int]) -> list[int]:
        """The channels of ``gen``'s features at ``layers``, from one small probe (what the official code learns from
        the first batch); eval mode, so that batch-norm statistics stay untouched."""
        if not callable(getattr(self.gen, "encode", None)):
            raise ValueError(f"CUT needs a generator with encode(x, layers) (ResnetGenerator), got {type(self.gen)}")
        side = 4 * self.gen.size_multiple
        with torch.no_grad():
            self.gen.eval()
            features = self.gen.encode(torch.zeros(1, channels, side, side), layers)
            self.gen.train()
        return [feature.shape[1] for feature in features]

    def forward(self, x: Tensor, direction: Literal["a2b"] = "a2b", *, use_ema: bool = True) -> Tensor:
        """Translate a batch (B, C, H, W) in [-1, 1] from A to B; H and W must be multiples of ``size_multiple``."""
        self._check_target(direction, "direction")
        return self.ema(x) if use_ema and self.ema is not None else self.gen(x)

    def setup(self, stage: str) -> None:
        check_precision(self)
        check_channels(self, attached_data(self))
        check_two_domains(self, attached_data(self))

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        real_a, real_b = batch
        opt_g, opt_d = self.optimizers()
        fake_b, idt_b, flipped = self._translate(real_a, real_b)  # one forward for both steps, as the official
        with self.toggled_optimizer(opt_d):
            loss_d = self._discriminator_losses(real_b, fake_b.detach())
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(loss_d)
            opt_d.step()
        with self.toggled_optimizer(opt_g):  # D's weights (just updated) are frozen while G learns to fool it
            loss_g = self._generator_losses(real_a, real_b, fake_b, idt_b, flipped)
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(loss_g)
            opt_g.step()
            if self.ema is not None:
                self.ema.update_parameters(self.gen)

    def _translate(self, real_a: Tensor, real_b: Tensor) -> tuple[Tensor, Tensor | None, bool]:
        """G(a) and, with the identity term, G(b) in one batch; FastCUT flips that batch half the time."""
        real = torch.cat([real_a, real_b]) if self.objective["nce_idt"] else real_a
        # drawn in fp32, so that 64-true and bf16-true draw as fp32 does
        flipped = self.objective["flip_equivariance"] and bool(torch.rand((), dtype=torch.float32) < 0.5)
        fake = self.gen(real.flip(3) if flipped else real)
        return fake[: len(real_a)], (fake[len(real_a) :] if self.objective["nce_idt"] else None), flipped

    def _discriminator_losses(self, real_b: Tensor, fake_b: Tensor) -> Tensor:
        loss = losses.discriminator_loss(self.disc(real_b), self.disc(fake_b), "lsgan")  # halved, as official
        self.log("train/d/total", loss, prog_bar=True)
        return loss

    def _generator_losses(self, real_a: Tensor, real_b: Tensor, fake_b: Tensor, idt_b: Tensor | None,
                          flipped: bool) -> Tensor:  # fmt: skip
        terms = {
            "adv": losses.generator_loss(self.disc(fake_b), "lsgan"),
            "nce": self._patch_nce(real_a, fake_b, flipped),
        }
        nce = terms["nce"]
        if idt_b is not None:  # G should leave B images unchanged patch for patch: PatchNCE(b, G(b))
            terms["nce_idt"] = self._patch_nce(real_b, idt_b, flipped)
            nce = 0.5 * (terms["nce"] + terms["nce_idt"])
        total = terms["adv"] + self.objective["lambda_nce"] * nce
        self.log_dict({f"train/g/{name}": value for name, value in terms.items()})
        self.log("train/g/total", total, prog_bar=True)
        return total

    def _patch_nce(self, source: Tensor, translated: Tensor, flipped: bool = False,
                   generator: torch.Generator | None = None) -> Tensor:  # fmt: skip
        """Mean over ``nce_layers`` of the mean PatchNCE loss of ``translated`` (queries) against ``source`` (keys),
        at the same ``num_patches`` random locations per layer; flipped translations are flipped back first."""
        layers, hp = list(self.hparams.nce_layers), self.hparams
        queries = self.gen.encode(translated, layers)
        if flipped:  # G saw the flipped input: its features line up with the source once flipped back
            queries = [q.flip(3) for q in queries]
        # The loss detaches the keys (official), so their graph would go unused; with QS-Attn the source's attention
        # routes the queries too, and G learns through it (official).
        with torch.no_grad() if hp.qs_attn == "none" else nullcontext():
            sources = self.gen.encode(source, layers)
            selections = qs_selections(sources, hp.num_patches, hp.qs_attn)
            keys, patch_ids = self.heads(sources, hp.num_patches, generator=generator, selections=selections)
        queries, _ = self.heads(queries, hp.num_patches, patch_ids, selections=selections)
        per_layer = [self._nce(q, k, len(source)).mean() for q, k in zip(queries, keys, strict=True)]
        return torch.stack(per_layer).mean()

    def _nce(self, queries: Tensor, keys: Tensor, batch_size: int) -> Tensor:
        """PatchNCE per query row, MoNCE's reweighted negatives with ``nce_weighting: monce``."""
        hp, weights = self.hparams, None
        if hp.nce_weighting == "monce":
            weights = monce_weights(queries, keys, groups=batch_size, epsilon=hp.monce_epsilon, cost=hp.monce_cost,
                                    negative_weight=hp.monce_negative_weight)  # fmt: skip
        return patchnce_loss(queries, keys, batch_size=batch_size, temperature=hp.nce_temperature,
                             negative_weights=weights)  # fmt: skip

    def on_train_batch_start(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        catch_up(self.lr_schedulers(), self.current_epoch)  # per-epoch schedules, right after a resume too

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self.log_own_metrics(batch, batch_idx, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self.log_own_metrics(batch, batch_idx, "test")

    def own_metrics(self, batch: tuple[Tensor, Tensor], batch_idx: int = 0) -> dict[str, Tensor]:
        """PatchNCE of G(a) against a at locations fixed per batch (comparable between evaluations), and how far
        G moves B images (||G(b) - b||_1)."""
        real_a, real_b = batch
        locations = torch.Generator().manual_seed(batch_idx)
        return {
            "nce": self._patch_nce(real_a, self(real_a), generator=locations),
            "idt_l1": losses.l1(self(real_b), real_b),
        }

    @torch.no_grad()
    def sample_columns(self, batch: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        """Columns of a sample grid, each (N, C, H, W) in [-1, 1]: A, its translation, B and G(B) (ideally B)."""
        real_a, real_b = batch
        return {"real_a": real_a, "fake_b": self(real_a), "real_b": real_b, "idt_b": self(real_b)}

    def configure_optimizers(self):
        opt_g = self.optimizer([*self.gen.parameters(), *self.heads.parameters()])
        opt_d = self.optimizer(self.disc.parameters())
        return [opt_g, opt_d], [self.scheduler(opt_g), self.scheduler(opt_d)]

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        check_checkpoint_fits(self, checkpoint)  # one clear line for another model's or architecture's checkpoint
