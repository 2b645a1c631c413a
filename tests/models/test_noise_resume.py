"""Every noise model resumes bit-exact: an interrupted run continued from its checkpoint ends with the weights (and
optimizer-driven moving averages) of one uninterrupted run, mid-epoch and at an epoch's end."""

from functools import partial

import pytest
import torch
from lightning.pytorch import seed_everything
from lightning.pytorch.callbacks import ModelCheckpoint

from translate.data.image_folder import ImageFolderDataModule
from translate.models import VAEGAN, ConditionalGAN, InfoGAN, SiameseGAN
from translate.networks.dcgan import DCGANDiscriminator, DCGANGenerator

TINY_D = partial(DCGANDiscriminator, base_channels=4, image_size=32)
TINY = {"generator": partial(DCGANGenerator, base_channels=4, image_size=32), "discriminator": TINY_D,
        "latent_dim": 8, "ema_decay": 0.9}  # fmt: skip
MODELS = {
    "cgan": (partial(ConditionalGAN, **TINY, classes=["a", "b"], condition="projection"), True),
    "infogan": (partial(InfoGAN, **TINY, categorical=[2], continuous=1), False),
    "siamese_gan": (partial(SiameseGAN, **{**TINY, "discriminator": partial(TINY_D, out_features=4)}), False),
    "vaegan": (partial(VAEGAN, **TINY, encoder=TINY_D), False),
}


@pytest.mark.parametrize("stop_after", [2, 3], ids=["mid-epoch", "epoch-end"])  # batches, of 3 an epoch
@pytest.mark.parametrize("name", MODELS)
def test_resume_is_bit_exact(name, stop_after, tmp_path, write_images, seeded_trainer):
    build_model, conditional = MODELS[name]
    for colour, folder in enumerate(["a", "b"]):  # 6 images (3 batches of 2); one folder per class when conditional
        write_images(tmp_path / "images" / folder, 3, size=(32, 32), colour=colour)

    def build():
        seed_everything(0)
        return build_model()

    def data():
        return ImageFolderDataModule(tmp_path / "images", conditional=conditional, load_size=32, crop_size=32,
                                     batch_size=2, num_workers=0)  # fmt: skip

    reference = build()
    seeded_trainer(tmp_path / "reference", max_epochs=2, enable_checkpointing=False).fit(reference, datamodule=data())
    steps_per_batch = 3 if name == "vaegan" else 2  # optimizer steps: Enc, Dec, Dis; or D and G
    every = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=stop_after * steps_per_batch, save_top_k=-1)
    seeded_trainer(tmp_path / "first", max_steps=stop_after * steps_per_batch, callbacks=[every]).fit(
        build(), datamodule=data()
    )
    (ckpt,) = (tmp_path / "ckpt").glob("*.ckpt")
    resumed = build()
    trainer = seeded_trainer(tmp_path / "second", max_epochs=2, enable_checkpointing=False)
    trainer.fit(resumed, datamodule=data(), ckpt_path=ckpt, weights_only=False)
    for (key, expected), actual in zip(reference.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(expected, actual), f"{key} differs after resume"
