"""Bad input never crashes a run or loses work (issue 7): junk in image folders, odd image modes, wrong paths, wrong
checkpoints, bad configs and unwritable outputs each end in one clear message. Every test makes its bad input."""

import errno
import os
import warnings
from functools import partial
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import pytest
import torch
from lightning.pytorch import Trainer
from PIL import Image

from translate.cli import main
from translate.data import UnpairedDataModule
from translate.data.datasets import DomainFolder
from translate.data.images import UndecodableImageError, read_image
from translate.inference.loading import load_model
from translate.inference.predict import predict_folder
from translate.networks import ResnetGenerator


def _junk(folder: Path) -> list[Path]:
    """Files with image names that are not images: random bytes, an empty file, text. Returns them."""
    folder.mkdir(parents=True, exist_ok=True)
    junk = [folder / "random.png", folder / "empty.jpg", folder / "text.webp"]
    junk[0].write_bytes(np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8).tobytes())
    junk[1].write_bytes(b"")
    junk[2].write_text("not an image at all")
    return junk


def _truncate(path: Path) -> None:
    """Keep the PNG header (so the file opens) but cut the pixel data: it fails only when decoded."""
    path.write_bytes(path.read_bytes()[:50])


# --- data loading -------------------------------------------------------------------------------------------------


def test_undecodable_files_are_named_and_counted_and_other_files_ignored(tiny_data, tiny_domains):
    folder = tiny_domains / "trainA"  # 6 good images
    junk = _junk(folder)
    (folder / "README.txt").write_text("a note, not an image")
    (folder / "empty_sub").mkdir()
    with pytest.warns(UserWarning) as caught:
        dm = tiny_data(tiny_domains, load_size=16)
        dm.setup("fit")
    messages = [str(w.message) for w in caught]
    for path in junk:
        assert any(m.startswith(f"skipping {path}: cannot decode it") for m in messages), path
    assert f"skipped 3 of 9 images under {folder}" in " ".join(messages)
    assert not any("README" in m for m in messages)
    assert len(dm.train_set.folders[0]) == 6
    real_a, real_b = next(iter(dm.train_dataloader()))
    assert real_a.shape == (2, 3, 16, 16) and torch.isfinite(real_a).all()


def test_a_domain_with_no_decodable_image_is_an_error_naming_the_folder(tiny_data, tiny_domains):
    for path in (tiny_domains / "trainB").iterdir():
        path.unlink()
    _junk(tiny_domains / "trainB")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=rf"none of the 3 image files under {tiny_domains / 'trainB'} can be"):
            tiny_data(tiny_domains, load_size=16).setup("fit")


def test_bad_images_fail_names_the_file_at_setup(tiny_data, tiny_domains):
    bad = tiny_domains / "trainB" / "random.png"
    bad.write_bytes(b"\x89PNG but nothing after it")
    with pytest.raises(UndecodableImageError, match=rf"^cannot decode {bad} .*data.bad_images: skip$"):
        tiny_data(tiny_domains, load_size=16, bad_images="fail").setup("fit")


def test_bad_images_fail_in_a_loader_worker_is_one_clear_line(tiny_data, tiny_domains):
    bad = tiny_domains / "trainA" / "img_003.png"
    _truncate(bad)  # opens fine, so only a worker decoding it finds out
    dm = tiny_data(tiny_domains, load_size=16, batch_size=6, num_workers=2, bad_images="fail")
    dm.setup("fit")
    with pytest.raises(UndecodableImageError) as caught:
        for _ in dm.train_dataloader():
            pass
    message = str(caught.value)
    assert message.startswith(f"cannot decode {bad} (") and message.endswith("data.bad_images: skip")
    assert "\n" not in message and "Traceback" not in message and "worker" not in message


def test_truncated_file_is_skipped_while_loading_with_workers(tiny_data, tiny_domains):
    _truncate(tiny_domains / "trainA" / "img_003.png")
    dm = tiny_data(tiny_domains, load_size=16, batch_size=6, num_workers=2)
    dm.setup("fit")
    batches = list(dm.train_dataloader())  # the worker warns; the next image takes the bad one's place
    assert len(batches) == 1 and batches[0][0].shape == (6, 3, 16, 16) and torch.isfinite(batches[0][0]).all()


SIXTEEN_BIT = np.full((8, 12), 32768, dtype=np.uint16)  # half of 16-bit full scale: must read as about 0.5


