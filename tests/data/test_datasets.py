"""Datasets of unpaired domains: the sampler (reproducible, sharded across ranks, resumable mid-epoch), augmentations
seeded per item, and folders with junk, truncated, odd-mode or small images: skipped with a warning naming each file,
or one clear error (issue 7: every test makes its bad input).
"""

import warnings
from pathlib import Path

import albumentations as A
import numpy as np
import pytest
import torch
from PIL import Image

from translate.data import UnpairedDataModule
from translate.data.datasets import DomainFolder, UnpairedSampler
from translate.data.images import UndecodableImageError


def test_order_does_not_depend_on_workers(tiny_data, tiny_domains):
    def batches(workers):
        dm = tiny_data(tiny_domains, num_workers=workers, train_transform=A.Resize(16, 16), seed=3)
        return list(dm.train_dataloader())

    for serial, parallel in zip(batches(0), batches(2), strict=True):
        assert all(torch.equal(x, y) for x, y in zip(serial, parallel, strict=True))


def test_sampler_is_reproducible_and_covers_the_first_domain():
    sampler = UnpairedSampler([5, 9, 3], seed=7)
    epoch0 = list(sampler)
    assert len(epoch0) == len(sampler) == 9 and all(len(item.indices) == 3 for item in epoch0)
    assert epoch0 == list(UnpairedSampler([5, 9, 3], seed=7))
    assert sorted({item.indices[0] for item in epoch0}) == list(range(5))
    assert all(0 <= b < 9 and 0 <= c < 3 for _, b, c in (item.indices for item in epoch0))
    assert len({item.seed for item in epoch0}) == 9  # every item gets its own augmentation seed
    sampler.set_epoch(1)
    epoch1 = list(sampler)
    assert epoch1 != epoch0 and sorted({item.indices[0] for item in epoch1}) == list(range(5))


def test_sampler_shards_itself_across_ranks():
    whole = list(UnpairedSampler([4, 6], seed=0))
    shards = [list(UnpairedSampler([4, 6], seed=0, num_replicas=2, rank=rank)) for rank in (0, 1)]
    assert sorted(shards[0] + shards[1]) == sorted(whole)  # the two ranks split one epoch between them
    odd = [list(UnpairedSampler([4, 7], seed=0, num_replicas=2, rank=rank)) for rank in (0, 1)]
    assert len(odd[0]) == len(odd[1]) == 4  # padded by wrapping, as torch's DistributedSampler
    with pytest.raises(ValueError, match="rank"):
        UnpairedSampler([4], num_replicas=2, rank=2)


def test_sampler_skip_resumes_mid_epoch_once():
    sampler = UnpairedSampler([5, 6], seed=3)
    sampler.set_epoch(2)
    full = list(sampler)
    sampler.skip(epoch=2, items=4)
    sampler.set_epoch(1)
    assert len(list(sampler)) == 6  # an earlier epoch is not shortened (worker loaders may start it early)
    sampler.set_epoch(2)
    assert list(sampler) == full[4:]
    sampler.set_epoch(3)
    assert len(list(sampler)) == 6  # nor a later one, after which the skip is dropped
    sampler.set_epoch(2)
    assert list(sampler) == full


def test_augmentations_depend_on_the_item_not_the_worker(tiny_domains):
    dm = UnpairedDataModule(tiny_domains, load_size=24, crop_size=16, num_workers=0, batch_size=3)
    dm.setup("fit")
    item = next(iter(UnpairedSampler([6, 4], seed=0)))
    first = dm.train_set[item]
    dm.train_set[next(iter(UnpairedSampler([6, 4], seed=1)))]  # other draws in between change nothing
    assert all(torch.equal(a, b) for a, b in zip(first, dm.train_set[item], strict=True))


# --- bad images -------------------------------------------------------------------------------------------------------


def _junk(folder: Path) -> list[Path]:
    """Files with image names that are not images: random bytes, an empty file, text. Returns them."""
    folder.mkdir(parents=True, exist_ok=True)
    junk = [folder / "random.png", folder / "empty.jpg", folder / "text.webp"]
    junk[0].write_bytes(np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8).tobytes())
    junk[1].write_bytes(b"")
    junk[2].write_text("not an image at all")
    return junk


def _truncate(path: Path) -> None:
    """Keep the PNG header (so the file opens) but cut the pixel data: it fails only when decoded."""
    path.write_bytes(path.read_bytes()[:50])


def test_undecodable_files_are_named_and_counted_and_other_files_ignored(tiny_data, tiny_domains):
    folder = tiny_domains / "trainA"  # 6 good images
    junk = _junk(folder)
    (folder / "README.txt").write_text("a note, not an image")
    (folder / "empty_sub").mkdir()
    with pytest.warns(UserWarning) as caught:
        dm = tiny_data(tiny_domains, load_size=16)
        dm.setup("fit")
    messages = [str(w.message) for w in caught]
    for path in junk:
        assert any(m.startswith(f"skipping {path}: cannot decode it") for m in messages), path
    assert f"skipped 3 of 9 images under {folder}" in " ".join(messages)
    assert not any("README" in m for m in messages)
    assert len(dm.train_set.folders[0]) == 6
    real_a, real_b = next(iter(dm.train_dataloader()))
    assert real_a.shape == (2, 3, 16, 16) and torch.isfinite(real_a).all()


