"""Checkpoints written by an earlier main still load, predict the same pixels and resume.

tests/assets/main_478439d/ was made by main at 478439d (before the package layout moved to data/, training/,
inference/ and commands/): a tiny CycleGAN (EMA kept, LinearDecayLR) and a tiny StarGAN fitted for 4 optimizer
steps on 32 px images, and what `translate predict` wrote with them from input/. The class paths they record
(translate.CycleGAN, translate.networks.ResnetGenerator, translate.schedules.LinearDecayLR, ...) must stay
importable.

tests/assets/main_bfa6487/ was made by main at bfa6487, before TraVeLGAN's discriminator and siamese network took the
official batch norm (``norm: batch_shift``): a tiny TraVeLGAN (configs/travelgan_quickstart.yaml with
configs/debug_travelgan.yaml, S 4 wide, 8-d, 3 stages) fitted for 4 optimizer steps on the 32 px images of
``test_training_resumes_from_an_old_checkpoint``, and what `translate predict` wrote with it from
main_478439d/input/ in each direction. It records ``norm: batch``, which still builds PyTorch's batch norm.
"""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from translate.cli import main

REPO = Path(__file__).resolve().parent.parent
OLD = Path(__file__).parent / "assets" / "main_478439d"
OLD_TRAVELGAN = Path(__file__).parent / "assets" / "main_bfa6487"


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


@pytest.mark.parametrize(
    ("ckpt", "options", "expected"),
    [
        (OLD / "cyclegan.ckpt", [], OLD / "expected" / "cyclegan_a2b"),
        (OLD / "cyclegan.ckpt", ["--direction", "b2a"], OLD / "expected" / "cyclegan_b2a"),
        (OLD / "stargan.ckpt", ["--target-domain", "all"], OLD / "expected" / "stargan"),
        (OLD_TRAVELGAN / "travelgan.ckpt", [], OLD_TRAVELGAN / "expected" / "travelgan_a2b"),
        (OLD_TRAVELGAN / "travelgan.ckpt", ["--direction", "b2a"], OLD_TRAVELGAN / "expected" / "travelgan_b2a"),
    ],
    ids=["cyclegan-a2b", "cyclegan-b2a", "stargan", "travelgan-batch-norm-a2b", "travelgan-batch-norm-b2a"],
)
def test_an_old_checkpoint_predicts_the_same_pixels(ckpt, options, expected, tmp_path):
    out = tmp_path / "out"
    main(["predict", "--ckpt", str(ckpt), "--input", str(OLD / "input"), "--output", str(out), *options])
    wanted = sorted(p.relative_to(expected) for p in expected.rglob("*.png"))
    assert sorted(p.relative_to(out) for p in out.rglob("*.png")) == wanted
    for name in wanted:
        assert np.array_equal(_pixels(out / name), _pixels(expected / name)), name


def test_an_old_checkpoint_loads_from_python_with_its_recorded_class_paths():
    import translate

    to_b = translate.load(OLD / "cyclegan.ckpt", device="cpu")
    apple = Image.open(OLD / "input" / "apple.png")
    assert np.array_equal(np.asarray(to_b(apple)), _pixels(OLD / "expected" / "cyclegan_a2b" / "apple.png"))
    hparams = torch.load(OLD / "cyclegan.ckpt", weights_only=True)["hyper_parameters"]
    assert hparams["scheduler"]["class_path"] == "translate.schedules.LinearDecayLR"  # still importable


def test_training_resumes_from_an_old_checkpoint(write_images, tmp_path):
    root = tmp_path / "tiny"
    for domain, colour, count in (("A", 0, 6), ("B", 1, 4)):
        write_images(root / f"train{domain}", count, size=(32, 32), colour=colour)
    configs = [REPO / "configs" / "quickstart_official.yaml", REPO / "configs" / "debug.yaml"]
    main(["fit", *(f"--config={c}" for c in configs), f"--data.source.root={root}", "--trainer.fast_dev_run=false",
          "--trainer.max_steps=8", f"--trainer.default_root_dir={tmp_path / 'run'}", "--model.init_args.ema_decay=0.9",
          f"--ckpt_path={OLD / 'cyclegan.ckpt'}"])  # fmt: skip
    (ckpt,) = (tmp_path / "run").rglob("*.ckpt")
    saved = torch.load(ckpt, weights_only=True)
    assert saved["global_step"] == 8  # went on from the old checkpoint's step 4
    old = torch.load(OLD / "cyclegan.ckpt", weights_only=True)["state_dict"]
    assert not torch.equal(saved["state_dict"]["gen_ab.model.18.weight"], old["gen_ab.model.18.weight"])


