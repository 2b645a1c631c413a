"""DCGAN (translate.models.noise's loop): every loss trains, the loss options are checked, G steps every n_critic
batches, samples are fixed by their seed, the data must fit, and an interrupted run resumes bit-exact."""

from functools import partial
from types import SimpleNamespace

import pytest
import torch
from lightning.pytorch import seed_everything
from lightning.pytorch.callbacks import ModelCheckpoint

from translate.data.image_folder import ImageFolderDataModule
from translate.models import DCGAN
from translate.models.contract import GeneratesFromNoise, ShowsSamples
from translate.models.noise import wgan_critic_steps
from translate.networks.dcgan import DCGANDiscriminator, DCGANGenerator

TINY_G = partial(DCGANGenerator, base_channels=4, image_size=32)
TINY_D = partial(DCGANDiscriminator, base_channels=4, image_size=32)


def tiny_dcgan(**kwargs) -> DCGAN:
    return DCGAN(TINY_G, kwargs.pop("discriminator", TINY_D), latent_dim=8, **kwargs)


@pytest.fixture
def images(tmp_path, write_images):
    """6 32x32 images in one folder (3 batches of 2)."""
    write_images(tmp_path / "images", 6, size=(32, 32))
    return tmp_path / "images"


def tiny_data(root, **kwargs) -> ImageFolderDataModule:
    return ImageFolderDataModule(root, load_size=32, crop_size=32, batch_size=2, num_workers=0, **kwargs)


LOSSES = {
    "minimax": {},
    "nonsaturating": {"real_target": 0.9},
    "lsgan": {},
    "hinge": {"ema_decay": 0.9},
    "wgan": {"clip": 0.01, "n_critic": 2},
    "wgangp": {"n_critic": 2, "discriminator": partial(TINY_D, norm="none")},
}


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_trains_both_networks(loss, images, fit, tmp_path):
    model = tiny_dcgan(loss=loss, **LOSSES[loss])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = fit(model, tiny_data(images), tmp_path)
    for prefix in ("gen.", "disc."):
        changed = [k for k, v in model.state_dict().items() if k.startswith(prefix) and not torch.equal(v, before[k])]
        assert changed, f"no {prefix} tensor changed under {loss}"
    terms = {k: v for k, v in trainer.callback_metrics.items() if k.startswith("train/")}
    assert "train/g/total" in terms and all(torch.isfinite(v) for v in terms.values())
    if loss == "wgan":  # clipped after every critic step
        assert max(p.abs().max() for p in model.disc.parameters()) <= 0.01 + 1e-7


@pytest.mark.parametrize("distance", ["squared", "absolute"])
def test_feature_matching_and_minibatch_std_train(distance, images, fit, tmp_path):
    model = tiny_dcgan(
        feature_matching=True, feature_distance=distance, discriminator=partial(TINY_D, minibatch_std=True)
    )
    trainer = fit(model, tiny_data(images), tmp_path)
    assert "train/g/feature_matching" in trainer.callback_metrics and "train/g/adv" not in trainer.callback_metrics


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"loss": "wgan"}, "clip > 0"),
        ({"loss": "lsgan", "clip": 0.01}, "wgan only"),
        ({"loss": "lsgan", "real_target": 0.9}, "minimax and nonsaturating"),
        ({"loss": "wgangp"}, "batch norm"),
        ({"loss": "relativistic"}, "unknown loss"),
        ({"n_critic": 0}, "n_critic"),
        ({"feature_distance": "l1"}, "unknown feature_distance 'l1'"),
    ],
)
def test_loss_options_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_dcgan(**kwargs)


def test_generator_steps_every_n_critic_batches(images, fit, tmp_path):
    model = tiny_dcgan(loss="wgan", clip=0.01, n_critic=3)
    trainer = fit(model, tiny_data(images), tmp_path, max_epochs=2)  # 6 batches: 6 critic steps, 2 generator steps
    opt_g, opt_d = trainer.optimizers
    steps = [int(next(iter(opt.state.values()))["step"]) for opt in (opt_g, opt_d)]
    assert steps == [2, 6]


def test_wgan_critic_steps_are_the_references():
    # martinarjovsky/WassersteinGAN main.py: Diters = 100 if gen_iterations < 25 or gen_iterations % 500 == 0, else 5
    generator_steps = [0, 24, 25, 26, 499, 500, 501, 1000, 1001]
    assert [wgan_critic_steps(g, 5) for g in generator_steps] == [100, 100, 5, 5, 5, 100, 5, 100, 5]


def _reference_wgan_generator_batches(batches_per_epoch: int, epochs: int, diters: int) -> list[int]:
    """The batches (0-based, across epochs) after which the reference WGAN loop steps G: main.py's loops written out."""
    gen_iterations, batches, after = 0, 0, []
    for _ in range(epochs):
        i = 0
        while i < batches_per_epoch:
            critic_steps = 100 if gen_iterations < 25 or gen_iterations % 500 == 0 else diters
            j = 0
            while j < critic_steps and i < batches_per_epoch:  # the data loader's end cuts the phase short
                j, i, batches = j + 1, i + 1, batches + 1
            after.append(batches - 1)
            gen_iterations += 1
    return after


