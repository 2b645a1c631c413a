"""`translate predict`: fit -> checkpoint -> predict keeps every name and size and writes the generator's pixels;
never overwrites, resumes, stays out of its input, reports bad files and translates the rest; StarGAN targets and
attributes; ONNX files; flags that do not fit the model are named.
"""

from pathlib import Path

import lightning
import numpy as np
import pytest
import torch
from lightning.pytorch import LightningModule
from PIL import Image

from translate.cli import main
from translate.inference.export import export
from translate.inference.predict import predict_folder
from translate.models import CycleGAN

REPO = Path(__file__).resolve().parents[2]
DEBUG = str(REPO / "configs" / "debug.yaml")
DEBUG_UNET = str(REPO / "configs" / "debug_travelgan.yaml")  # U-Net generators have num_downs, not num_blocks
DEBUG_STARGAN = str(REPO / "configs" / "debug_stargan.yaml")  # stacked on DEBUG: 32 px, domains A and B


def _odd_folder(write_images, root: Path) -> list[Path]:
    """Images of awkward sizes, a nested folder and a JPEG: predict must keep each name and size."""
    paths = write_images(root, 2, size=(37, 53))
    paths += write_images(root / "nested" / "deeper", 1, size=(20, 17), colour=1, ext="jpg")
    paths += write_images(root / "wide", 1, size=(64, 9), colour=2)
    return paths


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


@pytest.mark.parametrize("config", ["travelgan_quickstart", "travelgan_siamese_quickstart"])
def test_travelgan_fit_checkpoint_predict_round_trip(write_images, config, tiny_domains, tmp_path):
    main(["fit", "--config", str(REPO / "configs" / f"{config}.yaml"), "--config", DEBUG_UNET,
          "--trainer.fast_dev_run=false", "--trainer.max_steps=4", f"--data.source.root={tiny_domains}",
          f"--trainer.default_root_dir={tmp_path / 'run'}", "--trainer.callbacks+=ModelCheckpoint",
          "--trainer.callbacks.save_last=true"])  # fmt: skip
    ckpt = next((tmp_path / "run").rglob("last.ckpt"))
    model = LightningModule.load_from_checkpoint(ckpt)
    assert type(model).__name__ == ("TraVeLGAN" if config == "travelgan_quickstart" else "SiameseDiscTraVeLGAN")
    inputs = tmp_path / "in"
    paths = write_images(inputs, 2, size=(20, 13))  # not multiples of size_multiple: predict pads and crops back
    main(["predict", "--ckpt", str(ckpt), "--input", str(inputs), "--output", str(tmp_path / "out"),
          "--num-workers", "0"])  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [p.name for p in paths]


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


# --- mistakes ---------------------------------------------------------------------------------------------------------


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


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without a GPU")
def test_predict_on_cuda_without_a_gpu_is_one_line():
    with pytest.raises(SystemExit, match="no CUDA GPU is visible here; use --device cpu"):
        main(["predict", "--ckpt", "x", "--input", "in", "--output", "out", "--device", "cuda"])


def test_target_domain_on_a_cyclegan_checkpoint_is_a_clear_error(train_tiny, write_images, tiny_domains, tmp_path):
    ckpt = train_tiny(tiny_domains, tmp_path / "run")
    write_images(tmp_path / "in", 1)
    with pytest.raises(SystemExit, match="for StarGAN checkpoints; this is CycleGAN: use --direction"):
        main(["predict", "--ckpt", str(ckpt), "--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"),
              "--target-domain", "A"])  # fmt: skip


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


# --- StarGAN ----------------------------------------------------------------------------------------------------------


