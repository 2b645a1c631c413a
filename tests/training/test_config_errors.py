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
            "data.batchsize: UnpairedDataModule has no option 'batchsize'; did you mean 'batch_size'?",
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
        main(["fit", f"--config={CONFIGS / 'quickstart.yaml'}", f"--data.root={tiny_domains}", *args])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("translate fit: error: ") and expected in lines[0], lines
    assert "--help" in lines[1]


@pytest.mark.parametrize("config", ["quickstart", "apple2orange", "horse2zebra"])  # the ones with LearningRateMonitor
def test_shipped_configs_train_with_the_logger_off(config, tiny_domains, tmp_path, caplog):
    overlay = tmp_path / "tiny.yaml"
    overlay.write_text(yaml.safe_dump(TINY))
    main(["fit", f"--config={CONFIGS / f'{config}.yaml'}", f"--config={overlay}", f"--data.root={tiny_domains}",
          "--trainer.logger=false", "--trainer.max_steps=2",
          f"--trainer.default_root_dir={tmp_path / 'run'}"])  # fmt: skip
    assert "LearningRateMonitor skipped" in caplog.text
    assert list((tmp_path / "run").rglob("*.ckpt"))
