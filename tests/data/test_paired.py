"""Paired data (pairing: aligned / matched): pairs stay aligned through augmentation, batches pair the right files,
errors name the file and the fix, and a resumed epoch gives the pairs that were left."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from translate.data import UnpairedDataModule

SIZE = 16


def _pattern(index: int) -> np.ndarray:
    """A (16, 16, 3) image whose R is the column, G the row and B the file index: every pixel and file distinct."""
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    return np.stack([cols * 15, rows * 15, np.full_like(rows, 10 + index * 20)], axis=-1).astype(np.uint8)


def _target(index: int) -> np.ndarray:
    """The pair of ``_pattern(index)``: its channels reversed, which resizes, crops and flips commute with."""
    return _pattern(index)[..., ::-1].copy()


def _write_aligned(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    for i in range(count):
        Image.fromarray(np.concatenate([_pattern(i), _target(i)], axis=1)).save(folder / f"{i:03d}.png")


def _write_matched(folder_a: Path, folder_b: Path, count: int) -> None:
    folder_a.mkdir(parents=True)
    folder_b.mkdir(parents=True)
    for i in range(count):
        Image.fromarray(_pattern(i)).save(folder_a / f"{i:03d}.png")
        Image.fromarray(_target(i)).save(folder_b / f"{i:03d}.png")


@pytest.fixture
def aligned_root(tmp_path: Path) -> Path:
    root = tmp_path / "facades"
    _write_aligned(root / "train", 6)
    _write_aligned(root / "val", 2)
    _write_aligned(root / "test", 3)
    return root


@pytest.fixture
def matched_root(tmp_path: Path) -> Path:
    root = tmp_path / "pairs"
    _write_matched(root / "trainA", root / "trainB", 6)
    _write_matched(root / "testA", root / "testB", 2)
    return root


@pytest.fixture(params=["aligned", "matched"])
def paired(request, aligned_root, matched_root):
    """``paired(**kwargs)``: a data module of 16 px crops from 20 px, batch 2, on either layout."""
    root = aligned_root if request.param == "aligned" else matched_root

    def build(**kwargs) -> UnpairedDataModule:
        options = {"load_size": 20, "crop_size": SIZE, "batch_size": 2, "num_workers": 0, **kwargs}
        return UnpairedDataModule(root, pairing=request.param, **options)

    return build


def _file_index(images: torch.Tensor, channel: int) -> list[int]:
    """The file index a batch's images carry in ``channel`` (constant over the image)."""
    values = ((images[:, channel] + 1) * 127.5).round().flatten(1)
    assert (values.min(1).values == values.max(1).values).all()
    return [round((v.item() - 10) / 20) for v in values[:, 0]]


def test_pairs_stay_aligned_through_augmentation(paired):
    dm = paired()
    flipped = set()
    for real_a, real_b in dm.train_dataloader():
        assert real_a.shape == real_b.shape == (2, 3, SIZE, SIZE) and real_a.abs().max() <= 1
        # the pair's channels reversed, pixel for pixel, after the random resize, crop and flip
        torch.testing.assert_close(real_b, real_a.flip(1), rtol=0, atol=0)
        flipped.update((real_a[:, 0, :, 1] < real_a[:, 0, :, 0]).all(1).tolist())  # R falls to the right
    assert flipped == {True, False}, "the test needs both flipped and unflipped pairs"


def test_epoch_visits_every_pair_once_in_a_shuffled_order(paired):
    dm = paired()
    indices = [i for real_a, real_b in dm.train_dataloader() for i in _file_index(real_a, 2)]
    assert sorted(indices) == list(range(6)) and indices != list(range(6))
    assert dm.spec.paired and dm.spec.domains == ("A", "B") and not dm.spec.labelled


def test_batches_pair_the_right_files_and_direction_swaps_them(paired):
    real_a, real_b = next(iter(paired().train_dataloader()))
    assert _file_index(real_a, 2) == _file_index(real_b, 0)  # B carries the index in R
    dm = paired(paired_direction="b2a")
    real_b, real_a = next(iter(dm.train_dataloader()))  # same seed: the same pairs, B first
    assert _file_index(real_b, 0) == _file_index(real_a, 2)
    torch.testing.assert_close(real_b, real_a.flip(1), rtol=0, atol=0)
    assert dm.spec.domains == ("B", "A")