def _write_16bit(path: Path, kind: str) -> None:
    if kind == "gray":  # PIL mode I;16
        Image.fromarray(SIXTEEN_BIT).save(path)
    else:  # 16-bit RGB (48 bits per pixel), which PIL cannot write: OpenCV can (BGR order)
        bgr = np.stack([np.zeros_like(SIXTEEN_BIT), SIXTEEN_BIT, np.full_like(SIXTEEN_BIT, 65535)], axis=-1)  # orange
        assert cv2.imwrite(str(path), bgr)


@pytest.mark.parametrize("kind", ["gray", "rgb"])
@pytest.mark.parametrize("ext", ["png", "tif"])
@pytest.mark.parametrize("channels", [1, 3])
def test_16_bit_images_keep_their_range(tmp_path, kind, ext, channels):
    path = tmp_path / f"deep.{ext}"
    _write_16bit(path, kind)
    pixels = read_image(path, channels)
    assert pixels.shape == (8, 12, channels) and pixels.dtype == np.uint8
    if kind == "gray" or channels == 3:
        green = pixels[..., 0] if kind == "gray" else pixels[..., 1]  # the 32768 channel
        assert np.abs(green.astype(int) - 128).max() <= 1, "32768 of 65535 must be about 0.5, not clipped or 0"
    if kind == "rgb" and channels == 3:
        assert pixels[..., 0].min() == 255 and pixels[..., 2].max() == 0  # red full scale, blue 0
    if kind == "rgb" and channels == 1:  # luminance of (1, 0.5, 0): 0.299 * 255 + 0.587 * 128 = 151
        assert abs(int(pixels.mean()) - 151) <= 2


def _gradient(mode: str) -> Image.Image:
    gray = Image.fromarray(np.linspace(0, 255, 16 * 16).reshape(16, 16).astype(np.uint8))
    if mode == "I;16":
        return Image.fromarray(np.asarray(gray).astype(np.uint16) * 257)
    return gray.convert(mode)


@pytest.mark.parametrize("channels", [1, 3])
def test_a_folder_of_mixed_modes_loads_as_the_configured_channels(tmp_path, channels):
    folder = tmp_path / "mixed"
    folder.mkdir()
    for mode in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
        _gradient(mode).save(folder / f"{mode.replace(';', '_')}.png")
    _gradient("CMYK").save(folder / "cmyk.jpg")
    _gradient("F").save(folder / "float.tif")
    domain = DomainFolder(folder, channels=channels)
    assert len(domain) == 9
    for index in range(len(domain)):
        image = domain[index]
        assert image.shape == (channels, 16, 16) and image.dtype == torch.float32
        assert image.min() >= -1 and image.max() <= 1
        name = domain.paths[index].name
        if name != "1.png":  # the 1-bit image is dithered; the others keep the gradient's full range
            assert image.min() < -0.8 and image.max() > 0.8, name


def test_images_smaller_than_the_crop_are_resized_up_with_a_warning(tiny_data, tiny_domains):
    thumb = tiny_domains / "trainA" / "thumb.png"
    Image.new("RGB", (10, 10), "red").save(thumb)
    crop_only = A.Compose([A.RandomCrop(16, 16)])  # would fail on a 10x10 image without the resize
    with pytest.warns(UserWarning, match=rf"1 of 7 images under {tiny_domains / 'trainA'} are smaller than crop_size "
                                         r"16 and are resized up \(blurry\): thumb.png \(10x10\)"):  # fmt: skip
        dm = tiny_data(tiny_domains, load_size=16, train_transform=crop_only, batch_size=7)
        dm.setup("fit")
    domain = dm.train_set.folders[0]
    assert domain[domain.paths.index(thumb)].shape == (3, 16, 16)
    real_a, _ = next(iter(dm.train_dataloader()))
    assert real_a.shape == (7, 3, 16, 16)


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


def _resume(model, ckpt: Path, datamodule, tmp_path: Path) -> str:
    trainer = Trainer(default_root_dir=tmp_path, max_steps=4, accelerator="cpu", logger=False,
                      enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)  # fmt: skip
    with pytest.raises(ValueError) as caught:
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt, weights_only=True)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 1500, "one line, not a state_dict dump"
    return message


WIDER_GENERATOR = partial(ResnetGenerator, base_channels=8, num_blocks=1)  # tiny_cyclegan's, 8 channels wide