def test_an_old_batch_norm_travelgan_resumed_with_the_new_configs_stops_with_one_line(write_images, tmp_path):
    # Its D and S have PyTorch's batch norm (a scale, no conv bias); the configs now build TF's (batch_shift).
    root = tmp_path / "tiny"
    for domain, colour, count in (("A", 0, 6), ("B", 1, 4)):
        write_images(root / f"train{domain}", count, size=(32, 32), colour=colour)
    configs = [REPO / "configs" / "travelgan_quickstart.yaml", REPO / "configs" / "debug_travelgan.yaml"]
    siamese = ["--model.init_args.siamese.init_args.base_channels=4", "--model.init_args.siamese.init_args.embed_dim=8",
               "--model.init_args.siamese.init_args.num_layers=3"]  # fmt: skip
    with pytest.raises(SystemExit, match="discriminator.init_args.norm: checkpoint batch, config batch_shift") as info:
        main(["fit", *(f"--config={c}" for c in configs), f"--data.source.root={root}", "--trainer.fast_dev_run=false",
              "--trainer.max_steps=8", f"--trainer.default_root_dir={tmp_path / 'run'}", *siamese,
              f"--ckpt_path={OLD_TRAVELGAN / 'travelgan.ckpt'}"])  # fmt: skip
    assert "\n" not in str(info.value) and "use the config it was trained with" in str(info.value)


# --- main at 0ec298b: the data module's options were flat, its class UnpairedDataModule (ImageFolderDataModule) -----

NOW = Path(__file__).parent / "assets" / "main_0ec298b"  # tests/assets/main_0ec298b/make.py made it


def _tiny(write_images, root: Path) -> Path:
    for domain, colour, count in (("A", 0, 6), ("B", 1, 4)):
        write_images(root / f"train{domain}", count, size=(32, 32), colour=colour)
    return root


def _saved_config(name: str, root: Path, tmp_path: Path) -> Path:
    """The run's own config.yaml (the old spelling, class_path translate.UnpairedDataModule), on this test's data."""
    text = (NOW / f"{name}_config.yaml").read_text().replace("/tmp/gen/work/data", str(root))
    (tmp_path / "saved.yaml").write_text(text)
    return tmp_path / "saved.yaml"


@pytest.mark.parametrize(("name", "spelling"), [("cyclegan", "new"), ("dcgan", "saved")])  # each old class's state
def test_a_mid_epoch_checkpoint_of_0ec298b_resumes_there(name, spelling, write_images, tmp_path, monkeypatch):
    from translate.data.datamodule import ImageDataModule

    restored, load_state_dict = [], ImageDataModule.load_state_dict

    def recording(self, state):
        restored.append(state)
        load_state_dict(self, state)

    monkeypatch.setattr(ImageDataModule, "load_state_dict", recording)
    root = _tiny(write_images, tmp_path / "tiny")
    if spelling == "saved":
        configs = [f"--config={_saved_config(name, root, tmp_path)}"]
    elif name == "cyclegan":
        configs = [f"--config={REPO / 'configs' / c}" for c in ("quickstart_official.yaml", "debug.yaml")]
        configs += [f"--data.source.root={root}", "--data.batch_size=2", "--trainer.limit_val_batches=0"]
    else:
        configs = [f"--config={REPO / 'configs' / c}" for c in ("dcgan_quickstart.yaml", "debug_noise.yaml")]
        configs += [f"--data.source.root={root}", "--data.batch_size=4"]
    main(["fit", *configs, "--trainer.fast_dev_run=false", "--trainer.max_steps=6",
          f"--trainer.default_root_dir={tmp_path / 'run'}", "--trainer.callbacks+=ModelCheckpoint",
          "--trainer.callbacks.save_last=true", f"--ckpt_path={NOW / f'{name}.ckpt'}"])  # fmt: skip
    assert restored == [{"epoch": 0, "batches_done": 2}]  # the old data module's position reached the new one
    saved = torch.load(next((tmp_path / "run").rglob("last.ckpt")), weights_only=True)
    states = [state for key, state in saved.items() if key.endswith("DataModule")]
    assert saved["global_step"] == 6 and states == [{"epoch": 0, "batches_done": 3}]  # the epoch's last batch
