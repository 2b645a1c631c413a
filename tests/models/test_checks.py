"""The checks every model runs: a two-domain model refuses data of three; a checkpoint of another architecture or
model is refused in one line that names both.
"""

from functools import partial
from pathlib import Path

import pytest
import torch
from lightning.pytorch import Trainer

from translate.networks import ResnetGenerator


def test_a_folder_per_domain_root_with_three_domains_is_a_clear_error(
    tiny_cyclegan, tiny_travelgan, tiny_data, fit, write_images, tmp_path
):
    for colour, domain in enumerate(["red", "green", "blue"]):  # found as three domains: CycleGAN takes two
        write_images(tmp_path / "rgb" / "train" / domain, 2, colour=colour)
    with pytest.raises(ValueError, match=r"CycleGAN translates between two domains but the data has 3: \['blue'"):
        fit(tiny_cyclegan(), tiny_data(tmp_path / "rgb"), tmp_path)
    with pytest.raises(ValueError, match="TraVeLGAN translates between two domains but the data has 3"):
        fit(tiny_travelgan(), tiny_data(tmp_path / "rgb"), tmp_path)
    fit(tiny_cyclegan(), tiny_data(tmp_path / "rgb", domains=["blue", "red"]), tmp_path, max_steps=2)  # two: fine


def _resume(model, ckpt: Path, datamodule, tmp_path: Path) -> str:
    trainer = Trainer(default_root_dir=tmp_path, max_steps=4, accelerator="cpu", logger=False,
                      enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)  # fmt: skip
    with pytest.raises(ValueError) as caught:
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt, weights_only=True)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 1500, "one line, not a state_dict dump"
    return message


WIDER_GENERATOR = partial(ResnetGenerator, base_channels=8, num_blocks=1)  # tiny_cyclegan's, 8 channels wide


def test_resuming_from_another_architecture_names_both(tiny_data, tiny_cyclegan, checkpoints, tmp_path):
    data = tiny_data(checkpoints["data"], load_size=32, crop_size=32)
    message = _resume(tiny_cyclegan(generator=WIDER_GENERATOR), checkpoints["cyclegan"], data, tmp_path)
    assert message.startswith("the checkpoint holds a CycleGAN that does not fit this CycleGAN")
    assert "generator.init_args.base_channels: checkpoint 4, config 8" in message
    assert "gen_ab.model.1.weight is (4, 3, 7, 7) there, (8, 3, 7, 7) here" in message


def test_resuming_from_another_model_names_both(tiny_data, tiny_cyclegan, checkpoints, tmp_path):
    data = tiny_data(checkpoints["data"], load_size=32, crop_size=32)
    message = _resume(tiny_cyclegan(), checkpoints["stargan"], data, tmp_path)
    assert message.startswith("the checkpoint holds a StarGAN that does not fit this CycleGAN")
    assert "generator.class_path: checkpoint StarGANGenerator, config ResnetGenerator" in message


def test_loading_another_architecture_in_python_names_both(tiny_cyclegan, checkpoints):
    with pytest.raises(ValueError, match="base_channels: checkpoint 4, config 8"):
        tiny_cyclegan(generator=WIDER_GENERATOR).on_load_checkpoint(
            torch.load(checkpoints["cyclegan"], weights_only=True)
        )
    tiny_cyclegan().on_load_checkpoint(torch.load(checkpoints["cyclegan"], weights_only=True))  # fits: no error
