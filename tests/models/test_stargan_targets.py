"""StarGAN's training targets (``target_labels``): the official permutation of the batch's labels follows the data's
label distribution, ``uniform`` does not; draws are reproducible; and configs/stargan_celeba.yaml's official data
settings (antialiased 178 -> 128 resize, 1999 held-out images).
"""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from jsonargparse import ArgumentParser
from lightning.pytorch import Trainer
from PIL import Image

from translate.data import ImageDataModule, UnpairedDataModule

REPO = Path(__file__).resolve().parents[2]
ATTRS = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]
DRAWS = 200


def celeba_like_labels() -> torch.Tensor:
    """100 attribute rows: 90% Male, 30% Young; hair black 50, blond 20, brown 20, none 10 (CelebA has such rows)."""
    hair = torch.cat([torch.eye(3).repeat_interleave(torch.tensor([50, 20, 20]), 0), torch.zeros(10, 3)])
    male = (torch.arange(100) % 10 != 0).float()  # images 0, 10, 20, ... are not Male
    young = (torch.arange(100) % 10 < 3).float()
    return torch.cat([hair, male[:, None], young[:, None]], 1)


def draws(model, labels: torch.Tensor) -> torch.Tensor:
    """``DRAWS`` target batches (DRAWS, N, K), from a seeded generator as validation draws them."""
    generator = torch.Generator().manual_seed(0)
    return torch.stack([model.random_targets(labels, generator) for _ in range(DRAWS)])


def sorted_rows(labels: torch.Tensor) -> list[list[float]]:
    return sorted(labels.tolist())


def test_permuted_targets_follow_the_batchs_attribute_frequencies(tiny_stargan):
    model = tiny_stargan(domains=ATTRS, label_mode="multi", exclusive_groups=[ATTRS[:3]])
    assert model.hparams.target_labels == "permuted"  # the official rule is the default
    labels = celeba_like_labels()
    targets = draws(model, labels)
    for target in targets:  # each draw is the batch's own rows in another order
        assert sorted_rows(target) == sorted_rows(labels)
    not_male = labels[:, 3] == 0
    assert targets[:, not_male, 3].mean() == pytest.approx(0.9, abs=0.03)  # whatever the source, as the data: 90%
    assert targets[:, :, 4].mean() == pytest.approx(0.3, abs=1e-6)
    assert (targets[:, :, :3].sum(-1) == 0).float().mean() == pytest.approx(0.1, abs=1e-6)  # no hair colour: kept
    assert not torch.equal(targets[0], targets[1])

    uniform = draws(tiny_stargan(domains=ATTRS, label_mode="multi", exclusive_groups=[ATTRS[:3]],
                                 target_labels="uniform"), labels)  # fmt: skip
    assert uniform[:, :, 3:].mean((0, 1)).tolist() == pytest.approx([0.5, 0.5], abs=0.02)  # fair coins: Male, Young
    assert (uniform[:, :, :3].sum(-1) == 1).all()  # exclusive groups one-hot
    assert uniform[:, :, 1].mean() == pytest.approx(1 / 3, abs=0.02)


@pytest.mark.parametrize("counts", [(4, 4, 4), (14, 4, 2)], ids=["per-domain batch", "unequal"])
def test_single_label_targets_follow_the_batchs_domain_frequencies(tiny_stargan, counts):
    labels = F.one_hot(torch.arange(3).repeat_interleave(torch.tensor(counts)), 3).float()
    share = torch.tensor(counts) / sum(counts)
    targets = draws(tiny_stargan(), labels)
    assert (targets.sum(1) == torch.tensor(counts).float()).all()  # every draw: each domain as often as a source
    assert targets.mean((0, 1)).tolist() == pytest.approx(share.tolist(), abs=1e-6)
    # official: a target can be the source's own domain, as often as that domain is in the batch
    same = (targets.argmax(-1) == labels.argmax(-1)).float().mean(0)  # (N,) per image, over the draws
    for domain, expected in enumerate(share.tolist()):
        assert same[labels.argmax(-1) == domain].mean() == pytest.approx(expected, abs=0.04)

    uniform = draws(tiny_stargan(target_labels="uniform"), labels)
    assert uniform.mean((0, 1)).tolist() == pytest.approx([1 / 3] * 3, abs=0.02)


