"""ImageFolderDataModule: every image under a folder, or a class per sub-folder with its labels; bad files skipped;
one-line errors for class options that do not fit."""

import pytest
import torch

from translate.data.image_folder import ImageFolderDataModule


def module(root, **kwargs) -> ImageFolderDataModule:
    return ImageFolderDataModule(root, load_size=16, crop_size=16, batch_size=3, num_workers=0, **kwargs)


def test_one_folder_holds_every_image_below_it(tmp_path, write_images):
    write_images(tmp_path / "a", 2)
    write_images(tmp_path / "a" / "deeper", 3, colour=1)
    (tmp_path / "a" / "broken.png").write_bytes(b"not an image")
    data = module(tmp_path / "a")
    with pytest.warns(UserWarning, match=r"broken\.png|skipped 1 of 6 images") as caught:
        batches = list(data.train_dataloader())
    assert sum("skipped 1 of 6 images" in str(w.message) for w in caught) == 1  # the file, then the count
    assert [len(b) for b in batches] == [1, 1] and [len(b[0]) for b in batches] == [3, 2]  # (images,) per batch
    images = torch.cat([b[0] for b in batches])
    assert images.shape == (5, 3, 16, 16) and images.min() >= -1 and images.max() <= 1
    spec = data.spec
    assert (spec.channels, spec.domains, spec.image_size, spec.labelled) == (3, (), 16, False)


def test_one_folder_per_class_gives_labels_in_class_order(tmp_path, write_images):
    for colour, name in enumerate(["red", "green", "blue"]):
        write_images(tmp_path / name, 2, colour=colour)
    data = module(tmp_path, conditional=True, class_dirs=["red", "green"], class_names=["apple", "leaf"])
    images, labels = data.sample_batch(4)
    assert labels.tolist() == [0, 0, 1, 1] and data.spec.domains == ("apple", "leaf") and data.spec.labelled
    assert images[:2, 0].mean() > images[:2, 1].mean() and images[2:, 1].mean() > images[2:, 0].mean()
    found = module(tmp_path, conditional=True)
    assert found.domains == ["blue", "green", "red"]  # every sub-folder, sorted


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"class_dirs": ["red", "green"]}, "need data.conditional: true"),
        ({"conditional": True, "class_dirs": ["red"]}, "two or more distinct class folders"),
        ({"conditional": True, "class_dirs": ["red", "green"], "class_names": ["x"]}, "one per class"),
    ],
)
def test_class_options_that_do_not_fit_are_one_line(kwargs, message, tmp_path, write_images):
    write_images(tmp_path / "red", 1)
    with pytest.raises(ValueError, match=message):
        assert module(tmp_path, **kwargs).spec is None
