"""Bad input never crashes a run or loses work (issue 7): junk in image folders, odd image modes, wrong paths, wrong
checkpoints, bad configs and unwritable outputs each end in one clear message. Every test makes its bad input."""

import errno
import os
from pathlib import Path

import pytest
from PIL import Image

from translate.cli import main
from translate.inference.loading import load_model
from translate.inference.predict import predict_folder

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


@pytest.fixture(scope="module")
def model(checkpoints):
    return load_model(checkpoints["cyclegan"])


def test_predict_never_writes_into_its_input(write_images, model, tmp_path):
    photos = tmp_path / "photos"
    write_images(photos, 2)
    before = sorted(photos.rglob("*"))
    for output in (photos, photos / "out", photos / "a" / "b", tmp_path / "photos" / ".." / "photos" / "x"):
        with pytest.raises(ValueError, match=rf"--output {output} is inside --input {photos}; choose a folder"):
            predict_folder(model, photos, output, progress=False)
    assert sorted(photos.rglob("*")) == before


def test_same_stem_other_format_outputs_stay_distinct_and_existing_ones_are_kept(write_images, model, tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    write_images(photos, 1, size=(20, 12), ext="png")
    write_images(photos, 1, size=(12, 20), colour=1, ext="jpg")  # img_000.png and img_000.jpg
    written = predict_folder(model, photos, out, progress=False)
    assert sorted(p.name for p in written) == ["img_000.jpg", "img_000.png"]
    assert Image.open(out / "img_000.png").format == "PNG" and Image.open(out / "img_000.png").size == (20, 12)
    assert Image.open(out / "img_000.jpg").format == "JPEG" and Image.open(out / "img_000.jpg").size == (12, 20)
    (out / "img_000.png").write_bytes(b"mine")  # an existing output is never replaced without --overwrite
    assert predict_folder(model, photos, out, progress=False) == []
    assert (out / "img_000.png").read_bytes() == b"mine"
    predict_folder(model, photos, out, overwrite=True, progress=False)
    assert Image.open(out / "img_000.png").size == (20, 12)


def test_predict_reports_an_image_too_small_for_the_generator_and_translates_the_rest(write_images, model, tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    write_images(photos, 1, size=(20, 12))
    Image.new("RGB", (1, 5)).save(photos / "speck.png")  # found by tests/test_fuzz.py: a crash deep in the network
    Image.new("RGB", (5, 5)).save(photos / "edge.png")  # just above the ResNet's size multiple (4): translates
    with pytest.raises(ValueError, match=r"1 of 3 images could not be translated \(first: .*speck.png: 1x5 is too "
                                         r"small; resize it to at least 5x5\); the other 2 were written"):  # fmt: skip
        predict_folder(model, photos, out, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["edge.png", "img_000.png"]
    assert Image.open(out / "edge.png").size == (5, 5)


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES], ids=["read-only", "no-permission"])
def test_unwritable_prediction_folder_is_one_clear_error(write_images, model, tmp_path, monkeypatch, code):
    # We run as root, where chmod does not stop writes: make the write fail the way the OS would.
    photos, out = tmp_path / "photos", tmp_path / "out"
    write_images(photos, 2)

    def refuse(self, fp, *args, **kwargs):
        raise OSError(code, os.strerror(code), str(fp))

    monkeypatch.setattr(Image.Image, "save", refuse)
    with pytest.raises(ValueError, match=rf"cannot write {out}/img_000.png \({os.strerror(code)}\); make {out} "):
        predict_folder(model, photos, out, progress=False)
    assert not [p for p in out.rglob("*") if p.is_file()], "no partial file left"


def test_fit_reports_our_own_errors_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", QUICKSTART, *DEBUG, f"--data.root={tmp_path / 'nowhere'}",
              f"--trainer.default_root_dir={tmp_path}"])  # fmt: skip
    message = str(exit_info.value.code)
    assert message.startswith("translate fit: error: ") and str(tmp_path / "nowhere") in message
    assert "\n" not in message and "Traceback" not in capsys.readouterr().err
