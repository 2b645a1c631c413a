"""StarGAN: one generator for many domains, conditioned on the target label (Choi et al. 2018, arXiv:1711.09020)."""

from collections.abc import Sequence
from functools import partial
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn

from translate import losses
from translate.models.checks import attached_data, check_channels, check_checkpoint_fits, check_precision
from translate.models.contract import LabelConditioned, ReportsOwnMetrics, ShowsSamples
from translate.models.ema import moving_average
from translate.networks import DiscriminatorFactory, FixedLabelGenerator, GeneratorFactory
from translate.schedules import catch_up

LabelMode = Literal["single", "multi"]
TargetLabels = Literal["permuted", "uniform"]
# yunjey/stargan main.py, G and D; fused: see translate/models/cyclegan.py.
OFFICIAL_ADAM = partial(torch.optim.Adam, lr=1e-4, betas=(0.5, 0.999), fused=True)


class StarGAN(LightningModule, LabelConditioned, ShowsSamples, ReportsOwnMetrics):
    """A generator ``gen(image ++ label)`` and a critic ``disc`` whose trunk also feeds a domain ``classifier``.

    Labels are (B, num_domains) float vectors: one-hot for ``single`` (one folder per domain, softmax classification),
    0/1 per attribute for ``multi`` (CelebA-style attribute file, sigmoid classification). One batch is one critic
    step; the generator steps every ``n_critic`` batches (official: 5), so Lightning's ``max_steps`` counts both.

    Args:
        generator: Builds ``gen`` with ``channels + len(domains)`` input channels (the label broadcast over H x W).
        discriminator: Builds ``disc``; the classifier is a conv over its whole feature map (official ``conv2``).
        scheduler: Stepped once per batch (iteration), e.g. ``LinearDecayLR`` with its "epochs" meaning batches.
        domains: Domain (single) or attribute (multi) names in label order; checked against the data. ``translate
            fit`` fills them from the data's folder names (``translate.data.layouts.discover_domains``) when left out.
        image_size: Training side; fixes the classifier's kernel (official: 128 px -> 2x2).
        exclusive_groups: For ``multi``: attributes of which exactly one is on (hair colour), kept one-hot in
            ``uniform`` and changed targets.
        target_labels: How training targets are drawn. ``permuted`` (official, yunjey/stargan solver.py:
            ``rand_idx = torch.randperm(label_org.size(0)); label_trg = label_org[rand_idx]``): the batch's own labels
            shuffled, so targets follow the data's label distribution (CelebA's share of Male, Young, no hair colour)
            and an image may get its own label back (its own or a same-label image's); a batch needs 2+ images.
            ``uniform``: a uniform domain (single), or a fair coin per attribute with each exclusive group one-hot.
        lambda_cls: Weight of the domain-classification terms (Eq. 2-3); lambda_rec of ||G(G(x, c), c') - x||_1
            (Eq. 4); lambda_gp of the WGAN-GP penalty (Eq. 8).
        ema_decay: Keep an exponential moving average of the generator (e.g. 0.999; None: off), saved in checkpoints
            and used by ``forward``, predict, validation and sample grids.
    """

    def __init__(
        self,
        generator: GeneratorFactory,
        discriminator: DiscriminatorFactory,
        optimizer: OptimizerCallable = OFFICIAL_ADAM,
        scheduler: LRSchedulerCallable | None = None,
        *,
        domains: Sequence[str] | None = None,
        channels: int = 3,
        image_size: int = 128,
        label_mode: LabelMode = "single",
        exclusive_groups: Sequence[Sequence[str]] = (),
        lambda_cls: float = 1.0,
        lambda_rec: float = 10.0,
        lambda_gp: float = 10.0,
        n_critic: int = 5,
        ema_decay: float | None = None,
        target_labels: TargetLabels = "permuted",
    ):
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False
        if domains is None:
            raise ValueError("StarGAN needs domains, its label names in order: pass domains=[...] (for folder data, "
                             "translate.data.layouts.discover_domains(root)); `translate fit` takes them from "
                             "its data source (the domains it names, or the folder names under its root)")  # fmt: skip
        self.domains = [str(d) for d in domains]
        self._check_arguments(label_mode, exclusive_groups, n_critic, target_labels)
        self.groups = [[self.domains.index(name) for name in group] for group in exclusive_groups]
        self.gen = generator(channels + len(self.domains), channels)
        self.ema_gen = moving_average(self.gen, ema_decay)  # what forward (predict, grids) uses when kept
        self.disc = discriminator(channels)
        was_training = self.disc.training  # a dummy pass gives the feature-map side the classifier must cover
        with torch.no_grad():
            side = self.disc.eval().forward_features(torch.zeros(1, channels, image_size, image_size)).shape[-2:]
        self.disc.train(was_training)
        self.classifier = nn.Conv2d(self.disc.num_features, len(self.domains), tuple(side), bias=False)
        self.optimizer, self.scheduler = optimizer, scheduler

    def _check_arguments(self, label_mode: str, groups: Sequence[Sequence[str]], n_critic: int, targets: str) -> None:
        if len(self.domains) < 2 or len(set(self.domains)) != len(self.domains):
            raise ValueError(f"domains must be two or more distinct names, got {self.domains}")
        if label_mode not in ("single", "multi"):
            raise ValueError(f"unknown label_mode {label_mode!r}, expected 'single' or 'multi'")
        unknown = [name for group in groups for name in group if name not in self.domains]
        if unknown or (groups and label_mode == "single"):
            raise ValueError(f"exclusive_groups need label_mode 'multi' and names from domains {self.domains}")
        if n_critic < 1:
            raise ValueError(f"n_critic must be >= 1, got {n_critic}")
        if targets not in get_args(TargetLabels):
            raise ValueError(f"unknown target_labels {targets!r}, expected one of {get_args(TargetLabels)}")

    def forward(self, x: Tensor, target: Tensor, *, use_ema: bool = True) -> Tensor:
        """Translate (B, C, H, W) in [-1, 1] to labels ``target``: (B, num_domains), or (num_domains,) for all.

        Uses the generator's moving average when the model keeps one, unless ``use_ema=False``.
        """
        generator = self.ema_gen if use_ema and self.ema_gen is not None else self.gen
        return self._generate(generator, x, target)

    @staticmethod
    def _generate(generator: nn.Module, x: Tensor, target: Tensor) -> Tensor:
        target = target.to(x).expand(len(x), -1)[:, :, None, None].expand(-1, -1, *x.shape[-2:])
        return generator(torch.cat([x, target], dim=1))

    # the model contract (translate.models.contract) ----------------------------------------------------------------

    @property
    def channels(self) -> int:
        return self.hparams.channels

    @property
    def size_multiple(self) -> int:
        return self.gen.size_multiple

    @property
    def label_mode(self) -> LabelMode:
        return self.hparams.label_mode

    @property
    def uses_ema(self) -> bool:
        return self.ema_gen is not None

    def translator(self, target: str) -> nn.Module:
        """The generator with ``target``'s one-hot label folded in (the other labels off)."""
        if target not in self.domains:
            raise ValueError(f"unknown target {target!r}: this StarGAN translates to {list(self.domains)}")
        label = F.one_hot(torch.tensor(self.domains.index(target)), len(self.domains)).float()
        return FixedLabelGenerator(self.ema_gen if self.ema_gen is not None else self.gen, label).to(self.device)

    def translate_to(self, images: Tensor, labels: Tensor) -> Tensor:
        return self(images, labels)

    def classify(self, x: Tensor) -> Tensor:
        """Domain logits (B, num_domains) of images x."""
        return self.classifier(self.disc.forward_features(x)).flatten(1)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        check_checkpoint_fits(self, checkpoint)  # one clear line for another model's or architecture's checkpoint

    def setup(self, stage: str) -> None:
        check_precision(self)
        data = attached_data(self)
        if data is None:
            return
        if data.labelled and self._single:
            raise ValueError("data.attr_file gives several attributes per image: set model.init_args.label_mode: "
                             "multi (or leave out data.attr_file for one folder per domain)")  # fmt: skip
        if not data.labelled and not self._single:
            raise ValueError("model.init_args.label_mode 'multi' needs attribute labels (data.attr_file); for one "
                             "folder per domain set model.init_args.label_mode: single")  # fmt: skip
        if list(data.domains) != self.domains:
            raise ValueError(f"model domains {self.domains} differ from data domains {list(data.domains)}; set both")
        check_channels(self, data)
        if data.labelled and data.batch_size < 2 and self.hparams.target_labels == "permuted":
            raise ValueError("model.init_args.target_labels 'permuted' shuffles a batch's labels: with "
                             "data.batch_size 1 each target is its source label; set batch_size >= 2 or "
                             "target_labels: uniform")  # fmt: skip
        if data.image_size != self.hparams.image_size:
            raise ValueError(f"model image_size={self.hparams.image_size} but data.crop_size={data.image_size}: set "
                             "both the same")  # fmt: skip

    # labels -----------------------------------------------------------------------------------------------------

    def unpack(self, batch: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        """(images (N, C, H, W), labels (N, num_domains)) from a batch: one tensor per domain, or (images, labels)."""
        if self.label_mode == "multi":
            images, labels = batch
            return images, labels.float()
        if len(batch) != len(self.domains):
            raise ValueError(f"batch has {len(batch)} domains, the model {len(self.domains)} ({self.domains})")
        index = torch.cat([torch.full((len(images),), i, device=images.device) for i, images in enumerate(batch)])
        return torch.cat(list(batch)), F.one_hot(index, len(self.domains)).float()

    def random_targets(self, labels: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Targets for a batch of source ``labels`` (N, num_domains) by ``target_labels``, drawn on the CPU from
        ``generator`` (None: torch's global generator, which ``StepSeed`` seeds per training step).

        ``permuted``: ``labels`` in a random order (official); ``uniform``: a uniform domain per sample, or fair coins
        per attribute with each exclusive group one-hot.
        """
        n, k = labels.shape
        if self.hparams.target_labels == "permuted":
            # non_blocking: a blocking host-to-GPU copy waits for the GPU's queue to drain, once per training step
            return labels[torch.randperm(n, generator=generator).to(labels.device, non_blocking=True)]
        draw = partial(torch.randint, generator=generator)
        if self.label_mode == "single":
            return F.one_hot(draw(k, (n,)), k).float().to(labels, non_blocking=True)
        target = draw(2, (n, k)).float()
        for group in self.groups:
            target[:, group] = F.one_hot(draw(len(group), (n,)), len(group)).float()
        return target.to(labels, non_blocking=True)

    def changed(self, labels: Tensor, name: str, value: float | None = None) -> Tensor:
        """``labels`` with domain ``name`` switched on: one-hot (single or exclusive group), else set to ``value`` or
        flipped when None (the paper's figures). Switching a group member off would leave the group empty: refused."""
        if name not in self.domains:
            raise ValueError(f"unknown domain {name!r}, expected one of {self.domains}")
        i, out = self.domains.index(name), labels.clone()
        group = next((g for g in self.groups if i in g), range(len(self.domains)) if self._single else None)
        if group is not None and value == 0:
            members = [self.domains[j] for j in group]
            raise ValueError(f"{name}=0 would leave none of {members} on (exactly one is); set another of them to 1 "
                             "instead")  # fmt: skip
        if group is not None:
            out[:, list(group)], out[:, i] = 0.0, 1.0
        else:
            out[:, i] = (1.0 - out[:, i]) if value is None else float(value)
        return out

    def estimate_labels(self, x: Tensor) -> Tensor:
        """The classifier's labels for x (any size: resized to ``image_size`` for it): the argmax domain one-hot
        (single) or attributes with logit > 0 (multi)."""
        size = self.hparams.image_size
        if x.shape[-2:] != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        logits = self.classify(x)
        if self._single:
            return F.one_hot(logits.argmax(1), len(self.domains)).float()
        return (logits > 0).float()

    @property
    def _single(self) -> bool:
        return self.label_mode == "single"

    # training ---------------------------------------------------------------------------------------------------

    def _classification_loss(self, logits: Tensor, labels: Tensor) -> Tensor:
        if self._single:
            return F.cross_entropy(logits.float(), labels.argmax(1))
        # official: summed over attributes, averaged over the batch
        return F.binary_cross_entropy_with_logits(logits.float(), labels, reduction="sum") / len(labels)

    def _accuracy(self, logits: Tensor, labels: Tensor) -> Tensor:
        if self._single:
            return (logits.argmax(1) == labels.argmax(1)).float().mean()
        return ((logits > 0) == (labels > 0.5)).float().mean()

    def training_step(self, batch: Sequence[Tensor], batch_idx: int) -> None:
        real, labels = self.unpack(batch)
        target = self.random_targets(labels)
        iteration = self.trainer.fit_loop.epoch_loop.total_batch_idx  # batches so far, kept across resumes
        catch_up(self.lr_schedulers(), iteration)  # StarGAN's schedules count batches
        opt_g, opt_d = self.optimizers()
        with self.toggled_optimizer(opt_d):
            loss_d = self._discriminator_losses(real, labels, target)
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(loss_d)
            opt_d.step()
        if (iteration + 1) % self.hparams.n_critic == 0:
            with self.toggled_optimizer(opt_g):  # the critic is frozen while G learns to fool it
                loss_g = self._generator_losses(real, labels, target)
                opt_g.zero_grad(set_to_none=True)
                self.manual_backward(loss_g)
                opt_g.step()
                if self.ema_gen is not None:
                    self.ema_gen.update_parameters(self.gen)

    def _discriminator_losses(self, real: Tensor, labels: Tensor, target: Tensor) -> Tensor:
        hp = self.hparams
        with torch.no_grad():
            fake = self._generate(self.gen, real, target)
        h_real = self.disc.forward_features(real)
        cls = self._classification_loss(self.classifier(h_real).flatten(1), labels)
        adv = losses.discriminator_loss(self.disc.forward_head(h_real), self.disc(fake), "wgangp")
        gp = losses.gradient_penalty(self.disc, real, fake)
        total = adv + hp.lambda_cls * cls + hp.lambda_gp * gp
        self.log_dict({"train/d/adv": adv, "train/d/cls": cls, "train/d/gp": gp})
        self.log("train/d/total", total, prog_bar=True)
        return total

    def _generator_losses(self, real: Tensor, labels: Tensor, target: Tensor) -> Tensor:
        hp = self.hparams
        fake = self._generate(self.gen, real, target)
        h_fake = self.disc.forward_features(fake)
        adv = losses.generator_loss(self.disc.forward_head(h_fake), "wgangp")
        cls = self._classification_loss(self.classifier(h_fake).flatten(1), target)
        rec = losses.l1(self._generate(self.gen, fake, labels), real)
        total = adv + hp.lambda_cls * cls + hp.lambda_rec * rec
        self.log_dict({"train/g/adv": adv, "train/g/cls": cls, "train/g/rec": rec})
        self.log("train/g/total", total, prog_bar=True)
        return total

    def validation_step(self, batch: Sequence[Tensor], batch_idx: int) -> None:
        self.log_own_metrics(batch, batch_idx, "val")

    def test_step(self, batch: Sequence[Tensor], batch_idx: int) -> None:
        self.log_own_metrics(batch, batch_idx, "test")

    def own_metrics(self, batch: Sequence[Tensor], batch_idx: int = 0) -> dict[str, Tensor]:
        """Domain accuracy of D's classifier on real images and on translations to random targets (seeded by
        ``batch_idx``), and the reconstruction error back to the images' own labels."""
        real, labels = self.unpack(batch)
        target = self.random_targets(labels.cpu(), torch.Generator().manual_seed(batch_idx)).to(labels)
        fake = self(real, target)
        return {
            "acc_real": self._accuracy(self.classify(real), labels),  # D's classifier on real images
            "acc_fake": self._accuracy(self.classify(fake), target),  # translations land in their target
            "rec": losses.l1(self(fake, labels), real),
        }

    @torch.no_grad()
    def sample_columns(self, batch: Sequence[Tensor]) -> dict[str, Tensor]:
        """Columns of a sample grid: the input, then its translation to every domain (attribute changed)."""
        real, labels = self.unpack(batch)
        return {"real": real, **{f"to_{name}": self(real, self.changed(labels, name)) for name in self.domains}}

    def configure_optimizers(self):
        opt_g = self.optimizer(self.gen.parameters())
        opt_d = self.optimizer([*self.disc.parameters(), *self.classifier.parameters()])
        if self.scheduler is None:
            return [opt_g, opt_d]
        return [opt_g, opt_d], [self.scheduler(opt_g), self.scheduler(opt_d)]
