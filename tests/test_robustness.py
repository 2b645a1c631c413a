"""Bad input never crashes a run or loses work (issue 7): junk in image folders, odd image modes, wrong paths, wrong
checkpoints, bad configs and unwritable outputs each end in one clear message. Every test makes its bad input."""

from pathlib import Path

import pytest

from translate.cli import main

# --- data loading -------------------------------------------------------------------------------------------------


# --- configs and checkpoints --------------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent
QUICKSTART = str(REPO / "configs" / "quickstart.yaml")
DEBUG = ["--config", str(REPO / "configs" / "debug.yaml")]
STARGAN = ["--config", str(REPO / "configs" / "stargan_quickstart.yaml"), *DEBUG,
           "--config", str(REPO / "configs" / "debug_stargan.yaml")]  # fmt: skip


@pytest.mark.parametrize(
    "option, named",
    [
        ("--model.init_args.lambda_cycl=3", "Option 'lambda_cycl' is not accepted"),  # unknown key
        ("--model.init_args.lambda_cycle=abc", "Expected a <class 'float'>. Got value: abc"),  # wrong type
        ("--data.batch_size=two", 'Parser key "data.batch_size"'),
        ("--data.bad_images=maybe", 'Parser key "data.bad_images"'),
        ("--model=NO_NETWORKS", "the following arguments are required: generator, discriminator"),  # missing
    ],
)
def test_config_errors_name_the_key_without_a_traceback(option, named, capsys, tmp_path):
    config = ["--config", QUICKSTART, *DEBUG, f"--trainer.default_root_dir={tmp_path}"]  # never a long run
    if option == "--model=NO_NETWORKS":  # a config of its own: on top of another, init_args would be inherited
        (tmp_path / "bare.yaml").write_text("model: {class_path: CycleGAN}\ndata: {root: nowhere}\n")
        config, option = ["--config", str(tmp_path / "bare.yaml")], f"--trainer.default_root_dir={tmp_path}"
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *config, option])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err


@pytest.mark.parametrize(
    "kind, flags, expected",
    [
        ("cyclegan", ["--target-domain", "B"], "--attrs and --grid are for StarGAN checkpoints; this is CycleGAN"),
        ("stargan", ["--target-domain", "zebra"], r"unknown --target-domain 'zebra'; this StarGAN knows \['A', 'B'\]"),
        ("stargan", ["--direction", "b2a"], r"StarGAN needs --target-domain NAME"),
    ],
)  # fmt: skip
def test_predict_flags_for_another_model_name_it(checkpoints, tmp_path, kind, flags, expected):
    args = ["predict", "--ckpt", str(checkpoints[kind]), "--input", str(checkpoints["data"] / "trainA"),
            "--output", str(tmp_path / "out"), "--device", "cpu", "--num-workers", "0", *flags]  # fmt: skip
    with pytest.raises(SystemExit, match=expected):
        main(args)
    assert not (tmp_path / "out").exists()


# --- predict: where outputs go ------------------------------------------------------------------------------------


def test_fit_reports_our_own_errors_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", QUICKSTART, *DEBUG, f"--data.root={tmp_path / 'nowhere'}",
              f"--trainer.default_root_dir={tmp_path}"])  # fmt: skip
    message = str(exit_info.value.code)
    assert message.startswith("translate fit: error: ") and str(tmp_path / "nowhere") in message
    assert "\n" not in message and "Traceback" not in capsys.readouterr().err
