"""TraVeLGAN and the Siamese-discriminator TraVeLGAN: the losses' defining properties, training, predict."""

from pathlib import Path

import pytest
from lightning.pytorch import LightningModule

from translate.cli import main

REPO = Path(__file__).resolve().parent.parent
DEBUG = str(REPO / "configs" / "debug_travelgan.yaml")


# --- losses ---------------------------------------------------------------------------------------------------------


# --- networks -------------------------------------------------------------------------------------------------------


# --- models ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("config", ["travelgan_quickstart", "travelgan_siamese_quickstart"])
def test_fit_checkpoint_predict_round_trip(write_images, config, tiny_domains, tmp_path):
    main(["fit", "--config", str(REPO / "configs" / f"{config}.yaml"), "--config", DEBUG,
          "--trainer.fast_dev_run=false", "--trainer.max_steps=4", f"--data.root={tiny_domains}",
          f"--trainer.default_root_dir={tmp_path / 'run'}", "--trainer.callbacks+=ModelCheckpoint",
          "--trainer.callbacks.save_last=true"])  # fmt: skip
    ckpt = next((tmp_path / "run").rglob("last.ckpt"))
    model = LightningModule.load_from_checkpoint(ckpt)
    assert type(model).__name__ == ("TraVeLGAN" if config == "travelgan_quickstart" else "SiameseDiscTraVeLGAN")
    inputs = tmp_path / "in"
    paths = write_images(inputs, 2, size=(20, 13))  # not multiples of size_multiple: predict pads and crops back
    main(["predict", "--ckpt", str(ckpt), "--input", str(inputs), "--output", str(tmp_path / "out"),
          "--num-workers", "0"])  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [p.name for p in paths]


@pytest.mark.parametrize("config", ["travelgan", "travelgan_quickstart", "travelgan_siamese",
                                    "travelgan_siamese_quickstart"])  # fmt: skip
def test_configs_carry_the_resume_and_interrupt_callbacks(config):  # resume itself: tests/test_resume.py
    import yaml

    callbacks = yaml.safe_load((REPO / "configs" / f"{config}.yaml").read_text())["trainer"]["callbacks"]
    names = {callback["class_path"].rsplit(".", 1)[-1] for callback in callbacks}
    assert {"StepSeed", "SaveOnInterrupt", "StopOnNonFinite", "ImagesPerSecond", "ModelCheckpoint"} <= names
    assert any(callback["init_args"].get("save_last") for callback in callbacks if "init_args" in callback)