def test_resuming_from_another_architecture_names_both(tiny_data, tiny_cyclegan, checkpoints, tmp_path):
    data = tiny_data(checkpoints["data"], load_size=32, crop_size=32)
    message = _resume(tiny_cyclegan(generator=WIDER_GENERATOR), checkpoints["cyclegan"], data, tmp_path)
    assert message.startswith("the checkpoint holds a CycleGAN that does not fit this CycleGAN")
    assert "generator.init_args.base_channels: checkpoint 4, config 8" in message
    assert "gen_ab.model.1.weight is (4, 3, 7, 7) there, (8, 3, 7, 7) here" in message


def test_resuming_from_another_model_names_both(tiny_data, tiny_cyclegan, checkpoints, tmp_path):
    data = tiny_data(checkpoints["data"], load_size=32, crop_size=32)
    message = _resume(tiny_cyclegan(), checkpoints["stargan"], data, tmp_path)
    assert message.startswith("the checkpoint holds a StarGAN that does not fit this CycleGAN")
    assert "generator.class_path: checkpoint StarGANGenerator, config ResnetGenerator" in message


def test_loading_another_architecture_in_python_names_both(tiny_cyclegan, checkpoints):
    with pytest.raises(ValueError, match="base_channels: checkpoint 4, config 8"):
        tiny_cyclegan(generator=WIDER_GENERATOR).on_load_checkpoint(
            torch.load(checkpoints["cyclegan"], weights_only=True)
        )
    tiny_cyclegan().on_load_checkpoint(torch.load(checkpoints["cyclegan"], weights_only=True))  # fits: no error


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


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES], ids=["read-only", "no-permission"])
@pytest.mark.parametrize("stage", ["create", "rename"])
def test_unwritable_checkpoint_folder_names_it_and_keeps_the_previous_checkpoint(
    tiny_cyclegan, tiny_data, checkpoints, tmp_path, monkeypatch, code, stage
):
    import translate.training.checkpoint_io
    from translate.training.checkpoint_io import AtomicCheckpointIO

    model = tiny_cyclegan()
    trainer = Trainer(default_root_dir=tmp_path, max_steps=2, accelerator="cpu", logger=False,
                      enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
                      plugins=[AtomicCheckpointIO()])  # fmt: skip
    datamodule = tiny_data(checkpoints["data"], load_size=32, crop_size=32)
    trainer.fit(model, datamodule=datamodule)
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    trainer.save_checkpoint(folder / "last.ckpt")
    before = (folder / "last.ckpt").read_bytes()

    def refuse(*args, **kwargs):  # as the OS refuses a new file or a rename in a read-only or forbidden folder
        raise OSError(code, os.strerror(code))

    # We run as root, where chmod does not stop writes: fail the call the way the OS would.
    if stage == "create":
        monkeypatch.setattr(translate.training.checkpoint_io.tempfile, "mkstemp", refuse)
    else:
        monkeypatch.setattr(translate.training.checkpoint_io.os, "replace", refuse)
    with pytest.raises(OSError, match=rf"could not write checkpoint {folder}/last.ckpt \({os.strerror(code)}\)"):
        trainer.save_checkpoint(folder / "last.ckpt")
    assert (folder / "last.ckpt").read_bytes() == before
    assert [p.name for p in folder.iterdir()] == ["last.ckpt"], "temporary file left behind"


def _fit_resume(tmp_path: Path, ckpt: Path, data: Path, *config: str) -> None:
    main(["fit", *config, f"--data.root={data}", f"--trainer.default_root_dir={tmp_path}", "--trainer.max_steps=4",
          "--trainer.fast_dev_run=false", "--trainer.limit_val_batches=0", f"--ckpt_path={ckpt}"])  # fmt: skip


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


def test_fit_writes_checkpoints_with_the_atomic_writer(tmp_path):
    from translate.training.checkpoint_io import AtomicCheckpointIO
    from translate.training.cli import TranslateCLI

    args = ["--config", QUICKSTART, *DEBUG, f"--trainer.default_root_dir={tmp_path}"]
    cli = TranslateCLI(model_class=None, datamodule_class=UnpairedDataModule, auto_configure_optimizers=False,
                       run=False, args=args)  # fmt: skip
    assert type(cli.trainer.strategy.checkpoint_io) is AtomicCheckpointIO


def test_fit_reports_our_own_errors_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", QUICKSTART, *DEBUG, f"--data.root={tmp_path / 'nowhere'}",
              f"--trainer.default_root_dir={tmp_path}"])  # fmt: skip
    message = str(exit_info.value.code)
    assert message.startswith("translate fit: error: ") and str(tmp_path / "nowhere") in message
    assert "\n" not in message and "Traceback" not in capsys.readouterr().err
