"""VAE-GAN: the three networks step on their own objectives (the encoder gets no GAN gradient, the decoder no KL), the
decoder adds its GAN terms for reconstructions and prior samples, reconstructions come from the mean code, the
encoder must fit the image size, and translate sample writes a folder's reconstructions."""

import math
from functools import partial

import pytest
import torch

from tests.commands.test_sample import REPO, fit_noise
from translate.cli import main
from translate.data.image_folder import ImageFolderDataModule
from translate.models import VAEGAN
from translate.networks.dcgan import DCGANDiscriminator, DCGANGenerator

TINY_D = partial(DCGANDiscriminator, base_channels=4, image_size=32)
TINY = {"generator": partial(DCGANGenerator, base_channels=4, image_size=32), "discriminator": TINY_D,
        "encoder": TINY_D, "latent_dim": 8}  # fmt: skip


@pytest.fixture
def images(tmp_path, write_images):
    write_images(tmp_path / "images", 4, size=(32, 32))
    return tmp_path / "images"


def test_three_networks_train_and_log_their_terms(images, fit, tmp_path):
    model = VAEGAN(**TINY, ema_decay=0.9)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    data = ImageFolderDataModule(images, load_size=32, crop_size=32, batch_size=2, num_workers=0)
    trainer = fit(model, data, tmp_path)
    assert {"train/enc/prior", "train/enc/llike", "train/dec/adv", "train/dis/adv"} <= set(trainer.callback_metrics)
    for prefix in ("enc.", "enc_head.", "gen.", "disc.", "ema_gen."):
        assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items() if k.startswith(prefix)), prefix


def test_the_decoder_adds_its_gan_terms_for_both_kinds_of_fake(images, fit, tmp_path):
    # Larsen et al.'s L_GAN has log(1 - Dis(Dec(z))) and log(1 - Dis(Dec(Enc(x)))): with D's logits all 0 each costs
    # the decoder log 2 (non-saturating), so the sum is 2 log 2 (their mean, before #26, gave log 2); lr 0 keeps them 0
    model = VAEGAN(**TINY, optimizer=partial(torch.optim.SGD, lr=0.0))
    torch.nn.init.zeros_(model.disc.head.weight)
    trainer = fit(
        model, ImageFolderDataModule(images, load_size=32, crop_size=32, batch_size=2, num_workers=0), tmp_path
    )
    assert trainer.callback_metrics["train/dec/adv"].item() == pytest.approx(2 * math.log(2))


def test_each_network_steps_on_its_own_objective():
    model = VAEGAN(**TINY)
    # what manual_backward does under 32-true (tests/training/test_precision.py: under the other precisions)
    model.manual_backward = lambda loss, *args, **kwargs: loss.backward(*args, **kwargs)
    enc, dec = torch.optim.SGD(model.enc_head.parameters(), lr=1.0), torch.optim.SGD(model.gen.parameters(), lr=1.0)
    mu, logvar = model.encode(torch.randn(2, 3, 32, 32))
    rebuilt = model.gen(mu)
    prior, gan = (mu.square() + logvar.exp()).mean(), rebuilt.mean()  # stand-ins: prior only on Enc, gan on Enc and Dec
    head_before, gen_before = model.enc_head.weight.clone(), [p.clone() for p in model.gen.parameters()]
    (expected,) = torch.autograd.grad(prior, model.enc_head.weight, retain_graph=True)
    model._step_apart({enc: prior, dec: gan})
    head_step = model.enc_head.weight - head_before
    torch.testing.assert_close(head_step, -expected)  # the encoder took the prior's gradient only, none of gan's
    assert all(not torch.equal(p, q) for p, q in zip(model.gen.parameters(), gen_before, strict=True))


def test_reconstructions_decode_the_mean_code():
    model = VAEGAN(**TINY).eval()
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    torch.testing.assert_close(model.reconstruct(images), model.gen(model.encode(images)[0]))
    columns = model.sample_columns((images,))
    assert list(columns)[:2] == ["real", "reconstruction"] and len(columns) == 8


def test_the_encoder_must_fit_the_image_size():
    with pytest.raises(ValueError, match="set its image_size to the generator's"):
        VAEGAN(**{**TINY, "encoder": partial(DCGANDiscriminator, base_channels=4, image_size=64)})
    with pytest.raises(ValueError, match="leave out n_critic"):
        VAEGAN(**TINY, n_critic=5)
    for ignored in ({"loss": "wgangp"}, {"loss": "wgan"}, {"critic_schedule": "wgan"}):  # were accepted, then ignored
        with pytest.raises(ValueError, match="leave out critic_schedule and set loss to minimax"):
            VAEGAN(**TINY, **ignored)


def test_sample_writes_reconstructions_of_a_folder(images, tmp_path, capsys):
    names = ["vaegan_quickstart.yaml", "debug_noise.yaml", "debug_vaegan.yaml"]
    config = [arg for name in names for arg in ("--config", str(REPO / "configs" / name))]
    ckpt = fit_noise(config, images, tmp_path / "run")
    main(["sample", "--ckpt", str(ckpt), "--num", "2", "--output", str(tmp_path / "out"), "--input", str(images)])
    assert "wrote 2 images, reconstructions.png" in capsys.readouterr().out
    assert (tmp_path / "out" / "reconstructions.png").is_file()


def test_feature_error_sees_an_error_common_to_every_reconstruction():
    # D normalises with batch statistics: x and x~ must share a batch, or a shift shared by every reconstruction
    # (a wrong background colour) is normalised away before the comparison
    torch.manual_seed(0)
    model = VAEGAN(**TINY)
    real = torch.rand(8, 3, 32, 32) * 1.6 - 0.8
    shifted = real + torch.tensor([0.2, -0.2, 0.1])[:, None, None]
    two_batches = 0.5 * (model.disc.forward_features(shifted) - model.disc.forward_features(real)).square().mean()
    assert model.feature_error(real, real).item() == 0
    assert model.feature_error(real, shifted).item() > 2 * two_batches.item()  # 3x measured
