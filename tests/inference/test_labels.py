"""Predict with StarGAN: the target labels each input is translated to, from --attrs edits of its own labels (read
from --attr-file, else estimated on the whole image, also when tiled).
"""

from functools import partial

import numpy as np
import pytest
import torch
from PIL import Image

from translate.inference.predict import predict_folder
from translate.models import StarGAN

ATTRS = ["Black_Hair", "Blond_Hair", "Male", "Young"]


def recorded_targets(model: StarGAN) -> list[list[float]]:
    """Make ``model`` record the target labels it translates to (one row per image)."""
    targets, forward = [], model.forward

    def recording(x, target, **kwargs):
        targets.extend(target.expand(len(x), -1).tolist())
        return forward(x, target, **kwargs)

    model.forward = recording
    return targets


def test_attrs_change_the_inputs_own_labels_from_the_attr_file_else_the_estimate(write_images, tiny_stargan, tmp_path):
    model = tiny_stargan(domains=ATTRS, label_mode="multi", exclusive_groups=[ATTRS[:2]]).eval()
    model.estimate_labels = lambda x: torch.tensor([[1.0, 0, 1, 1]]).expand(len(x), -1)  # for inputs not in the file
    write_images(tmp_path / "in", 3)
    (tmp_path / "attrs.txt").write_text(
        "2\nYoung Male Blond_Hair Black_Hair\nimg_000.png -1 1 -1 1\nimg_001.jpg 1 -1 -1 1\n"
    )  # img_001 by its stem (a .png made from the .jpg); img_002 is not in the file
    targets = recorded_targets(model)
    predict_folder(model, tmp_path / "in", tmp_path / "out", attrs={"Blond_Hair": 1.0}, attr_file=tmp_path /
                   "attrs.txt", progress=False)  # fmt: skip
    assert targets == [[0, 1, 1, 0], [0, 1, 0, 1], [0, 1, 1, 1]]  # blond; sex and age from the file, else estimated


def test_attrs_that_would_empty_a_group_or_fit_no_multi_label_model_are_refused(write_images, tiny_stargan, tmp_path):
    write_images(tmp_path / "in", 1)
    multi = tiny_stargan(domains=ATTRS, label_mode="multi", exclusive_groups=[ATTRS[:2]])
    run = partial(predict_folder, input_dir=tmp_path / "in", output_dir=tmp_path / "out", progress=False)
    with pytest.raises(ValueError, match=r"Black_Hair=0 would leave none of .*Black_Hair', 'Blond_Hair'.* to 1"):
        run(multi, attrs={"Black_Hair": 0.0, "Male": 1.0})
    with pytest.raises(ValueError, match="exactly one of the exclusive group"):
        run(multi, attrs={"Black_Hair": 1.0, "Blond_Hair": 1.0})
    with pytest.raises(ValueError, match="would leave none"):
        multi.changed(torch.tensor([[1.0, 0, 0, 0]]), "Black_Hair", 0)
    run(multi, attrs={"Black_Hair": 0.0, "Blond_Hair": 1.0, "Male": 0.0})  # the group keeps one on: fine
    with pytest.raises(ValueError, match="single-label .*use --target-domain"):
        run(tiny_stargan(), attrs={"red": 1.0})
    with pytest.raises(ValueError, match="--attr-file .* single-label"):
        run(tiny_stargan(), targets=["red"], attr_file=tmp_path / "attrs.txt")


def test_tiles_of_one_image_share_the_labels_estimated_on_the_whole_image(tiny_stargan, tmp_path):
    model = tiny_stargan(label_mode="multi").eval()  # channels red, green, blue as attributes
    estimated = []

    def channel_is_bright(x):  # an "attribute" per colour channel: a red half and a green half differ
        estimated.append(tuple(x.shape[-2:]))
        return (x.mean((2, 3)) > -0.5).float()

    model.estimate_labels = channel_is_bright
    image = np.zeros((32, 64, 3), dtype=np.uint8)
    image[:, :32, 0] = image[:, 32:, 1] = 255  # left half red, right half green
    (tmp_path / "in").mkdir()
    Image.fromarray(image).save(tmp_path / "in" / "halves.png")
    targets = recorded_targets(model)
    predict_folder(model, tmp_path / "in", tmp_path / "out", targets=["blue"], tile=32, tile_overlap=0,
                   progress=False)  # fmt: skip
    assert estimated == [(32, 64)] and targets == [[1.0, 1.0, 1.0]] * 2  # two tiles, both red + green + blue