def test_wgan_schedule_steps_the_generator_where_the_reference_loop_does():
    # Two epochs of 3,001 batches: the 25 warm-up phases of 100, phases of 5, the 500th G step's 100 again, and the
    # phase each epoch's end cuts short. The trainer's counters are advanced as Lightning does (one optimizer step
    # per D step and per G step).
    model = tiny_dcgan(loss="wgan", clip=0.01, n_critic=5, critic_schedule="wgan")
    epoch_loop = SimpleNamespace(total_batch_idx=0)
    model._trainer = SimpleNamespace(fit_loop=SimpleNamespace(epoch_loop=epoch_loop), global_step=0,
                                     num_training_batches=3001)  # fmt: skip
    after = []
    for batch in range(2 * 3001):
        generator_step = model._generator_steps_after(batch % 3001)
        if generator_step:
            after.append(batch)
        epoch_loop.total_batch_idx += 1
        model._trainer.global_step += 1 + generator_step
    assert after == _reference_wgan_generator_batches(3001, 2, 5)
    assert len(after) > 500 and after[24] == 2499 and after[25] == 2504  # 25 x 100 critic steps, then 5


def test_wgan_schedule_steps_the_generator_at_each_epochs_end(images, fit, tmp_path):
    for schedule, generator_steps in (("fixed", 1), ("wgan", 2)):  # 6 batches in 2 epochs; n_critic 5
        model = tiny_dcgan(loss="wgan", clip=0.01, n_critic=5, critic_schedule=schedule)
        trainer = fit(model, tiny_data(images), tmp_path, max_epochs=2)
        steps = [int(next(iter(opt.state.values()))["step"]) for opt in trainer.optimizers]
        assert steps == [generator_steps, 6], schedule
    with pytest.raises(ValueError, match="unknown critic_schedule 'warmup'"):
        tiny_dcgan(critic_schedule="warmup")


def test_samples_are_fixed_by_their_seed():
    model = tiny_dcgan().eval()
    assert isinstance(model, GeneratesFromNoise) and isinstance(model, ShowsSamples)
    first, again, other = model.generate(3, seed=1), model.generate(3, seed=1), model.generate(3, seed=2)
    assert first.shape == (3, 3, 32, 32) and torch.equal(first, again) and not torch.equal(first, other)
    columns = model.sample_columns((torch.zeros(2, 3, 32, 32),))
    assert list(columns)[0] == "real" and len(columns) == 9 and columns["sample_0"].shape == (2, 3, 32, 32)
    assert torch.equal(columns["sample_0"], model.sample_columns((torch.ones(2, 3, 32, 32),))["sample_0"])
    with pytest.raises(ValueError, match="unconditional"):
        model.generate(1, class_name="apple")


def test_data_must_fit_the_model(images, fit, tmp_path):
    with pytest.raises(ValueError, match="makes 32 px images but data.crop_size is 16"):
        fit(tiny_dcgan(), ImageFolderDataModule(images, load_size=16, crop_size=16, num_workers=0), tmp_path)
    with pytest.raises(ValueError, match="channels"):
        fit(tiny_dcgan(), tiny_data(images, channels=1), tmp_path)


@pytest.mark.parametrize("stop_after", [3, 4])  # at an epoch's end, mid-epoch
def test_resume_is_bit_exact(stop_after, images, seeded_trainer, tmp_path):
    def build():
        seed_everything(0)
        return tiny_dcgan(loss="wgan", clip=0.01, n_critic=2, ema_decay=0.9)  # the G-step counter must survive

    _fit_and_resume(build, stop_after, 3, images, seeded_trainer, tmp_path)


def test_wgan_schedule_resumes_bit_exact_mid_phase(images, seeded_trainer, tmp_path):
    # 3 batches an epoch, n_critic 2: 25 epochs of warm-up end with G's 25th step at optimizer step 100; epoch 26
    # steps G after its 2nd batch (step 103) and at its end (105); step 106 is epoch 27's first D step, where the
    # checkpoint must carry the one D step of the phase so that G steps after the next batch.
    def build():
        seed_everything(0)
        return tiny_dcgan(loss="wgan", clip=0.01, n_critic=2, critic_schedule="wgan")

    resumed = _fit_and_resume(build, 106, 28, images, seeded_trainer, tmp_path)
    assert resumed.trainer.global_step == 28 * 3 + 25 + 3 * 2  # G: 25 warm-up steps, then 2 per epoch


def _fit_and_resume(build, stop_after: int, epochs: int, images, seeded_trainer, tmp_path) -> DCGAN:
    """Train ``epochs`` in one run and in two (stopped at optimizer step ``stop_after``): the same weights."""
    reference = build()
    seeded_trainer(tmp_path / "reference", max_epochs=epochs, enable_checkpointing=False).fit(
        reference, datamodule=tiny_data(images)
    )
    every = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=stop_after, save_top_k=-1)
    seeded_trainer(tmp_path / "first", max_steps=stop_after, callbacks=[every]).fit(
        build(), datamodule=tiny_data(images)
    )
    (ckpt,) = (tmp_path / "ckpt").glob("*.ckpt")
    resumed = build()
    trainer = seeded_trainer(tmp_path / "second", max_epochs=epochs, enable_checkpointing=False)
    trainer.fit(resumed, datamodule=tiny_data(images), ckpt_path=ckpt, weights_only=False)
    for (name, expected), actual in zip(reference.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(expected, actual), f"{name} differs after resume"
    return resumed
