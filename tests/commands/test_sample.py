"""`translate sample`: N images and a grid from a DCGAN that `translate fit` trained, the same files for a seed,
other files for another; wrong checkpoints and options end in one line."""

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from translate.cli import main

REPO = Path(__file__).resolve().parents[2]
DCGAN = [
    "--config",
    str(REPO / "configs" / "dcgan_quickstart.yaml"),
    "--config",
    str(REPO / "configs" / "debug_noise.yaml"),
]


def fit_noise(config: list[str], root: Path, run: Path, *extra: str) -> Path:
    """Two optimizer steps of a tiny noise model from ``config`` on ``root``; returns its last.ckpt."""
    main(["fit", *config, f"--data.source.root={root}", f"--trainer.default_root_dir={run}", "--trainer.max_steps=2",
          "--trainer.fast_dev_run=false", "--trainer.callbacks+=lightning.pytorch.callbacks.ModelCheckpoint",
          "--trainer.callbacks.save_last=true", *extra])  # fmt: skip
    return next(run.rglob("last.ckpt"))


@pytest.fixture(scope="module")
def dcgan_ckpt(tmp_path_factory, write_images) -> Path:
    root = tmp_path_factory.mktemp("images")
    write_images(root, 4, size=(32, 32))
    return fit_noise(DCGAN, root, tmp_path_factory.mktemp("dcgan"))


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.png"))}


def test_sample_writes_n_images_and_a_grid_deterministically(dcgan_ckpt, tmp_path, capsys):
    run = dcgan_ckpt.parent.parent  # a run folder works as predict's does: its newest last.ckpt
    for name, seed in (("first", "3"), ("again", "3"), ("other", "4")):
        main(["sample", "--ckpt", str(run), "--num", "70", "--output", str(tmp_path / name), "--seed", seed, "--grid"])
    assert "wrote 70 images, grid.png" in capsys.readouterr().out
    first = digests(tmp_path / "first")
    assert len(first) == 71 and "sample_00069.png" in first and "grid.png" in first  # 70 cross a chunk of 64
    assert first == digests(tmp_path / "again")
    assert not set(first.values()) & set(digests(tmp_path / "other").values())
    with Image.open(tmp_path / "first" / "sample_00000.png") as image:
        assert image.size == (32, 32) and image.mode == "RGB"
    with Image.open(tmp_path / "first" / "grid.png") as grid:
        assert grid.size == (2 + 8 * 34, 2 + 8 * 34)  # 8 rows of 8 samples, 2 px apart


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--class", "apple"], "unconditional: it takes no class"),
        (["--input", "somewhere"], "no encoder"),
        (["--num", "-1"], "--num must be >= 0"),
    ],
)
def test_sample_mistakes_are_one_line(args, message, dcgan_ckpt, tmp_path):
    with pytest.raises(SystemExit, match=message):
        main(["sample", "--ckpt", str(dcgan_ckpt), "--num", "1", "--output", str(tmp_path / "out"), *args])


def test_sample_refuses_missing_and_translation_checkpoints(checkpoints, tmp_path):
    with pytest.raises(SystemExit, match="does not exist"):
        main(["sample", "--ckpt", str(tmp_path / "none.ckpt"), "--output", str(tmp_path / "out")])
    with pytest.raises(SystemExit, match="holds a CycleGAN, which translates images"):
        main(["sample", "--ckpt", str(checkpoints["cyclegan"]), "--output", str(tmp_path / "out")])
