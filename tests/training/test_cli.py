"""TranslateCLI (translate fit|validate|test): StarGAN domains filled from the data, plain DDP mapped to
StepSyncDDPStrategy, checkpoints written atomically, and the resume check naming where a checkpoint and the config
differ.
"""

import re
from pathlib import Path

import pytest
import yaml

from translate.cli import main
from translate.data import ImageDataModule

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = str(REPO / "configs" / "quickstart_official.yaml")
DEBUG = ["--config", str(REPO / "configs" / "debug.yaml")]
STARGAN = ["--config", str(REPO / "configs" / "stargan_quickstart.yaml"), *DEBUG,
           "--config", str(REPO / "configs" / "debug_stargan.yaml")]  # fmt: skip


@pytest.mark.parametrize(
    ("data_args", "message"),
    [
        (["--data.attr_file=labels.txt"], "data.attr_file is the old spelling: .*class_path: AttributeFile"),
        (["--data.source=AttributeFile", "--data.source.attr_file=labels.txt"], "data.source: .*required: domains"),
        (["--data.source.root=null", "--data.source.train_dirs=[a, b]"], None),  # A, B, as the source names them
    ],
)
def test_stargan_without_domains_from_attr_file_or_train_dirs(data_args, message, tmp_path, capsys):
    from translate.training.cli import TranslateCLI

    args = ["fit", "--config", str(REPO / "configs" / "stargan_folders.yaml"), *data_args,
            f"--trainer.default_root_dir={tmp_path}"]  # fmt: skip
    if message is not None:
        with pytest.raises(SystemExit):
            main(args)
        assert re.search(message, capsys.readouterr().err)
        return
    cli = TranslateCLI(model_class=None, datamodule_class=ImageDataModule, auto_configure_optimizers=False,
                       run=False, args=args[1:])  # fmt: skip
    assert cli.model.domains == ["A", "B"] and cli.datamodule.domains == ["A", "B"]


@pytest.mark.parametrize(
    "option, expected",
    [
        (["--trainer.strategy", "ddp"], ("StepSyncDDPStrategy", "popen")),
        (["--trainer.strategy", "ddp_spawn"], ("StepSyncDDPStrategy", "spawn")),
        (["--trainer.strategy", "ddp_find_unused_parameters_true"], ("DDPStrategy", "popen")),
        (["--trainer.strategy.class_path", "StepSyncDDPStrategy"], ("StepSyncDDPStrategy", "popen")),
    ],
    ids=["ddp", "ddp_spawn", "find_unused", "class_path"],
)
def test_cli_maps_plain_ddp_to_the_step_sync_strategy(option, expected, tmp_path, monkeypatch):
    from translate.training.cli import TranslateCLI

    monkeypatch.setattr("sys.argv", ["translate"])  # pytest's own arguments are not the CLI's

    configs = ["--config", "configs/quickstart_official.yaml", "--config", "configs/debug.yaml"]
    trainer = ["--trainer.accelerator=cpu", "--trainer.devices=2", "--trainer.logger=false"]
    args = [*configs, *trainer, f"--trainer.default_root_dir={tmp_path}", *option]
    cli = TranslateCLI(model_class=None, datamodule_class=ImageDataModule, auto_configure_optimizers=False,
                       args=args, run=False)  # fmt: skip
    assert (type(cli.trainer.strategy).__name__, cli.trainer.strategy._start_method) == expected
    if expected[0] == "DDPStrategy":  # Lightning's, unchanged
        assert cli.trainer.strategy._ddp_kwargs == {"find_unused_parameters": True}


def test_fit_writes_checkpoints_with_the_atomic_writer(tmp_path):
    from translate.training.checkpoint_io import AtomicCheckpointIO
    from translate.training.cli import TranslateCLI

    args = ["--config", QUICKSTART, *DEBUG, f"--trainer.default_root_dir={tmp_path}"]
    cli = TranslateCLI(model_class=None, datamodule_class=ImageDataModule, auto_configure_optimizers=False,
                       run=False, args=args)  # fmt: skip
    assert type(cli.trainer.strategy.checkpoint_io) is AtomicCheckpointIO


# --- the resume check -------------------------------------------------------------------------------------------------


def _fit_resume(tmp_path: Path, ckpt: Path, data: Path, *config: str) -> None:
    main(["fit", *config, f"--data.source.root={data}", f"--trainer.default_root_dir={tmp_path}",
          "--trainer.max_steps=4", "--trainer.fast_dev_run=false", "--trainer.limit_val_batches=0",
          f"--ckpt_path={ckpt}"])  # fmt: skip


