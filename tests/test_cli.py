"""The `translate` command: help texts, every shipped config, fit -> checkpoint -> predict, clear errors."""

from pathlib import Path

import numpy as np
import pytest
import torch
from lightning.pytorch import LightningModule
from PIL import Image

from translate.cli import main
from translate.models import CycleGAN

REPO = Path(__file__).resolve().parent.parent

CONFIGS = sorted(p for p in (REPO / "configs").glob("*.yaml") if not p.stem.startswith("debug"))  # debug*: overlays
DEBUG = str(REPO / "configs" / "debug.yaml")
DEBUG_UNET = str(REPO / "configs" / "debug_travelgan.yaml")  # U-Net generators have num_downs, not num_blocks
DEBUG_STARGAN = str(REPO / "configs" / "debug_stargan.yaml")  # stacked on DEBUG: 32 px, domains A and B


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
        (["bogus"], "unknown command 'bogus'; choose from fit, validate, test, predict, data, export, import"),
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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-c", "nowhere.yaml"], 'Parser key "config": File does not exist'),
        (["--confg", "x"], "unrecognized arguments: --confg"),
    ],
)
def test_config_options_and_typos_reach_jsonargparse(args, message, capsys):
    with pytest.raises(SystemExit):
        main(["fit", *args])
    err = capsys.readouterr().err
    assert message in err and "no model given" not in err


