"""SiameseGAN: realism as the distance of D's vector to an anchor; with vec_len 1, anchor 1 and margin 1 the distance
form trains exactly as the least-squares GAN (the article's claim), the contrastive form is LSGAN on real images only;
both forms train, and the classic-loss options are refused."""

from functools import partial

import pytest
import torch
from lightning.pytorch import Trainer, seed_everything

from translate import losses
from translate.data.image_folder import ImageFolderDataModule
from translate.models import DCGAN, SiameseGAN
from translate.networks.dcgan import DCGANDiscriminator, DCGANGenerator
from translate.training.callbacks import StepSeed

TINY_G = partial(DCGANGenerator, base_channels=4, image_size=32)


def tiny_disc(vec_len: int = 1):
    return partial(DCGANDiscriminator, base_channels=4, image_size=32, out_features=vec_len)


@pytest.fixture
def images(tmp_path, write_images):
    write_images(tmp_path / "images", 4, size=(32, 32))
    return tmp_path / "images"


def test_vec_len_one_with_anchor_one_is_the_least_squares_gan(images, tmp_path):
    def build(cls, **kwargs):
        seed_everything(0)  # the same initial weights for both
        model = cls(TINY_G, tiny_disc(1), latent_dim=8, **kwargs)
        # scores near 0.5: fakes between LSGAN's targets 0 and 1, where the article's equivalence holds
        model.disc.head.register_forward_hook(lambda module, args, out: out * 0.01 + 0.5)
        return model

    siamese = build(SiameseGAN, anchor=1.0, margin=1.0, realism="distance")
    lsgan = build(DCGAN, loss="lsgan")
    assert torch.equal(siamese.disc.head.weight, lsgan.disc.head.weight)
    real, fake = torch.rand(6, 1), torch.rand(6, 1)  # any scores in [0, 1]
    assert siamese.adversarial_losses(real, fake) == pytest.approx(lsgan.adversarial_losses(real, fake).item())
    wide = torch.randn(6, 1) * 3  # G's loss: for any score
    assert siamese.adversarial_generator_loss(wide) == pytest.approx(lsgan.adversarial_generator_loss(wide).item())
    for model in (siamese, lsgan):  # three batches of D and G steps on the same data and noise (StepSeed)
        data = ImageFolderDataModule(images, load_size=32, crop_size=32, batch_size=2, num_workers=0)
        Trainer(accelerator="cpu", max_steps=6, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                enable_model_summary=False, callbacks=[StepSeed()]).fit(model, datamodule=data)  # fmt: skip
    for (name, expected), actual in zip(lsgan.state_dict().items(), siamese.state_dict().values(), strict=True):
        torch.testing.assert_close(actual, expected, msg=f"{name} differs from the LSGAN run")


def test_the_contrastive_form_is_lsgan_on_real_images_only():
    anchor = torch.tensor(1.0)
    real = torch.rand(6, 1)
    no_fakes_inside = torch.full((6, 1), -5.0)  # fakes beyond the margin cost nothing: only the real term is left
    assert losses.contrastive_realism_loss(real, no_fakes_inside, anchor, 1.0) == pytest.approx(
        (real - 1).square().mean().item()
    )  # LSGAN's real term, (D(x) - 1)^2
    fake = torch.full((1, 1), 0.5)  # LSGAN: 0.5^2 = 0.25; contrastive: max(0, 1 - 0.5^2)^2 = 0.5625
    assert losses.contrastive_realism_loss(anchor[None, None], fake, anchor, 1.0) == pytest.approx(0.5625)


@pytest.mark.parametrize("realism", ["contrastive", "distance"])
def test_vectors_train_with_either_form(realism, images, fit, tmp_path):
    model = SiameseGAN(TINY_G, tiny_disc(8), latent_dim=8, realism=realism, margin=4.0, ema_decay=0.9)
    assert model.vec_len == 8
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = fit(model, ImageFolderDataModule(images, load_size=32, crop_size=32, batch_size=2, num_workers=0),
                  tmp_path)  # fmt: skip
    assert {"train/d/dist_real", "train/d/dist_fake", "train/g/adv"} <= set(trainer.callback_metrics)
    for prefix in ("gen.", "disc."):
        assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items() if k.startswith(prefix))
    assert model.generate(2, seed=0).shape == (2, 3, 32, 32)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"loss": "wgan", "clip": 0.01}, "realism loss is its own"), ({"realism": "hinge"}, "unknown realism"),
     ({"margin": 0.0}, "margin must be > 0")],
)  # fmt: skip
def test_options_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SiameseGAN(TINY_G, tiny_disc(), **kwargs)
