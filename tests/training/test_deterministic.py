"""``trainer.deterministic: true`` on the CPU: every model family fits under torch.use_deterministic_algorithms, and
two runs of the same config and seed end at bit-identical weights (docs/training.md, "Reproducible runs").

On CUDA the same flag raises for our networks' reflection padding, nearest upsampling and adaptive pooling
backward (no deterministic CUDA kernels); ``deterministic: warn`` is the GPU setting, measured by benchmarks/gpu_check.
"""

from pathlib import Path

import pytest
import torch
import yaml
from lightning.pytorch import LightningDataModule

from translate.training.cli import TranslateCLI, TranslateParser

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
FAMILIES = {  # family -> (shipped config, debug overlays, data layout)
    "cyclegan": ("quickstart", ["debug"], "unpaired"),
    "stargan": ("stargan_quickstart", ["debug", "debug_stargan"], "unpaired"),
    "travelgan": ("travelgan_quickstart", ["debug_travelgan"], "unpaired"),
    "travelgan_siamese": ("travelgan_siamese_quickstart", ["debug_travelgan"], "unpaired"),
    "pix2pix": ("pix2pix_quickstart", ["debug_pix2pix"], "matched"),
    "cut": ("cut_quickstart", ["debug"], "unpaired"),
    "fastcut": ("horse2zebra_fastcut", ["debug"], "unpaired"),
    "qsattn": ("qsattn_quickstart", ["debug"], "unpaired"),
    "monce": ("monce_quickstart", ["debug"], "unpaired"),
    "dclgan": ("dclgan_quickstart", ["debug_dclgan"], "unpaired"),
    "simdcl": ("simdcl", ["debug_dclgan"], "unpaired"),
    "dcgan": ("dcgan_quickstart", ["debug_noise"], "unpaired"),
    "cgan": ("cgan_quickstart", ["debug_noise"], "unpaired"),
    "infogan": ("infogan_quickstart", ["debug_noise"], "unpaired"),
    "siamese_gan": ("siamese_gan_quickstart", ["debug_noise"], "unpaired"),
    "vaegan": ("vaegan_quickstart", ["debug_noise", "debug_vaegan"], "unpaired"),
}


@pytest.fixture
def deterministic_mode(monkeypatch):
    """Lightning turns torch's deterministic mode on for the whole process: turn it off again after the test."""
    monkeypatch.setattr("sys.argv", ["translate"])  # LightningCLI warns when it sees pytest's arguments beside args
    yield
    torch.use_deterministic_algorithms(False)


def _fit(family: str, root: Path, out: Path) -> dict:
    config, overlays, _ = FAMILIES[family]
    args = ["--config", str(CONFIGS / f"{config}.yaml")]
    args += [arg for overlay in overlays for arg in ("--config", str(CONFIGS / f"{overlay}.yaml"))]
    args += [f"--data.source.root={root}", f"--trainer.default_root_dir={out}", "--trainer.deterministic=true",
             "--trainer.fast_dev_run=false", "--trainer.max_steps=4", "--trainer.enable_checkpointing=false",
             "--trainer.limit_val_batches=0", "--trainer.callbacks=[]"]  # fmt: skip
    cli = TranslateCLI(
        model_class=None,
        datamodule_class=LightningDataModule,
        subclass_mode_data=True,
        run=False,
        auto_configure_optimizers=False,
        parser_class=TranslateParser,
        args=args,
        save_config_callback=None,
    )  # fmt: skip (as translate fit builds it: translate.training.cli)
    assert torch.are_deterministic_algorithms_enabled()
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    assert cli.trainer.global_step > 0
    return {k: v.clone() for k, v in cli.model.state_dict().items()}


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_trains_bit_exactly_under_deterministic(family, deterministic_mode, tiny_domains, tiny_pairs,
                                                              tmp_path):  # fmt: skip
    root = {"unpaired": tiny_domains, "matched": tiny_pairs}[FAMILIES[family][2]]
    first, second = _fit(family, root, tmp_path / "first"), _fit(family, root, tmp_path / "second")
    for (name, a), b in zip(first.items(), second.values(), strict=True):
        assert torch.equal(a, b), f"{family}: {name} differs between two deterministic runs"


def _fit_cli(root: Path, run: Path, max_steps: int, *extra: str) -> dict:
    from translate.cli import main

    overlay = run.parent / f"{run.name}.yaml"
    overlay.write_text(yaml.safe_dump({"trainer": {"callbacks": [
        {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint", "init_args": {"save_last": True}},
        {"class_path": "translate.training.callbacks.StepSeed"},
    ]}}))  # fmt: skip
    configs = [CONFIGS / "quickstart_official.yaml", CONFIGS / "debug.yaml", overlay]
    main(["fit", *(f"--config={c}" for c in configs), f"--data.source.root={root}", "--trainer.fast_dev_run=false",
          f"--trainer.max_steps={max_steps}", f"--trainer.default_root_dir={run}", "--trainer.limit_val_batches=0",
          *extra])  # fmt: skip
    return torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)


@pytest.mark.xfail(strict=True, reason="known bug: without validation, last.ckpt is saved in on_train_epoch_end and "
                   "Lightning resumes it inside the finished epoch, one batch more, which the data module draws from "
                   "the next epoch: that epoch's first batch is trained twice and its last one never")  # fmt: skip
def test_resume_at_an_epoch_end_without_validation_is_exact(deterministic_mode, tiny_domains, tmp_path):
    """tiny_domains: 6 A images, batch 2: 3 batches (6 optimizer steps) an epoch; stopped at the first epoch's end.
    Mid-epoch, and with validation, the same resume is exact (tests/commands/test_fit.py, tests/gpu/fit_checks.py)."""
    straight = _fit_cli(tiny_domains, tmp_path / "straight", 12)
    _fit_cli(tiny_domains, tmp_path / "first", 6)
    resumed = _fit_cli(
        tiny_domains, tmp_path / "resumed", 12, f"--ckpt_path={tmp_path / 'first/checkpoints/last.ckpt'}"
    )
    for name, expected in straight["state_dict"].items():
        assert torch.equal(expected, resumed["state_dict"][name]), f"{name} differs from the uninterrupted run"