def test_a_missing_ckpt_path_is_one_line(tiny_domains, tmp_path):
    args = ["--config", str(REPO / "configs" / "quickstart.yaml"), "--config", DEBUG, f"--data.root={tiny_domains}"]
    with pytest.raises(SystemExit, match=r"--ckpt_path .*nope.ckpt does not exist; pass a .ckpt file or a run folder"):
        main(["test", *args, f"--ckpt_path={tmp_path / 'nope.ckpt'}"])
    (tmp_path / "empty_run").mkdir()
    with pytest.raises(SystemExit, match=r"no .ckpt file under .*empty_run"):
        main(["test", *args, f"--ckpt_path={tmp_path / 'empty_run'}"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without a GPU")
def test_predict_on_cuda_without_a_gpu_is_one_line():
    with pytest.raises(SystemExit, match="no CUDA GPU is visible here; use --device cpu"):
        main(["predict", "--ckpt", "x", "--input", "in", "--output", "out", "--device", "cuda"])


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_every_config_fits_with_the_debug_overlay(config, tiny_domains, tmp_path):
    overlays = [DEBUG_UNET] if config.stem.startswith("travelgan") else [DEBUG]
    if config.stem.startswith("stargan"):
        overlays.append(DEBUG_STARGAN)
    overlays = [arg for overlay in overlays for arg in ("--config", overlay)]
    main(["fit", "--config", str(config), *overlays, f"--data.root={tiny_domains}",
          f"--trainer.default_root_dir={tmp_path}"])  # fmt: skip


def test_missing_dataset_error_names_the_folder(tmp_path, capsys):
    missing = tmp_path / "apple2orange"
    with pytest.raises((FileNotFoundError, ValueError, SystemExit), match=None) as error:
        main(["fit", "--config", str(REPO / "configs/apple2orange.yaml"), "--config", DEBUG,
              f"--data.root={missing}", f"--trainer.default_root_dir={tmp_path}"])  # fmt: skip
    assert str(missing) in str(error.value) + capsys.readouterr().err


def test_unknown_config_key_is_one_clear_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--config", str(CONFIGS[0]), "--model.init_args.lambda_cycl=3"])
    err = capsys.readouterr().err
    assert "lambda_cycl" in err


def _odd_folder(write_images, root: Path) -> list[Path]:
    """Images of awkward sizes, a nested folder and a JPEG: predict must keep each name and size."""
    paths = write_images(root, 2, size=(37, 53))
    paths += write_images(root / "nested" / "deeper", 1, size=(20, 17), colour=1, ext="jpg")
    paths += write_images(root / "wide", 1, size=(64, 9), colour=2)
    return paths


def test_validate_and_test_report_a_checkpoints_metrics(train_tiny, tiny_domains, tmp_path, capsys):
    ckpt = train_tiny(tiny_domains, tmp_path / "run")
    common = ["--config", str(REPO / "configs" / "quickstart.yaml"), "--config", DEBUG, "--trainer.fast_dev_run=false",
              f"--data.root={tiny_domains}", f"--trainer.default_root_dir={tmp_path / 'eval'}", f"--ckpt_path={ckpt}",
              "--trainer.logger=false", "--trainer.callbacks=[]"]  # fmt: skip
    main(["test", *common])
    tested = capsys.readouterr().out
    main(["validate", *common, f"--ckpt_path={tmp_path / 'run'}"])  # a run folder: its newest last.ckpt, as predict
    validated = capsys.readouterr().out
    assert "test/cycle_a" in tested and "val/cycle_a" in validated

    def cycle(out: str, stage: str) -> float:  # the value in Lightning's results table, e.g. "│ test/cycle │ 1.07 │"
        row = next(line for line in out.splitlines() if f"{stage}/cycle " in line)
        return float(row.replace("│", " ").split()[1])

    # the same folders and weights: the same metric under the other name (the test loop is not a stub)
    assert cycle(tested, "test") == pytest.approx(cycle(validated, "val"), rel=1e-4)
    assert 0.0 < cycle(tested, "test") < 4.0  # two L1 errors of images in [-1, 1]


def test_fit_checkpoint_predict_round_trip(train_tiny, write_images, tiny_domains, tmp_path):
    ckpt = train_tiny(tiny_domains, tmp_path / "run")
    model = LightningModule.load_from_checkpoint(ckpt)
    assert isinstance(model, CycleGAN)

    inputs = tmp_path / "in"
    paths = _odd_folder(write_images, inputs)
    main(["predict", "--ckpt", str(ckpt), "--input", str(inputs), "--output", str(tmp_path / "out"),
          "--direction", "b2a", "--batch-size", "2", "--num-workers", "0"])  # fmt: skip
    written = sorted(p.relative_to(tmp_path / "out") for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written == sorted(p.relative_to(inputs) for p in paths)
    for path in paths:
        with Image.open(path) as source, Image.open(tmp_path / "out" / path.relative_to(inputs)) as result:
            assert result.size == source.size and result.mode == "RGB"

    # the written pixels are the generator's output for that image, not a resized or shifted copy
    source = np.asarray(Image.open(paths[0]), dtype=np.float32) / 127.5 - 1
    x = torch.from_numpy(source).permute(2, 0, 1)[None]
    padded = torch.nn.functional.pad(x, (0, 3, 0, 3), mode="reflect")  # 37x53 -> 40x56 (multiple of 4)
    with torch.no_grad():
        expected = ((model.eval()(padded, direction="b2a")[0, :, :53, :37].clamp(-1, 1) + 1) * 127.5).round()
    result = np.asarray(Image.open(tmp_path / "out" / paths[0].name), dtype=np.float32)
    assert np.abs(result - expected.permute(1, 2, 0).numpy()).max() <= 1


def test_predict_never_overwrites_resumes_and_stays_out_of_the_input(
    train_tiny, write_images, tiny_domains, tmp_path, caplog
):
    ckpt = train_tiny(tiny_domains, tmp_path / "run")
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    write_images(inputs, 3)
    args = ["predict", "--ckpt", str(ckpt), "--input", str(inputs), "--output", str(outputs), "--num-workers", "0"]
    main(args)
    (outputs / "img_001.png").unlink()  # as if the run had been interrupted before this one
    (outputs / "img_000.png").write_bytes(b"the user's own file")
    main(args)  # resumes: translates only the missing image, leaves existing files alone
    assert "skipping 2 of 3 images already translated" in caplog.text
    assert (outputs / "img_000.png").read_bytes() == b"the user's own file"
    assert (outputs / "img_001.png").stat().st_size > 100
    main([*args, "--overwrite"])
    assert (outputs / "img_000.png").read_bytes() != b"the user's own file"
    with pytest.raises(SystemExit, match="inside --input"):
        main([*args[:-4], "--output", str(inputs / "translated")])


def test_predict_reports_bad_files_and_translates_the_rest(train_tiny, write_images, tiny_domains, tmp_path):
    ckpt = train_tiny(tiny_domains, tmp_path / "run")
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    write_images(inputs, 2)
    (inputs / "broken.png").write_bytes((inputs / "img_000.png").read_bytes()[:60])  # truncated: header only
    (inputs / "garbage.jpg").write_bytes(b"not an image at all")
    for workers in ("0", "1"):
        with pytest.raises(SystemExit, match=r"2 of 4 images could not be translated .*the other 2 were written"):
            main(["predict", "--ckpt", str(ckpt), "--input", str(inputs), "--output", str(outputs / workers),
                  "--num-workers", workers, "--batch-size", "4"])  # fmt: skip
        assert sorted(p.name for p in (outputs / workers).iterdir()) == ["img_000.png", "img_001.png"]


def test_predict_errors_name_the_missing_path(tmp_path):
    with pytest.raises(SystemExit, match="nope.ckpt"):
        main(
            [
                "predict",
                "--ckpt",
                str(tmp_path / "nope.ckpt"),
                "--input",
                str(tmp_path),
                "--output",
                str(tmp_path / "o"),
            ]
        )


def _train_tiny_stargan(root: Path, tmp_path: Path, domains: list[str]) -> Path:
    names = "[" + ",".join(domains) + "]"
    main(["fit", "--config", str(REPO / "configs" / "stargan_quickstart.yaml"), "--config", DEBUG,
          "--config", DEBUG_STARGAN, f"--data.root={root}", f"--data.domains={names}",
          f"--model.init_args.domains={names}", "--trainer.fast_dev_run=false", "--trainer.max_steps=4",
          f"--trainer.default_root_dir={tmp_path}", "--trainer.callbacks+=lightning.pytorch.callbacks.ModelCheckpoint",
          "--trainer.callbacks.save_last=true"])  # fmt: skip
    return next(tmp_path.rglob("last.ckpt"))


def test_stargan_predict_writes_one_output_per_input_per_target(write_images, tmp_path):
    domains = ["red", "green", "blue"]
    for colour, domain in enumerate(domains):
        write_images(tmp_path / "data" / "train" / domain, 3, colour=colour)
    ckpt = _train_tiny_stargan(tmp_path / "data", tmp_path / "run", domains)
    inputs = tmp_path / "in"
    paths = _odd_folder(write_images, inputs)
    args = ["predict", "--ckpt", str(ckpt), "--input", str(inputs), "--num-workers", "0"]
    main([*args, "--output", str(tmp_path / "all"), "--target-domain", "all"])
    for domain in domains:
        for path in paths:
            with Image.open(path) as source, Image.open(tmp_path / "all" / domain / path.relative_to(inputs)) as out:
                assert out.size == source.size
    main([*args, "--output", str(tmp_path / "two"), "--target-domain", "blue", "--target-domain", "red"])
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["blue", "red"]

    main([*args, "--output", str(tmp_path / "grid"), "--grid"])
    with Image.open(paths[0]) as source, Image.open(tmp_path / "grid" / paths[0].name) as strip:
        assert strip.size == (source.width * 4, source.height)  # the input, then three targets

    with pytest.raises(SystemExit, match="unknown --target-domain 'violet'.*red"):
        main([*args, "--output", str(tmp_path / "bad"), "--target-domain", "violet"])
    with pytest.raises(SystemExit, match="needs --target-domain"):
        main([*args, "--output", str(tmp_path / "none")])


def test_stargan_domains_come_from_the_folder_names_through_fit_resume_and_test(write_images, tmp_path, capsys):
    for colour, domain in enumerate(["red", "green", "blue"]):
        for split in ("train", "test"):
            write_images(tmp_path / "data" / split / domain, 2, colour=colour)
    run = tmp_path / "run"
    common = ["--config", str(REPO / "configs" / "stargan_folders.yaml"), "--config", DEBUG,
              "--model.init_args.image_size=32", "--model.init_args.n_critic=1", f"--data.root={tmp_path / 'data'}",
              f"--trainer.default_root_dir={run}", "--trainer.fast_dev_run=false", "--trainer.limit_val_batches=0",
              "--trainer.callbacks+=lightning.pytorch.callbacks.ModelCheckpoint",
              "--trainer.callbacks.save_last=true"]  # fmt: skip
    main(["fit", *common, "--trainer.max_steps=4"])
    ckpt = next(run.rglob("last.ckpt"))
    hparams = torch.load(ckpt, map_location="cpu", weights_only=True)["hyper_parameters"]
    assert hparams["domains"] == ["blue", "green", "red"]  # sorted folder names, recorded for predict
    main(["fit", *common, "--trainer.max_steps=8", f"--ckpt_path={ckpt}"])  # the same domains: no mismatch
    assert torch.load(next(run.rglob("last.ckpt")), map_location="cpu", weights_only=True)["global_step"] == 8
    main(["test", *common, f"--ckpt_path={ckpt}"])
    assert "test/acc_real" in capsys.readouterr().out


def test_target_domain_on_a_cyclegan_checkpoint_is_a_clear_error(train_tiny, write_images, tiny_domains, tmp_path):
    ckpt = train_tiny(tiny_domains, tmp_path / "run")
    write_images(tmp_path / "in", 1)
    with pytest.raises(SystemExit, match="for StarGAN checkpoints; this is CycleGAN: use --direction"):
        main(["predict", "--ckpt", str(ckpt), "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"),
              "--target-domain", "A"])  # fmt: skip


def test_export_command_writes_a_runnable_onnx_file(train_tiny, tiny_domains, tmp_path, capsys):
    onnxruntime = pytest.importorskip("onnxruntime")
    ckpt = train_tiny(tiny_domains, tmp_path / "run")
    main(["export", "--ckpt", str(ckpt), "--format", "onnx", "--output", str(tmp_path / "g.onnx")])
    assert "wrote" in capsys.readouterr().out
    session = onnxruntime.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"image": np.zeros((1, 3, 20, 28), dtype=np.float32)})
    assert out.shape == (1, 3, 20, 28)
    with pytest.raises(SystemExit, match="direction must be one of"):
        main(["export", "--ckpt", str(ckpt), "--output", str(tmp_path / "x.onnx"), "--direction", "ab"])


