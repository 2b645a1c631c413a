"""Configuration mistakes end in one line naming the option (and the name meant, for a typo), not a usage text and a
dump of Union subtypes; shipped configs train with the logger switched off."""

from pathlib import Path

import pytest
import yaml

from translate.cli import main

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TINY = {"model": {"init_args": {"generator": {"init_args": {"base_channels": 4, "num_blocks": 1}},
                                "discriminator": {"init_args": {"base_channels": 4, "num_layers": 2}}}},
        "data": {"load_size": 36, "crop_size": 32, "batch_size": 2, "num_workers": 0},
        "trainer": {"accelerator": "cpu", "devices": 1}}  # fmt: skip


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--model.init_args.lambda_cycl", "5"],
            "model.init_args.lambda_cycl: CycleGAN has no option 'lambda_cycl'; did you mean 'lambda_cycle'?",
        ),  # fmt: skip
        (
            ["--model.init_args.generator.init_args.num_block", "5"],
            "ResnetGenerator has no option 'num_block'; did you mean 'num_blocks'?",
        ),  # fmt: skip
        (
            ["--data.batchsize", "5"],
            "data.batchsize: ImageDataModule has no option 'batchsize'; did you mean 'batch_size'?",
        ),  # fmt: skip
        (["--model.init_args.lambda_cycle", "abc"], "model.init_args.lambda_cycle: Expected a <class 'float'>"),
        (
            ["--model.init_args.gan_mode", "lsgann"],
            "gan_mode: lsgann is not one of 'lsgan', 'vanilla', 'hinge', 'wgangp'; did you mean 'lsgan'?",
        ),  # fmt: skip
        (["--model.class_path", "CycleGANN"], "no model 'CycleGANN'; did you mean 'CycleGAN'?"),
        (["--trainer.precision", "17"], "trainer.precision: 17 is not one of"),
    ],
)
def test_a_config_mistake_is_one_line_naming_the_option(args, expected, tiny_domains, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", f"--config={CONFIGS / 'quickstart_official.yaml'}", f"--data.source.root={tiny_domains}", *args])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("translate fit: error: ") and expected in lines[0], lines
    assert "--help" in lines[1]


@pytest.mark.parametrize("config", ["quickstart", "apple2orange", "horse2zebra"])  # the ones with LearningRateMonitor
def test_shipped_configs_train_with_the_logger_off(config, tiny_domains, tmp_path, caplog):
    overlay = tmp_path / "tiny.yaml"
    overlay.write_text(yaml.safe_dump(TINY))
    main(["fit", f"--config={CONFIGS / f'{config}.yaml'}", f"--config={overlay}", f"--data.source.root={tiny_domains}",
          "--trainer.logger=false", "--trainer.max_steps=2",
          f"--trainer.default_root_dir={tmp_path / 'run'}"])  # fmt: skip
    assert "LearningRateMonitor skipped" in caplog.text
    assert list((tmp_path / "run").rglob("*.ckpt"))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--data.crop_size=64", "--data.load_size=32"], "data.load_size: load_size (32) must be >= crop_size (64)"),
        (["--model.init_args.generator.init_args.num_blocks=-1"],
         "model.init_args.generator.init_args.num_blocks: num_blocks must be >= 0, got -1"),
        (["--trainer.callbacks+=translate.training.callbacks.SampleGrid", "--trainer.callbacks.num_images=0"],
         "(SampleGrid): num_images and every_n_epochs must be >= 1, got 0, 1"),
        (["--model.init_args.optimizer.init_args.lr=.nan"], "model.init_args.optimizer (Adam): Invalid learning rate"),
        (["--trainer.max_epochs=-5"], "trainer: `max_epochs` must be a non-negative integer or -1"),
    ],
)  # fmt: skip
def test_a_constructor_error_is_one_line_naming_the_option(args, expected, tiny_domains, tmp_path, capsys):
    """#29: the class's own ValueError, not jsonargparse's 40 lines of Union subtypes around it (nor, for an
    optimizer built when the run starts, a traceback)."""
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", f"--config={CONFIGS / 'quickstart_official.yaml'}", f"--config={CONFIGS / 'debug.yaml'}",
              f"--data.source.root={tiny_domains}", f"--trainer.default_root_dir={tmp_path}", *args])  # fmt: skip
    message = str(exit_info.value.code)
    assert message.startswith("translate fit: error: ") and expected in message and "\n" not in message, message
    assert "Traceback" not in capsys.readouterr().err
