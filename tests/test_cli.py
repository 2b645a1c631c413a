"""The `translate` command table: help for every command, and mistakes on the command line in one line."""

import pytest

from translate.cli import main


def test_top_level_help_lists_every_command(capsys):
    main(["--help"])
    out = capsys.readouterr().out
    assert all(command in out for command in ("fit", "validate", "test", "predict"))


@pytest.mark.parametrize("command", ["fit", "validate", "test", "predict"])
def test_command_help_explains_itself(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    if command == "predict":
        assert "--ckpt" in out and "--input" in out and "--target-domain" in out
    else:  # Lightning's generic text plus ours: an example with a shipped config, and where the model options are
        assert f"translate {command} --config configs/quickstart.yaml" in out and "--model.help CycleGAN" in out
    if command == "fit":
        assert "--trainer.max_steps counts optimizer steps" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["bogus"],
            "unknown command 'bogus'; choose from fit, validate, test, predict, sample, data, export, import, serve",
        ),  # fmt: skip
        (["fit"], "translate fit: error: no model given; pass --config FILE"),
        (["fit", "--trainer.max_epochs=1"], "translate fit: error: no model given; pass --config FILE"),
        (["test", "--trainer.max_epochs=1"], "translate test: error: no model given"),
        (["predict", "--ckpt", "x", "--input", "in", "--output", "out", "--device", "gpu"], "--device 'gpu' is not a"),
        (["predict", "--ckpt", "x", "--input", "in", "--output", "out", "--device", "tpu"], "use auto, cpu, cuda"),
    ],
)
def test_command_line_mistakes_are_one_line(args, message):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert message in str(exit_info.value.code) and "\n" not in str(exit_info.value.code)