def _train_tiny_stargan(root: Path, tmp_path: Path, domains: list[str]) -> Path:
    names = "[" + ",".join(domains) + "]"
    main(["fit", "--config", str(REPO / "configs" / "stargan_quickstart.yaml"), "--config", DEBUG,
          "--config", DEBUG_STARGAN, f"--data.source.root={root}", f"--data.source.domains={names}",
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
    monkeypatch.setattr("translate.commands.predict.predict_folder",
                        lambda model, inputs, output, options: seen.update(vars(options)))  # fmt: skip
    main([*args, "--attrs", "B=1", "--attr-file", str(tmp_path / "attrs.txt")])  # the command hands both on
    assert seen["attrs"] == {"B": 1.0} and str(seen["attr_file"]) == str(tmp_path / "attrs.txt")


# --- ONNX -------------------------------------------------------------------------------------------------------------


def test_onnx_predict_cli_skips_overwrites_and_names_mistakes(tiny_cyclegan, photos, tmp_path):
    pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    path = export(tiny_cyclegan(), tmp_path / "a2b.onnx", direction="a2b")
    out = tmp_path / "out"
    args = ["predict", "--onnx", str(path), "--input", str(photos), "--output", str(out), "--num-workers", "0"]
    with pytest.raises(SystemExit, match="broken.png"):  # reported, exit code 1, the others written
        main(args)
    written = out / "sub" / "img_000.png"
    assert written.is_file() and (out / "img_001.png").is_file()
    written.write_bytes(b"stale")
    with pytest.raises(SystemExit):
        main(args)
    assert written.read_bytes() == b"stale"  # existing outputs are skipped ...
    with pytest.raises(SystemExit):
        main([*args, "--overwrite"])
    assert Image.open(written).size == (36, 36)  # ... unless --overwrite
    for extra, message in [(["--direction", "b2a"], "holds one translation \\(a2b\\), not b2a"),
                           (["--attrs", "red=1"], "--attrs and --grid are for StarGAN checkpoints; this is .*a2b.onnx"),
                           (["--target-domain", "red"], "--target-domain, --attrs and --grid are for")]:  # fmt: skip
        with pytest.raises(SystemExit, match=message):
            main([*args, *extra])
    torch.onnx.export(torch.nn.Identity(), (torch.zeros(1, 3, 8, 8),), str(tmp_path / "plain.onnx"), dynamo=False)
    with pytest.raises(SystemExit, match="not written by `translate export`"):
        main([*args[:2], str(tmp_path / "plain.onnx"), *args[3:]])


# --- inputs: files, several values, patterns --------------------------------------------------------------------------


# translate predict --input takes image files, several values and glob patterns, not only folders (issue #20.3): where
# each is written, --output as one image file, and the one-line refusals (same name twice, missing file, a pattern
# matching nothing), through the CLI and predict_folder.
def _save_checkpoint(model: CycleGAN, path: Path) -> Path:
    """A checkpoint as `translate fit` records it (class paths and init args, as `translate import` writes them), so
    that `translate predict --ckpt` rebuilds the same networks without a training run."""
    hparams = {
        "_class_path": "translate.models.CycleGAN",
        "_instantiator": "lightning.pytorch.cli.instantiate_module",
        "generator": {"class_path": "translate.networks.ResnetGenerator",
                      "init_args": {"base_channels": 4, "num_blocks": 1}},
        "discriminator": {"class_path": "translate.networks.PatchDiscriminator",
                          "init_args": {"base_channels": 4, "num_layers": 2}},
    }  # fmt: skip
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": hparams, "epoch": 0, "global_step": 0,
                "pytorch-lightning_version": lightning.__version__}, path)  # fmt: skip
    return path


@pytest.fixture(scope="module")
def model(tiny_cyclegan) -> CycleGAN:
    torch.manual_seed(0)
    return tiny_cyclegan().eval()


@pytest.fixture(scope="module")
def ckpt(model, tmp_path_factory) -> Path:
    return _save_checkpoint(model, tmp_path_factory.mktemp("ckpt") / "tiny.ckpt")


