"""Interrupted training continues exactly: N steps in one run equal N/2 steps, a checkpoint, and N/2 more."""

from functools import partial

import pytest
import torch
from lightning.pytorch import Trainer, seed_everything
from lightning.pytorch.callbacks import ModelCheckpoint

from translate.data import UnpairedDataModule
from translate.models import CycleGAN
from translate.networks import PatchDiscriminator, ResnetGenerator
from translate.schedules import LinearDecayLR
from translate.training.callbacks import StepSeed


def _model() -> CycleGAN:
    seed_everything(0)
    return CycleGAN(
        partial(ResnetGenerator, base_channels=4, num_blocks=1),
        partial(PatchDiscriminator, base_channels=4, num_layers=2),
        scheduler=partial(LinearDecayLR, constant_epochs=1, decay_epochs=2),
        pool_size=2,  # small, so the pool is full and swapping (random) within the run
        ema_decay=0.9,  # the averages must resume exactly too
    )


def _trainer(root, **kwargs) -> Trainer:
    options = dict(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    return Trainer(default_root_dir=root, callbacks=[StepSeed(), *kwargs.pop("callbacks", [])], **options, **kwargs)


def _data(root, num_workers: int = 0) -> UnpairedDataModule:
    return UnpairedDataModule(root, load_size=20, crop_size=16, batch_size=2, num_workers=num_workers)


@pytest.mark.parametrize(
    "stop_after_batches, workers",
    [(3, 0), (4, 0), (5, 0), (3, 2), (5, 2)],
    ids=["epoch-boundary", "mid-epoch", "mid-epoch-late", "epoch-boundary-2-workers", "mid-epoch-2-workers"],
)
def test_resume_is_bit_exact(stop_after_batches, workers, tiny_domains, tmp_path):
    # tiny_domains: 6 A images, batch 2 -> 3 batches per epoch; 3 epochs = 9 batches = 18 optimizer steps
    reference = _model()
    _trainer(tmp_path / "reference", max_epochs=3, enable_checkpointing=False).fit(
        reference, datamodule=_data(tiny_domains)
    )

    every = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=2 * stop_after_batches, save_top_k=-1)
    interrupted = _model()
    trainer = _trainer(tmp_path / "first", max_steps=2 * stop_after_batches, callbacks=[every])
    trainer.fit(interrupted, datamodule=_data(tiny_domains))
    ckpt = next((tmp_path / "ckpt").glob(f"*step={2 * stop_after_batches}.ckpt"))

    resumed = _model()
    trainer = _trainer(tmp_path / "second", max_epochs=3, enable_checkpointing=False)
    trainer.fit(
        resumed, datamodule=_data(tiny_domains, workers), ckpt_path=ckpt, weights_only=False
    )  # hparams hold partials
    assert trainer.global_step == 18
    for (name, expected), actual in zip(reference.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(expected, actual), f"{name} differs after resume"
    assert all(torch.equal(a, b) for a, b in zip(reference.pool_a.images, resumed.pool_a.images, strict=True))


@pytest.mark.parametrize("variant", ["travelgan", "siamese_disc"])
def test_travelgan_resume_is_bit_exact(variant, tiny_domains, tmp_path):
    from tests.test_travelgan import tiny_siamese_disc, tiny_travelgan

    def build():
        seed_everything(0)
        return tiny_travelgan() if variant == "travelgan" else tiny_siamese_disc()

    reference = build()
    _trainer(tmp_path / "reference", max_epochs=2, enable_checkpointing=False).fit(
        reference, datamodule=_data(tiny_domains)
    )
    every = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=8, save_top_k=-1)
    _trainer(tmp_path / "first", max_steps=8, callbacks=[every]).fit(build(), datamodule=_data(tiny_domains))
    resumed = build()
    trainer = _trainer(tmp_path / "second", max_epochs=2, enable_checkpointing=False)
    trainer.fit(resumed, datamodule=_data(tiny_domains), ckpt_path=tmp_path / "ckpt" / "epoch=1-step=8.ckpt",
                weights_only=False)  # fmt: skip
    for (name, expected), actual in zip(reference.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(expected, actual), f"{name} differs after resume"


def test_stargan_resume_is_bit_exact(tmp_path):
    from tests.conftest import write_images
    from tests.test_stargan import DOMAINS, data_module, tiny_stargan

    root = tmp_path / "rgb"
    for colour, domain in enumerate(DOMAINS):
        write_images(root / "train" / domain, 4, colour=colour)

    def build():
        seed_everything(0)
        return tiny_stargan(n_critic=2)  # G steps every second batch: the counter must survive the resume

    reference = build()
    _trainer(tmp_path / "reference", max_epochs=2, enable_checkpointing=False).fit(
        reference, datamodule=data_module(root)
    )
    every = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=3, save_top_k=-1)
    _trainer(tmp_path / "first", max_steps=3, callbacks=[every]).fit(build(), datamodule=data_module(root))
    (ckpt,) = (tmp_path / "ckpt").glob("*.ckpt")
    resumed = build()
    trainer = _trainer(tmp_path / "second", max_epochs=2, enable_checkpointing=False)
    trainer.fit(resumed, datamodule=data_module(root), ckpt_path=ckpt, weights_only=False)
    for (name, expected), actual in zip(reference.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(expected, actual), f"{name} differs after resume"