def test_sample_batch_and_validation_give_pairs(paired):
    dm = paired()
    real_a, real_b = dm.sample_batch(2)
    assert _file_index(real_a, 2) == _file_index(real_b, 0) == [0, 1]
    torch.testing.assert_close(real_b, real_a.flip(1), rtol=0, atol=0)
    real_a, real_b = next(iter(dm.val_dataloader()))
    torch.testing.assert_close(real_b, real_a.flip(1), rtol=0, atol=0)


def test_resume_mid_epoch_gives_the_remaining_pairs(paired):
    full = [batch for batch in paired().train_dataloader()]
    dm = paired()
    dm.load_state_dict({"epoch": 0, "batches_done": 1})
    resumed = list(dm.train_dataloader())
    assert len(resumed) == len(full) - 1
    for (a, b), (ra, rb) in zip(full[1:], resumed, strict=True):
        assert torch.equal(a, ra) and torch.equal(b, rb)  # same pairs, same crops and flips: bit-exact


def test_aligned_splits(aligned_root):
    dm = UnpairedDataModule(aligned_root, pairing="aligned", load_size=16, crop_size=16, num_workers=0)
    dm.setup("fit")
    dm.setup("test")
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (6, 2, 3)
    (aligned_root / "val").rename(aligned_root / "old_val")
    dm = UnpairedDataModule(aligned_root, pairing="aligned", load_size=16, crop_size=16, num_workers=0)
    dm.setup("validate")
    assert len(dm.val_set) == 3  # val falls back to test


def test_matched_pairs_by_name_in_the_folder_per_domain_layout(tmp_path, write_images):
    root = tmp_path / "pairs"
    _write_matched(root / "train" / "photo", root / "train" / "sketch", 3)
    dm = UnpairedDataModule(root, pairing="matched", load_size=16, crop_size=16, num_workers=0, batch_size=3)
    real_a, real_b = dm.sample_batch(3)  # no test folders: training pairs, un-augmented
    assert _file_index(real_a, 2) == _file_index(real_b, 0) == [0, 1, 2]
    assert dm.spec.domains == ("photo", "sketch")


def test_errors_name_the_file_and_the_fix(aligned_root, matched_root, tmp_path):
    def build(root, pairing, **kwargs):
        return UnpairedDataModule(root, pairing=pairing, load_size=16, crop_size=16, num_workers=0, **kwargs)

    Image.fromarray(np.zeros((16, 31, 3), np.uint8)).save(aligned_root / "train" / "odd.png")
    with pytest.raises(ValueError, match=r"odd\.png is 31x16: an aligned A\|B image needs an even width"):
        build(aligned_root, "aligned").setup("fit")
    (matched_root / "trainA" / "000.png").rename(matched_root / "trainA" / "extra.png")
    with pytest.raises(ValueError, match=r"1 under .*trainA have no namesake .*first: extra\).*first: 000\)"):
        build(matched_root, "matched").setup("fit")
    (matched_root / "trainA" / "extra.png").rename(matched_root / "trainA" / "000.png")
    Image.fromarray(np.zeros((18, 16, 3), np.uint8)).save(matched_root / "trainB" / "001.png")
    with pytest.raises(ValueError, match=r"001\.png is 16x16 but its pair .*001\.png is 16x18; resize one"):
        build(matched_root, "matched").setup("fit")
    with pytest.raises(FileNotFoundError, match=r"no training folder .*empty/train: AlignedPairs reads"):
        (tmp_path / "empty").mkdir()
        build(tmp_path / "empty", "aligned").setup("fit")
    with pytest.raises(FileNotFoundError, match=r"no train folder for domain 'C'"):
        build(matched_root, "matched", domains=["A", "C"]).setup("fit")
    with pytest.raises(ValueError, match="pairs two domains"):
        build(matched_root, "matched", domains=["A", "B", "C"])
    with pytest.raises(ValueError, match="drop data.train_dirs"):
        build(None, "aligned", train_dirs=[tmp_path, tmp_path])


def test_an_empty_folder_says_which_images_belong_there(tmp_path):
    from translate.data.paired import AlignedPairs, MatchedPairs

    for folder in ("aligned/train", "matched/trainA", "matched/trainB"):
        (tmp_path / folder).mkdir(parents=True)
    with pytest.raises(ValueError, match=r"put the A\|B images there or point data\.source\.root elsewhere"):
        AlignedPairs(tmp_path / "aligned").train_set(None, 16)
    with pytest.raises(ValueError, match=r"put the pairs' images there or point data\.source\.root elsewhere"):
        MatchedPairs(tmp_path / "matched").train_set(None, 16)