def _photo(path: Path, size: tuple[int, int] = (24, 20), seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def _predict(ckpt: Path, *args: str) -> None:
    main(["predict", "--ckpt", str(ckpt), "--num-workers", "0", *args])


def _one_line_error(ckpt: Path, *args: str) -> str:
    with pytest.raises(SystemExit) as error:
        _predict(ckpt, *args)
    message = str(error.value.code)
    assert message.startswith("translate predict: error: ") and "\n" not in message, message
    return message


def _files(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def test_a_single_file_is_written_under_output_with_its_name(ckpt, model, tmp_path):
    photo = _photo(tmp_path / "photo.jpg", size=(30, 22))
    _predict(ckpt, "--input", str(photo), "--output", str(tmp_path / "out"))
    assert _files(tmp_path / "out") == ["photo.jpg"]
    with Image.open(tmp_path / "out" / "photo.jpg") as out:
        assert out.format == "JPEG" and out.size == (30, 22)
    assert predict_folder(model, photo, tmp_path / "api", progress=False) == [tmp_path / "api" / "photo.jpg"]


def test_several_files_from_several_folders(ckpt, model, tmp_path):
    a, b = _photo(tmp_path / "x" / "a.jpg"), _photo(tmp_path / "y" / "deeper" / "b.png", seed=1)
    _predict(ckpt, "--input", str(a), str(b), "--output", str(tmp_path / "out"))
    assert _files(tmp_path / "out") == ["a.jpg", "b.png"]
    written = predict_folder(model, [a, str(b)], tmp_path / "api", progress=False)
    assert sorted(path.name for path in written) == ["a.jpg", "b.png"]


def test_a_quoted_glob_is_expanded_here(ckpt, model, tmp_path):
    photos = tmp_path / "photos"
    for name in ("a.jpg", "b.jpg", "c.png", "sub/d.jpg"):
        _photo(photos / name)
    _predict(ckpt, "--input", str(photos / "*.jpg"), "--output", str(tmp_path / "flat"))
    assert _files(tmp_path / "flat") == ["a.jpg", "b.jpg"]
    _predict(ckpt, "--input", str(photos / "**" / "*.jpg"), "--output", str(tmp_path / "deep"))
    assert _files(tmp_path / "deep") == ["a.jpg", "b.jpg", "sub/d.jpg"]  # relative to the pattern's fixed folder
    written = predict_folder(model, str(photos / "*.png"), tmp_path / "api", progress=False)
    assert written == [tmp_path / "api" / "c.png"]


def test_output_names_one_image_file_for_one_input(ckpt, model, tmp_path):
    photo = _photo(tmp_path / "photo.jpg")
    _predict(ckpt, "--input", str(photo), "--output", str(tmp_path / "result" / "out.png"))
    assert _files(tmp_path / "result") == ["out.png"]
    with Image.open(tmp_path / "result" / "out.png") as out:
        assert out.format == "PNG" and out.size == (24, 20)  # the format of --output's extension, not the input's
    assert predict_folder(model, photo, tmp_path / "api.tif", progress=False) == [tmp_path / "api.tif"]
    assert Image.open(tmp_path / "api.tif").format == "TIFF"

    message = _one_line_error(ckpt, "--input", str(tmp_path / "result"), "--output", str(tmp_path / "x.png"))
    assert "--output" in message and "x.png" in message and "pass a folder as --output" in message
    assert not (tmp_path / "x.png").exists()


def test_two_inputs_of_the_same_name_are_refused_naming_both(ckpt, model, tmp_path):
    a, b = _photo(tmp_path / "x" / "photo.jpg"), _photo(tmp_path / "y" / "photo.jpg", seed=1)
    message = _one_line_error(ckpt, "--input", str(a), str(b), "--output", str(tmp_path / "out"))
    assert str(a) in message and str(b) in message and "photo.jpg" in message
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="would both be written as photo.jpg"):
        predict_folder(model, [a, b], tmp_path / "out", progress=False)


def test_a_missing_file_or_an_empty_pattern_is_one_line_naming_it(ckpt, model, tmp_path):
    message = _one_line_error(ckpt, "--input", str(tmp_path / "photo.jpg"), "--output", str(tmp_path / "out"))
    assert f"--input {tmp_path / 'photo.jpg'} not found: no file or folder" in message
    pattern = str(tmp_path / "*.jpg")
    message = _one_line_error(ckpt, "--input", pattern, "--output", str(tmp_path / "out"))
    assert f"--input {pattern!r} matches no image files (png, jpg" in message and str(tmp_path) in message
    with pytest.raises(FileNotFoundError, match="matches no image files"):
        predict_folder(model, pattern, tmp_path / "out", progress=False)


def test_an_output_onto_its_input_is_refused(ckpt, tmp_path):
    photo = _photo(tmp_path / "photo.jpg")
    before = photo.read_bytes()
    message = _one_line_error(ckpt, "--input", str(photo), "--output", str(tmp_path), "--overwrite")
    assert f"would overwrite the input {photo}" in message
    assert photo.read_bytes() == before