def test_target_draws_are_reproducible_and_leave_the_global_generator_alone(tiny_stargan):
    labels = celeba_like_labels()
    for rule in ("permuted", "uniform"):
        model = tiny_stargan(domains=ATTRS, label_mode="multi", exclusive_groups=[ATTRS[:3]], target_labels=rule)
        state = torch.get_rng_state()
        seeded = [model.random_targets(labels, torch.Generator().manual_seed(s)) for s in (3, 3, 4)]
        assert torch.equal(torch.get_rng_state(), state)  # validation's draws do not move training's stream
        assert torch.equal(seeded[0], seeded[1]) and not torch.equal(seeded[0], seeded[2])
        torch.manual_seed(7)  # training: StepSeed seeds the global generator per step
        first = model.random_targets(labels)
        torch.manual_seed(7)
        assert torch.equal(first, model.random_targets(labels))


def test_unknown_target_rule_names_the_choices(tiny_stargan):
    with pytest.raises(ValueError, match=r"target_labels 'shuffled'.*'permuted', 'uniform'"):
        tiny_stargan(target_labels="shuffled")


def test_training_translates_to_the_batchs_own_labels_permuted(tiny_stargan, rgb_data, rgb_domains):
    model, seen = tiny_stargan(), []
    losses = model._discriminator_losses
    model._discriminator_losses = lambda real, labels, target: (
        seen.append((labels, target)) or losses(real, labels, target)
    )
    Trainer(accelerator="cpu", max_steps=4, logger=False, enable_checkpointing=False, enable_progress_bar=False,
            enable_model_summary=False).fit(model, datamodule=rgb_data(rgb_domains))  # fmt: skip
    assert len(seen) == 2  # n_critic 1: D and G step each batch
    for labels, target in seen:
        assert sorted_rows(target) == sorted_rows(labels) and labels.shape == (6, 3)


def _attribute_data(write_images, root: Path, **kwargs) -> UnpairedDataModule:
    names = [p.name for p in write_images(root / "images", 6)]
    rows = [f"{name} {' '.join('1' if (i + j) % 3 == 0 else '-1' for j in range(5))}" for i, name in enumerate(names)]
    (root / "attrs.txt").write_text("\n".join(["6", " ".join(ATTRS), *rows]) + "\n")
    return UnpairedDataModule(root, attr_file=root / "attrs.txt", domains=ATTRS, val_count=2, load_size=16,
                              crop_size=16, num_workers=0, **kwargs)  # fmt: skip


def test_permuted_targets_refuse_one_image_batches(tiny_stargan, write_images, tmp_path):
    trainer = Trainer(accelerator="cpu", fast_dev_run=1, logger=False)
    model = tiny_stargan(domains=ATTRS, label_mode="multi")
    with pytest.raises(ValueError, match=r"target_labels 'permuted'.*batch_size 1.*target_labels: uniform"):
        trainer.fit(model, datamodule=_attribute_data(write_images, tmp_path, batch_size=1))
    uniform = tiny_stargan(domains=ATTRS, label_mode="multi", target_labels="uniform")
    Trainer(accelerator="cpu", fast_dev_run=1, logger=False).fit(
        uniform, datamodule=_attribute_data(write_images, tmp_path, batch_size=1)
    )


# --- configs/stargan_celeba.yaml: the official data settings ---------------------------------------------------------


@pytest.fixture(scope="module")
def celeba_config() -> dict:
    return yaml.safe_load((REPO / "configs" / "stargan_celeba.yaml").read_text())


def test_celeba_holds_out_the_official_1999_images(celeba_config):
    # yunjey/stargan data_loader.py: `if (i+1) < 2000` sends i = 0 ... 1998 to the test set
    held_out = celeba_config["data"]["source"]["init_args"]["val_count"]
    assert held_out == 1999 == sum(1 for i in range(202599) if (i + 1) < 2000)


def test_celeba_resize_is_antialiased_like_the_official_pil_resize(celeba_config):
    parser = ArgumentParser()
    parser.add_class_arguments(ImageDataModule, "data", sub_configs=True)
    data = parser.instantiate(parser.parse_object({"data": celeba_config["data"]})).data
    checker = np.indices((218, 178)).sum(0) % 2 * 255  # CelebA's 178 x 218 aligned faces: the finest detail there is
    image = np.repeat(checker.astype(np.uint8)[..., None], 3, 2)
    # official: T.CenterCrop(178), T.Resize(128) on a PIL image: bilinear with PIL's antialiasing (a grey here)
    official = np.asarray(Image.fromarray(image).crop((0, 20, 178, 198)).resize((128, 128), Image.BILINEAR), float)
    for transform in (data.train_transform, data.eval_transform):
        ours = transform(image=image)["image"].astype(float)
        assert ours.shape == (128, 128, 3)
        # measured 7.8; OpenCV's plain bilinear: 27.9 (aliased stripes). Training flips half the images: its mirror
        error = min(np.abs(ours - official).mean(), np.abs(ours - official[:, ::-1]).mean())
        assert error < 10
