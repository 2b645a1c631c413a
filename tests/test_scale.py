"""Scaling paths on the CPU: bf16-mixed precision and 2-process DDP (gloo) keep every rank's weights identical."""

from functools import partial
from pathlib import Path

import pytest
import torch
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.strategies import DDPStrategy

from translate.callbacks import StepSeed
from translate.data import UnpairedDataModule
from translate.models import CycleGAN
from translate.networks import PatchDiscriminator, ResnetGenerator


def _model(**kwargs) -> CycleGAN:
    torch.manual_seed(0)
    return CycleGAN(
        partial(ResnetGenerator, base_channels=4, num_blocks=1),
        partial(PatchDiscriminator, base_channels=4, num_layers=2),
        **kwargs,
    )


def test_bf16_mixed_trains_with_finite_losses(tiny_domains, tmp_path):
    model = _model(gan_mode="wgangp")  # the gradient penalty's double backward under autocast too
    before = model.gen_ab.model[1].weight.detach().clone()
    data = UnpairedDataModule(tiny_domains, load_size=18, crop_size=16, batch_size=2, num_workers=0)
    trainer = Trainer(
        accelerator="cpu", precision="bf16-mixed", max_steps=4, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, default_root_dir=tmp_path, limit_val_batches=0,
    )  # fmt: skip
    trainer.fit(model, datamodule=data)
    terms = {k: v for k, v in trainer.callback_metrics.items() if k.startswith("train/")}
    assert {"train/g/total", "train/d/gp_a"} <= set(terms)
    assert all(torch.isfinite(v) for v in terms.values()), terms
    assert not torch.equal(before, model.gen_ab.model[1].weight)
    assert model.gen_ab.model[1].weight.dtype == torch.float32  # weights stay fp32; only the compute is bf16


class _SaveWeights(Callback):
    def __init__(self, folder: Path):
        self.folder = folder

    def on_train_end(self, trainer, pl_module):
        torch.save(pl_module.state_dict(), self.folder / f"rank{trainer.global_rank}.pt")


def _tiny_travelgan():
    from tests.test_travelgan import tiny_travelgan

    torch.manual_seed(0)
    return tiny_travelgan()


def _tiny_stargan():
    from tests.test_stargan import tiny_stargan

    torch.manual_seed(0)
    return tiny_stargan(domains=["A", "B"], n_critic=2)


@pytest.mark.parametrize("name", ["cyclegan", "travelgan", "stargan"])
def test_ddp_two_processes_keep_identical_weights(name, tiny_domains, tmp_path):
    build = {"cyclegan": partial(_model, pool_size=2), "travelgan": _tiny_travelgan, "stargan": _tiny_stargan}[name]
    batch = 2 if name == "travelgan" else 1  # TraVeLGAN needs pairs within a batch
    data = UnpairedDataModule(tiny_domains, load_size=18, crop_size=16, batch_size=batch, num_workers=0)
    trainer = Trainer(
        accelerator="cpu", devices=2, strategy=DDPStrategy(start_method="spawn", find_unused_parameters=True),
        max_steps=6, logger=False, enable_checkpointing=False, enable_progress_bar=False, default_root_dir=tmp_path,
        limit_val_batches=0, callbacks=[StepSeed(), _SaveWeights(tmp_path)],
    )  # fmt: skip
    trainer.fit(build(), datamodule=data)
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    # Parameters are all-reduced; running statistics are buffers each rank updates from its own data (rank 0's are
    # the ones checkpoints save; sync_batchnorm makes batch norm share them).
    initial = dict(build().named_parameters())
    assert any(not torch.equal(rank0[k], initial[k]) for k in initial), "no training happened"
    for key in initial:
        assert torch.equal(rank0[key], rank1[key]), f"{key} differs between the ranks"


def test_bf16_mixed_trains_the_travelgans(tiny_domains, tmp_path):
    from tests.test_travelgan import tiny_siamese_disc, tiny_travelgan

    for model in (tiny_travelgan(), tiny_siamese_disc()):
        data = UnpairedDataModule(tiny_domains, load_size=18, crop_size=16, batch_size=3, num_workers=0)
        trainer = Trainer(accelerator="cpu", precision="bf16-mixed", max_steps=4, logger=False, limit_val_batches=0,
                          enable_checkpointing=False, enable_progress_bar=False, default_root_dir=tmp_path)  # fmt: skip
        trainer.fit(model, datamodule=data)
        terms = {k: v for k, v in trainer.callback_metrics.items() if k.startswith("train/")}
        assert terms and all(torch.isfinite(v) for v in terms.values()), (type(model).__name__, terms)


def test_bf16_mixed_trains_stargan(tmp_path):
    from tests.conftest import write_images
    from tests.test_stargan import DOMAINS, data_module, tiny_stargan

    for colour, domain in enumerate(DOMAINS):
        write_images(tmp_path / "rgb" / "train" / domain, 4, colour=colour)
    model = tiny_stargan()  # WGAN-GP: the penalty's double backward under bf16 autocast
    trainer = Trainer(accelerator="cpu", precision="bf16-mixed", max_steps=4, logger=False, limit_val_batches=0,
                      enable_checkpointing=False, enable_progress_bar=False, default_root_dir=tmp_path)  # fmt: skip
    trainer.fit(model, datamodule=data_module(tmp_path / "rgb"))
    terms = {k: v for k, v in trainer.callback_metrics.items() if k.startswith("train/")}
    assert len(terms) >= 4 and all(torch.isfinite(v) for v in terms.values()), terms