@pytest.mark.parametrize(
    "config, named",
    [
        (["--config", QUICKSTART, *DEBUG, "--model.init_args.generator.init_args.base_channels=8"],
         "generator.init_args.base_channels: checkpoint 4, config 8"),
        (STARGAN, "holds a CycleGAN, the config a StarGAN"),
    ],
    ids=["other-architecture", "other-model"],
)  # fmt: skip
def test_fit_resume_with_a_checkpoint_that_does_not_fit_the_config_names_both(checkpoints, tmp_path, capsys, config,
                                                                              named):  # fmt: skip
    # Lightning's CLI would silently train the checkpoint's model instead of the configured one.
    with pytest.raises(SystemExit) as exit_info:
        _fit_resume(tmp_path, checkpoints["cyclegan"], checkpoints["data"], *config)
    assert named in str(exit_info.value.code) and str(checkpoints["cyclegan"]) in str(exit_info.value.code)
    assert not list(tmp_path.rglob("*.ckpt")), "nothing was trained"


def test_fit_resume_names_other_differing_settings_and_uses_the_checkpoints(checkpoints, tmp_path):
    with pytest.warns(UserWarning, match=r"the checkpoint's values are used where the config differs "
                                         r"\(lambda_cycle: checkpoint 10.0, config 3.0\)"):  # fmt: skip
        _fit_resume(tmp_path, checkpoints["cyclegan"], checkpoints["data"], "--config", QUICKSTART, *DEBUG,
                    "--model.init_args.lambda_cycle=3.0")  # fmt: skip


# --- the run folder ---------------------------------------------------------------------------------------------------


# --trainer.default_root_dir moves the whole run of every shipped config: checkpoints, samples, logs (wandb) and the
# saved config land under it, and nothing under the folder the command runs in.
CONFIGS = Path(__file__).resolve().parents[2] / "configs"
OVERLAYS = {"stargan": ["debug.yaml", "debug_stargan.yaml"], "travelgan": ["debug_travelgan.yaml"],
            "pix2pix": ["debug_pix2pix.yaml"], "facades": ["debug_pix2pix.yaml"],
            **dict.fromkeys(["dcgan", "cgan", "infogan", "siamese_gan"], ["debug_noise.yaml"]),
            "vaegan": ["debug_noise.yaml", "debug_vaegan.yaml"]}  # fmt: skip
SHIPPED = sorted(p.stem for p in CONFIGS.glob("*.yaml") if not p.stem.startswith("debug"))


def _overlays(config: str, tmp_path: Path) -> list[Path]:
    """The debug overlays (tiny networks and images), then the config's own logger and callbacks back."""
    family = next((name for name in OVERLAYS if config.startswith(name)), None)
    shipped = yaml.safe_load((CONFIGS / f"{config}.yaml").read_text())["trainer"]
    restore = tmp_path / "restore.yaml"
    restore.write_text(yaml.safe_dump({"trainer": {"logger": shipped["logger"], "callbacks": shipped["callbacks"],
                                                   "fast_dev_run": False, "max_steps": 2}}))  # fmt: skip
    return [CONFIGS / name for name in OVERLAYS.get(family, ["debug.yaml"])] + [restore]


@pytest.fixture
def _one_wandb_run_per_test():
    yield
    import wandb

    wandb.finish()  # each `translate fit` is its own process; in one test process the next run would reuse this one


@pytest.mark.usefixtures("_one_wandb_run_per_test")
@pytest.mark.parametrize("config", SHIPPED)
def test_default_root_dir_moves_the_whole_run(config, tiny_domains, tiny_pairs, tiny_aligned, tmp_path, monkeypatch):
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    monkeypatch.chdir(here)
    configs = [CONFIGS / f"{config}.yaml", *_overlays(config, tmp_path)]
    source = yaml.safe_load((CONFIGS / f"{config}.yaml").read_text())["data"]["source"]["class_path"]
    root = {"MatchedPairs": tiny_pairs, "AlignedPairs": tiny_aligned}.get(source, tiny_domains)
    main(["fit", *(f"--config={c}" for c in configs), f"--data.source.root={root}",
          f"--trainer.default_root_dir={elsewhere}"])  # fmt: skip
    assert list(here.iterdir()) == []
    assert (elsewhere / "config.yaml").is_file() and list(elsewhere.rglob("last.ckpt"))
    assert list((elsewhere / "wandb").glob("offline-run-*"))
    if any("SampleGrid" in c["class_path"] for c in yaml.safe_load(configs[-1].read_text())["trainer"]["callbacks"]):
        assert list((elsewhere / "samples").glob("*.png"))