def test_predict_command_passes_attr_file_and_refuses_it_for_single_label_models(write_images, tmp_path, monkeypatch):
    for colour, domain in enumerate(["A", "B"]):
        write_images(tmp_path / "data" / "train" / domain, 2, colour=colour)
    ckpt = _train_tiny_stargan(tmp_path / "data", tmp_path / "run", ["A", "B"])  # single-label
    args = ["predict", "--ckpt", str(ckpt), "--input", str(tmp_path / "data" / "train" / "A"), "--output",
            str(tmp_path / "out"), "--num-workers", "0"]  # fmt: skip
    with pytest.raises(SystemExit, match="--attr-file gives the attributes of multi-label models"):
        main([*args, "--target-domain", "B", "--attr-file", str(tmp_path / "attrs.txt")])
    with pytest.raises(SystemExit, match="single-label .*use --target-domain"):
        main([*args, "--attrs", "B=1"])
    seen = {}
    monkeypatch.setattr("translate.commands.predict.predict_folder", lambda *a, **kwargs: seen.update(kwargs))
    main([*args, "--attrs", "B=1", "--attr-file", str(tmp_path / "attrs.txt")])  # the command hands both on
    assert seen["attrs"] == {"B": 1.0} and str(seen["attr_file"]) == str(tmp_path / "attrs.txt")