def test_a_domain_with_no_decodable_image_is_an_error_naming_the_folder(tiny_data, tiny_domains):
    for path in (tiny_domains / "trainB").iterdir():
        path.unlink()
    _junk(tiny_domains / "trainB")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=rf"none of the 3 image files under {tiny_domains / 'trainB'} can be"):
            tiny_data(tiny_domains, load_size=16).setup("fit")


def test_bad_images_fail_names_the_file_at_setup(tiny_data, tiny_domains):
    bad = tiny_domains / "trainB" / "random.png"
    bad.write_bytes(b"\x89PNG but nothing after it")
    with pytest.raises(UndecodableImageError, match=rf"^cannot decode {bad} .*data.bad_images: skip$"):
        tiny_data(tiny_domains, load_size=16, bad_images="fail").setup("fit")


def test_bad_images_fail_in_a_loader_worker_is_one_clear_line(tiny_data, tiny_domains):
    bad = tiny_domains / "trainA" / "img_003.png"
    _truncate(bad)  # opens fine, so only a worker decoding it finds out
    dm = tiny_data(tiny_domains, load_size=16, batch_size=6, num_workers=2, bad_images="fail")
    dm.setup("fit")
    with pytest.raises(UndecodableImageError) as caught:
        for _ in dm.train_dataloader():
            pass
    message = str(caught.value)
    assert message.startswith(f"cannot decode {bad} (") and message.endswith("data.bad_images: skip")
    assert "\n" not in message and "Traceback" not in message and "worker" not in message


def test_truncated_file_is_skipped_while_loading_with_workers(tiny_data, tiny_domains):
    _truncate(tiny_domains / "trainA" / "img_003.png")
    dm = tiny_data(tiny_domains, load_size=16, batch_size=6, num_workers=2)
    dm.setup("fit")
    batches = list(dm.train_dataloader())  # the worker warns; the next image takes the bad one's place
    assert len(batches) == 1 and batches[0][0].shape == (6, 3, 16, 16) and torch.isfinite(batches[0][0]).all()


def test_undecodable_images_are_skipped_with_a_warning_or_fail_on_request(tiny_domains):
    bad = tiny_domains / "trainA" / "img_002.png"
    bad.write_bytes(bad.read_bytes()[:50])  # truncated after the header
    (tiny_domains / "trainA" / "notes.txt").write_text("not an image, ignored by extension")
    dm = UnpairedDataModule(tiny_domains, load_size=16, crop_size=16, batch_size=6, num_workers=0)
    dm.setup("fit")
    with pytest.warns(UserWarning, match=r"skipping .*img_002.png: cannot decode it"):
        real_a, _ = next(iter(dm.train_dataloader()))
    assert real_a.shape == (6, 3, 16, 16) and torch.isfinite(real_a).all()  # the next image took its place
    strict = UnpairedDataModule(tiny_domains, load_size=16, crop_size=16, batch_size=6, num_workers=0,
                                bad_images="fail")  # fmt: skip
    strict.setup("fit")
    with pytest.raises(ValueError, match=r"cannot decode .*img_002.png .*bad_images: skip"):
        next(iter(strict.train_dataloader()))


def _gradient(mode: str) -> Image.Image:
    gray = Image.fromarray(np.linspace(0, 255, 16 * 16).reshape(16, 16).astype(np.uint8))
    if mode == "I;16":
        return Image.fromarray(np.asarray(gray).astype(np.uint16) * 257)
    return gray.convert(mode)


@pytest.mark.parametrize("channels", [1, 3])
def test_a_folder_of_mixed_modes_loads_as_the_configured_channels(tmp_path, channels):
    folder = tmp_path / "mixed"
    folder.mkdir()
    for mode in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
        _gradient(mode).save(folder / f"{mode.replace(';', '_')}.png")
    _gradient("CMYK").save(folder / "cmyk.jpg")
    _gradient("F").save(folder / "float.tif")
    domain = DomainFolder(folder, channels=channels)
    assert len(domain) == 9
    for index in range(len(domain)):
        image = domain[index]
        assert image.shape == (channels, 16, 16) and image.dtype == torch.float32
        assert image.min() >= -1 and image.max() <= 1
        name = domain.paths[index].name
        if name != "1.png":  # the 1-bit image is dithered; the others keep the gradient's full range
            assert image.min() < -0.8 and image.max() > 0.8, name


def test_images_smaller_than_the_crop_are_resized_up_with_a_warning(tiny_data, tiny_domains):
    thumb = tiny_domains / "trainA" / "thumb.png"
    Image.new("RGB", (10, 10), "red").save(thumb)
    crop_only = A.Compose([A.RandomCrop(16, 16)])  # would fail on a 10x10 image without the resize
    with pytest.warns(UserWarning, match=rf"1 of 7 images under {tiny_domains / 'trainA'} are smaller than crop_size "
                                         r"16 and are resized up \(blurry\): thumb.png \(10x10\)"):  # fmt: skip
        dm = tiny_data(tiny_domains, load_size=16, train_transform=crop_only, batch_size=7)
        dm.setup("fit")
    domain = dm.train_set.folders[0]
    assert domain[domain.paths.index(thumb)].shape == (3, 16, 16)
    real_a, _ = next(iter(dm.train_dataloader()))
    assert real_a.shape == (7, 3, 16, 16)
