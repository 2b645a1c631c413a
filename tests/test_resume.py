"""Interrupted training continues exactly: N steps in one run equal N/2 steps, a checkpoint, and N/2 more."""

import pytest
import torch
from lightning.pytorch import seed_everything
from lightning.pytorch.callbacks import ModelCheckpoint


@pytest.mark.parametrize(
    "stop_after_batches, workers",
    [(3, 0), (4, 0), (5, 0), (3, 2), (5, 2)],
    ids=["epoch-boundary", "mid-epoch", "mid-epoch-late", "epoch-boundary-2-workers", "mid-epoch-2-workers"],
)
def test_resume_is_bit_exact(
    resumable_cyclegan, seeded_trainer, tiny_data, stop_after_batches, workers, tiny_domains, tmp_path
):
    # tiny_domains: 6 A images, batch 2 -> 3 batches per epoch; 3 epochs = 9 batches = 18 optimizer steps
    reference = resumable_cyclegan()
    seeded_trainer(tmp_path / "reference", max_epochs=3, enable_checkpointing=False).fit(
        reference, datamodule=tiny_data(tiny_domains, load_size=20)
    )

    every = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=2 * stop_after_batches, save_top_k=-1)
    interrupted = resumable_cyclegan()
    trainer = seeded_trainer(tmp_path / "first", max_steps=2 * stop_after_batches, callbacks=[every])
    trainer.fit(interrupted, datamodule=tiny_data(tiny_domains, load_size=20))
    ckpt = next((tmp_path / "ckpt").glob(f"*step={2 * stop_after_batches}.ckpt"))

    resumed = resumable_cyclegan()
    trainer = seeded_trainer(tmp_path / "second", max_epochs=3, enable_checkpointing=False)
    trainer.fit(
        resumed,
        datamodule=tiny_data(tiny_domains, load_size=20, num_workers=workers),
        ckpt_path=ckpt,
        weights_only=False,
    )  # hparams hold partials
    assert trainer.global_step == 18
    for (name, expected), actual in zip(reference.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(expected, actual), f"{name} differs after resume"
    assert all(torch.equal(a, b) for a, b in zip(reference.pool_a.images, resumed.pool_a.images, strict=True))


@pytest.mark.parametrize("variant", ["travelgan", "siamese_disc"])
def test_travelgan_resume_is_bit_exact(
    seeded_trainer, tiny_travelgan, tiny_siamese_disc, tiny_data, variant, tiny_domains, tmp_path
):
    def build():
        seed_everything(0)
        return tiny_travelgan() if variant == "travelgan" else tiny_siamese_disc()

    reference = build()
    seeded_trainer(tmp_path / "reference", max_epochs=2, enable_checkpointing=False).fit(
        reference, datamodule=tiny_data(tiny_domains, load_size=20)
    )
    every = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=8, save_top_k=-1)
    seeded_trainer(tmp_path / "first", max_steps=8, callbacks=[every]).fit(
        build(), datamodule=tiny_data(tiny_domains, load_size=20)
    )
    resumed = build()
    trainer = seeded_trainer(tmp_path / "second", max_epochs=2, enable_checkpointing=False)
    trainer.fit(resumed, datamodule=tiny_data(tiny_domains, load_size=20),
                ckpt_path=tmp_path / "ckpt" / "epoch=1-step=8.ckpt", weights_only=False)  # fmt: skip
    for (name, expected), actual in zip(reference.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(expected, actual), f"{name} differs after resume"


def test_stargan_resume_is_bit_exact(rgb_domains, seeded_trainer, tiny_stargan, rgb_data, tmp_path):
    root = rgb_domains

    def build():
        seed_everything(0)
        return tiny_stargan(n_critic=2)  # G steps every second batch: the counter must survive the resume

    reference = build()
    seeded_trainer(tmp_path / "reference", max_epochs=2, enable_checkpointing=False).fit(
        reference, datamodule=rgb_data(root)
    )
    every = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=3, save_top_k=-1)
    seeded_trainer(tmp_path / "first", max_steps=3, callbacks=[every]).fit(build(), datamodule=rgb_data(root))
    (ckpt,) = (tmp_path / "ckpt").glob("*.ckpt")
    resumed = build()
    trainer = seeded_trainer(tmp_path / "second", max_epochs=2, enable_checkpointing=False)
    trainer.fit(resumed, datamodule=rgb_data(root), ckpt_path=ckpt, weights_only=False)
    for (name, expected), actual in zip(reference.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(expected, actual), f"{name} differs after resume"
