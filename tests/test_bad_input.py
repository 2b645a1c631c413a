"""Bad input, every command (#29): one table of what a new user gets wrong, run through the real commands.

Each row is a command line, the files it starts from, and what a user expects: ``works`` (exit 0, the named output
exists) or ``refused`` (a non-zero exit, and one message without a traceback that holds the row's words, naming the
file or option). For every row, no file that was there before (inputs, the checkpoint, earlier outputs) changes and no
temporary file is left. Most rows run in-process (``translate.cli.main``); a few run as a process, where the exit code,
the printed traceback or a signal is the point.

The table is the list users read: ``python -m tests.test_bad_input`` writes the "Bad input, by command" section of
docs/troubleshooting.md from it, and ``test_the_troubleshooting_page_lists_the_table`` checks they match.
"""

import errno
import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"
DOCS = REPO / "docs" / "troubleshooting.md"
BEGIN = "<!-- bad-input table: written by `python -m tests.test_bad_input` from tests/test_bad_input.py; edit there -->"
END = "<!-- end of the bad-input table -->"
TINY = "{cfg}/quickstart_official.yaml --config {cfg}/debug.yaml"  # the tiny CycleGAN of the shared checkpoint
FIT = f"fit --config {TINY} --data.source.root {{data}} --trainer.default_root_dir {{tmp}}/run"
PREDICT = "predict --ckpt {ckpt} --num-workers 0 --input {tmp}/in --output {tmp}/out"
FEATURES = "--feature-extractor tests.evaluation.tiny_features.TinyFeatures --device cpu"


@dataclass(frozen=True)
class Row:
    """One bad input. ``command`` is split on spaces after ``{tmp}`` (the row's folder), ``{ckpt}`` (the shared tiny
    CycleGAN), ``{data}`` (its training images) and ``{cfg}`` (configs/) are filled in; ``setup`` names the files the
    row starts from (SETUPS, in order); ``works`` the output that must exist, or ``says`` the refusal's words."""

    command: str
    what: str
    setup: tuple[str, ...] = ()
    works: str | None = None
    says: str | None = None
    fix: str = ""
    process: bool = False  # run as `python -m translate.cli`, not in-process
    shown: str | None = None  # the command as the docs show it, when not ``command`` less the test's plumbing


# --- the files a row starts from -----------------------------------------------------------------------------------


def _noise(width: int, height: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def _png_bytes(image: Image.Image, format_: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format_, **options)
    return buffer.getvalue()


def _image(name: str, make: Callable[[], bytes]) -> Callable[[Path, Path], None]:
    def write(tmp: Path, ckpt: Path) -> None:
        (tmp / "in").mkdir(exist_ok=True)
        (tmp / "in" / name).write_bytes(make())

    return write


def _exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display: a 24x16 file is a 16x24 photo
    return _png_bytes(_noise(24, 16), "JPEG", exif=exif)


def _gray16() -> bytes:
    return _png_bytes(Image.fromarray((np.arange(400).reshape(20, 20) * 150).astype(np.uint16)))


def _float_tiff() -> bytes:
    return _png_bytes(Image.fromarray(np.linspace(0, 1, 400, dtype=np.float32).reshape(20, 20)), "TIFF")


def _animated_gif() -> bytes:
    frames = [_noise(20, 20, seed).convert("P") for seed in range(3)]
    return _png_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def _link(name: str, target: str) -> Callable[[Path, Path], None]:
    def write(tmp: Path, ckpt: Path) -> None:
        (tmp / "in" / name).symlink_to(target, target_is_directory=True)

    return write


def _file(name: str, content: bytes | Callable[[Path], bytes]) -> Callable[[Path, Path], None]:
    def write(tmp: Path, ckpt: Path) -> None:
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_bytes(content(ckpt) if callable(content) else content)

    return write


def _other_architecture(ckpt: Path) -> bytes:
    """The shared checkpoint with its recorded generator 8 channels wide: weights and architecture disagree."""
    checkpoint = torch.load(ckpt, map_location="cpu", weights_only=True)
    checkpoint["hyper_parameters"]["generator"]["init_args"]["base_channels"] = 8
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return buffer.getvalue()


def _truncated_checkpoint(ckpt: Path) -> bytes:
    data = ckpt.read_bytes()
    return data[: len(data) // 2]


def _official_generator(num_blocks: int) -> Callable[[Path], bytes]:
    def make(ckpt: Path) -> bytes:
        from translate.networks import ResnetGenerator

        buffer = io.BytesIO()
        torch.save(ResnetGenerator(3, 3, num_blocks=num_blocks).state_dict(), buffer)
        return buffer.getvalue()

    return make


RANDOM = np.random.default_rng(29).bytes(4096)
SETUPS: dict[str, Callable[[Path, Path], None]] = {
    "good": _image("img.png", lambda: _png_bytes(_noise(20, 20))),
    "broken": _image("broken.png", lambda: RANDOM),
    "empty": _image("empty.png", lambda: b""),
    "truncated": _image("truncated.png", lambda: _png_bytes(_noise(64, 64))[:700]),
    "text": _image("notes.jpg", lambda: b"a shopping list, not a photo\n"),
    "cmyk": _image("cmyk.jpg", lambda: _png_bytes(_noise(20, 20).convert("CMYK"), "JPEG")),
    "gray16": _image("gray16.png", _gray16),
    "rgba": _image("rgba.png", lambda: _png_bytes(_noise(20, 20).convert("RGBA"))),
    "palette": _image("palette.png", lambda: _png_bytes(_noise(20, 20).convert("P"))),
    "1bit": _image("bits.png", lambda: _png_bytes(_noise(20, 20).convert("1"))),
    "float": _image("float.tif", _float_tiff),
    "gif": _image("moving.gif", _animated_gif),
    "exif": _image("rotated.jpg", _exif_rotated),
    "1x1": _image("dot.png", lambda: _png_bytes(_noise(1, 1))),
    "3x400": _image("sliver.png", lambda: _png_bytes(_noise(3, 400))),
    "spaces": _image("my holiday photo.png", lambda: _png_bytes(_noise(20, 20))),
    "unicode": _image("äpfel und りんご.png", lambda: _png_bytes(_noise(20, 20))),
    "sub": _file("in/sub/img.png", lambda ckpt: _png_bytes(_noise(20, 20))),
    "loop": _link("loop", "."),
    "two links": _link("first", "../elsewhere"),
    "second link": _link("second", "../elsewhere"),
    "elsewhere": _file("elsewhere/far.png", lambda ckpt: _png_bytes(_noise(20, 20))),
    "earlier output": _file("out/img.png", b"an earlier translation"),
    "random ckpt": _file("model.ckpt", RANDOM),
    "truncated ckpt": _file("model.ckpt", _truncated_checkpoint),
    "other ckpt": _file("model.ckpt", _other_architecture),
    "text ckpt": _file("model.ckpt", b"epoch: 10\n"),
    "bad yaml": _file("mine.yaml", b"model:\n  init_args:\n    lambda_cycle: [10,\n"),
    "tab yaml": _file("mine.yaml", b"data:\n\tbatch_size: 2\n"),
    "nan yaml": _file("mine.yaml", b"model:\n  init_args:\n    optimizer:\n      init_args: {lr: .nan}\n"),
    "model.onnx": _file("model.onnx", b"an earlier export"),
    "imported.ckpt": _file("imported.ckpt", b"an earlier import"),
    "eval.json": _file("eval/eval.json", b'{"earlier": true}'),
    "real": _file("real/a.png", lambda ckpt: _png_bytes(_noise(20, 20, 1))),
    "real 2": _file("real/b.png", lambda ckpt: _png_bytes(_noise(20, 20, 2))),
    "fake": _file("fake/a.png", lambda ckpt: _png_bytes(_noise(20, 20, 3))),
    "fake 2": _file("fake/b.png", lambda ckpt: _png_bytes(_noise(20, 20, 4))),
    "random weights": _file("weights.pth", RANDOM),
    "G 9 blocks": _file("G.pth", _official_generator(9)),
    "G 1 block": _file("G.pth", _official_generator(1)),
    "G_A of CycleGAN": _file("latest_net_G_A.pth", _official_generator(9)),
    "zip": _file(
        "served/horse2zebra.zip",
        lambda ckpt: _zip({f"horse2zebra/{split}/a.jpg": b"jpg" for split in ("trainA", "trainB", "testA", "testB")}),
    ),
    "corrupt zip": _file("served/horse2zebra.zip", b"PK\x03\x04" + RANDOM),
    "unsafe zip": _file("served/horse2zebra.zip", lambda ckpt: _zip({"../escaped.txt": b"x"})),
    "existing dataset": _file("datasets/horse2zebra/trainA/a.jpg", b"mine"),
}


def _zip(entries: dict[str, bytes]) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _full_disk(target: str) -> Callable[[pytest.MonkeyPatch], None]:
    """Writes through ``target`` (module.attribute) fail as on a full disk, after writing a few bytes."""

    def patch(monkeypatch: pytest.MonkeyPatch) -> None:
        owner, name = target.rsplit(".", 1)
        module = {"Image.Image": Image.Image, "torch": torch, "torch.onnx": torch.onnx, "Path": Path}[owner]

        def full(*args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(module, name, full)

    return patch


# Writes that fail as on a full disk (simulated in-process: no tmpfs here), by the setup name that asks for them.
FULL_DISK = {
    "full disk: images": _full_disk("Image.Image.save"),
    "full disk: torch.save": _full_disk("torch.save"),
    "full disk: onnx": _full_disk("torch.onnx.export"),
    "full disk: text": _full_disk("Path.write_text"),
}


# --- the table ---------------------------------------------------------------------------------------------------

SHIPPED = sorted(path.stem for path in CONFIGS.glob("*.yaml") if not path.stem.startswith("debug"))
CANNOT_DECODE = "the other images are written; fix or remove it and run again: only the failed files are redone"
PREDICT_WORKS = "nothing: it is converted (alpha dropped, 16-bit and float scaled, the first frame, EXIF upright)"

ROWS = {
    # predict: images
    "predict-ok": Row(PREDICT, "plain 20x20 PNG", ("good",), works="out/img.png"),
    "predict-broken": Row(
        PREDICT, "random bytes named .png beside a good image", ("good", "broken"),
        says="1 of 2 images could not be translated (first: {tmp}/in/broken.png: UnidentifiedImageError",
        fix=CANNOT_DECODE,
    ),
    "predict-empty": Row(
        PREDICT, "an empty .png", ("good", "empty"), says="(first: {tmp}/in/empty.png: UnidentifiedImageError",
        fix=CANNOT_DECODE,
    ),
    "predict-truncated": Row(
        PREDICT, "a truncated PNG (an interrupted copy)", ("good", "truncated"),
        says="(first: {tmp}/in/truncated.png: OSError: image file is truncated)", fix=CANNOT_DECODE,
    ),
    "predict-text": Row(
        PREDICT, "a text file named .jpg", ("good", "text"),
        says="(first: {tmp}/in/notes.jpg: UnidentifiedImageError", fix=CANNOT_DECODE,
    ),
    "predict-cmyk": Row(PREDICT, "a CMYK JPEG", ("cmyk",), works="out/cmyk.jpg", fix=PREDICT_WORKS),
    "predict-16bit": Row(PREDICT, "a 16-bit grayscale PNG", ("gray16",), works="out/gray16.png", fix=PREDICT_WORKS),
    "predict-rgba": Row(PREDICT, "an RGBA PNG", ("rgba",), works="out/rgba.png", fix=PREDICT_WORKS),
    "predict-palette": Row(PREDICT, "a palette PNG", ("palette",), works="out/palette.png", fix=PREDICT_WORKS),
    "predict-1bit": Row(PREDICT, "a 1-bit PNG", ("1bit",), works="out/bits.png", fix=PREDICT_WORKS),
    "predict-float-tiff": Row(PREDICT, "a float (mode F) TIFF", ("float",), works="out/float.tif", fix=PREDICT_WORKS),
    "predict-animated-gif": Row(
        PREDICT, "an animated GIF", ("gif",), works="out/moving.png", says="writing the .gif inputs as .png",
        fix=PREDICT_WORKS,
    ),
    "predict-exif": Row(
        PREDICT, "a JPEG rotated by its EXIF orientation", ("exif",), works="out/rotated.jpg", fix=PREDICT_WORKS,
    ),
    "predict-1x1": Row(
        PREDICT, "a 1x1 image", ("good", "1x1"), says="dot.png: 1x1 is too small; resize it to at least 5x5",
        fix="resize it, or leave it out: the other images are translated",
    ),
    "predict-3x400": Row(
        PREDICT, "a 3x400 sliver", ("good", "3x400"), says="sliver.png: 3x400 is too small",
        fix="resize it, or leave it out: the other images are translated",
    ),
    "predict-spaces": Row(PREDICT, "a file name with spaces", ("spaces",), works="out/my holiday photo.png"),
    "predict-unicode": Row(PREDICT, "a non-ASCII file name", ("unicode",), works="out/äpfel und りんご.png"),
    # predict: folders and outputs
    "predict-symlink-loop": Row(
        PREDICT, "a folder symlink looping back into --input (in/loop -> in)", ("good", "loop"), works="out/img.png",
        says="skipping {tmp}/in/loop under {tmp}/in: it leads to a folder already read",
        fix="nothing: each folder is read once, by its shortest path (one warning names the links)",
    ),
    "predict-two-links": Row(
        PREDICT, "two symlinks to one folder", ("good", "elsewhere", "two links", "second link"),
        works="out/first/far.png", says="skipping {tmp}/in/second under {tmp}/in",
        fix="nothing: the folder is read once, under the first link",
    ),
    "predict-output-inside-input": Row(
        "predict --ckpt {ckpt} --num-workers 0 --input {tmp}/in --output {tmp}/in/out", "--output inside --input",
        ("good",), says="--output {tmp}/in/out is inside --input {tmp}/in", fix="choose a folder outside the input",
    ),
    "predict-output-is-input": Row(
        "predict --ckpt {ckpt} --num-workers 0 --input {tmp}/in --output {tmp}/in", "--output is --input", ("good",),
        says="--output {tmp}/in is inside --input {tmp}/in", fix="choose a folder outside the input",
    ),
    "predict-existing-output": Row(
        PREDICT, "outputs from an earlier run, without --overwrite", ("good", "earlier output"), works="out/img.png",
        says="skipping 1 of 1 images already translated",
        fix="nothing: they are kept; --overwrite translates them again",
    ),
    "predict-file-output-for-folder": Row(
        "predict --ckpt {ckpt} --num-workers 0 --input {tmp}/in --output {tmp}/out.png",
        "--output out.png for a folder", ("good",),
        says="--output {tmp}/out.png is an image file name, for one input image", fix="pass a folder as --output",
    ),
    "predict-full-disk": Row(
        PREDICT, "a full disk", ("good", "full disk: images"), says="No space left on device",
        fix="free space and run again: what was written is kept and skipped",
    ),
    "predict-missing-input": Row(
        "predict --ckpt {ckpt} --input {tmp}/nope --output {tmp}/out", "--input that does not exist", (),
        says="--input {tmp}/nope not found", fix="check the path (the message shows where it looked)",
    ),
    # predict: checkpoints and options
    "predict-random-ckpt": Row(
        "predict --ckpt {tmp}/model.ckpt --input {tmp}/in --output {tmp}/out", "a checkpoint of random bytes",
        ("good", "random ckpt"),
        says="model.ckpt is not a readable PyTorch checkpoint (its bytes are no format PyTorch writes)",
        fix="pass a .ckpt written by translate fit or import",
    ),
    "predict-truncated-ckpt": Row(
        "predict --ckpt {tmp}/model.ckpt --input {tmp}/in --output {tmp}/out", "a truncated checkpoint",
        ("good", "truncated ckpt"),
        says="model.ckpt is not a readable PyTorch checkpoint (a zip archive that is truncated",
        fix="copy or download it again",
    ),
    "predict-text-ckpt": Row(
        "predict --ckpt {tmp}/model.ckpt --input {tmp}/in --output {tmp}/out", "a text file as checkpoint",
        ("good", "text ckpt"), says="model.ckpt is not a readable PyTorch checkpoint (it is a text file)",
        fix="pass the .ckpt, not its notes",
    ),
    "predict-wrong-architecture": Row(
        "predict --ckpt {tmp}/model.ckpt --input {tmp}/in --output {tmp}/out",
        "a checkpoint whose weights are not its recorded networks'", ("good", "other ckpt"),
        says="checkpoint {tmp}/model.ckpt: the checkpoint holds a CycleGAN that does not fit this CycleGAN",
        fix="use another checkpoint",
    ),
    "predict-missing-ckpt": Row(
        "predict --ckpt {tmp}/nope.ckpt --input {tmp}/in --output {tmp}/out", "a checkpoint that does not exist",
        ("good",), says="checkpoint {tmp}/nope.ckpt does not exist", fix="pass the .ckpt file or its run folder",
    ),
    "predict-direction-typo": Row(
        f"{PREDICT} --direction ab", "--direction ab", ("good",), says="argument --direction: invalid choice: 'ab'",
        fix="a2b or b2a",
    ),
    "predict-batch-size-type": Row(
        f"{PREDICT} --batch-size two", "--batch-size two", ("good",),
        says="argument --batch-size/--batch_size: invalid int value: 'two'", fix="a whole number",
    ),
    "predict-option-typo": Row(
        "predict --ckpt {ckpt} --input {tmp}/in --ouput {tmp}/out", "--ouput (a typo)", ("good",),
        says="the following arguments are required: --output", fix="--help lists the options",
    ),
    "predict-stargan-flag": Row(
        f"{PREDICT} --target-domain B", "--target-domain on a CycleGAN", ("good",),
        says="--target-domain, --attrs and --grid are for StarGAN checkpoints", fix="CycleGANs take --direction",
    ),
    # fit
    "fit-crop-over-load": Row(
        f"{FIT} --data.crop_size 64 --data.load_size 32", "crop_size larger than load_size",
        says="data.load_size: load_size (32) must be >= crop_size (64)", fix="load_size >= crop_size", process=True,
    ),
    "fit-option-typo": Row(
        f"{FIT} --data.batchsize 2", "--data.batchsize (a typo)",
        says="data.batchsize: ImageDataModule has no option 'batchsize'; did you mean 'batch_size'?",
        fix="the name it suggests",
    ),
    "fit-wrong-type": Row(
        f"{FIT} --trainer.max_epochs ten", "--trainer.max_epochs ten",
        says="trainer.max_epochs: Expected a <class 'int'>", fix="a number",
    ),
    "fit-yaml-error": Row(
        f"{FIT} --config {{tmp}}/mine.yaml", "a config with an unclosed bracket", ("bad yaml",),
        says="--config {tmp}/mine.yaml is not valid YAML (line 4, column 1: expected the node content",
        fix="fix the YAML at that line",
    ),
    "fit-yaml-tab": Row(
        f"{FIT} --config {{tmp}}/mine.yaml", "a config indented with a tab", ("tab yaml",),
        says="--config {tmp}/mine.yaml is not valid YAML (line 2, column 1: found character '\\t'",
        fix="indent with spaces",
    ),
    "fit-missing-config": Row(
        f"{FIT} --config {{tmp}}/nope.yaml", "a config that does not exist",
        says="config: File does not exist: '{tmp}/nope.yaml'", fix="check the path",
    ),
    "fit-nan-lr": Row(
        f"{FIT} --config {{tmp}}/mine.yaml", "a NaN learning rate (lr: .nan)", ("nan yaml",),
        says="model.init_args.optimizer (Adam): Invalid learning rate: nan", fix="a positive learning rate",
    ),
    "fit-nan-lr-typed": Row(
        f"{FIT} --model.init_args.optimizer.init_args.lr nan", "--model.init_args.optimizer.init_args.lr nan",
        says="model.init_args.optimizer.init_args.lr: Expected a <class 'float'>", fix="a positive number",
    ),
    "fit-negative-epochs": Row(
        f"{FIT} --trainer.max_epochs -5", "--trainer.max_epochs -5",
        says="trainer: `max_epochs` must be a non-negative integer or -1", fix="a number of epochs",
    ),
    "fit-missing-data": Row(
        f"fit --config {TINY} --data.source.root {{tmp}}/nowhere --trainer.default_root_dir {{tmp}}/run",
        "a data.source.root that does not exist", says="dataset root not found: {tmp}/nowhere",
        fix="point data.source.root at your images",
    ),
    "fit-old-data-root": Row(
        f"fit --config {TINY} --data.root {{data}} --trainer.default_root_dir {{tmp}}/run",
        "--data.root (the old spelling)",
        says="data.root is the old spelling: write data.source.init_args.root, e.g. data.source: {{class_path: "
        "DomainFolders, init_args: {{root: DIR}}}}", fix="the spelling it names",
    ),
    "fit-old-pairing": Row(
        f"{FIT} --data.pairing aligned", "--data.pairing aligned (the old spelling)",
        says="data.pairing is the old spelling: write the source's class: data.source: {{class_path: AlignedPairs}}",
        fix="the source class it names",
    ),
    "fit-unknown-source": Row(
        f"{FIT} --data.source Folders", "--data.source Folders (no such source)",
        says="data.source: no data source 'Folders'; the sources: DomainFolders, AttributeFile", fix="one it lists",
    ),
    "fit-source-option-typo": Row(
        f"{FIT} --data.source.chanels 1", "--data.source.chanels (a typo)",
        says="data.source.chanels: DomainFolders has no option 'chanels'; did you mean 'channels'?",
        fix="the name it suggests",
    ),
    "fit-source-bad-value": Row(
        f"{FIT} --data.source.channels 2", "--data.source.channels 2",
        says="data.source.init_args.channels: 2 is not one of 1, 3", fix="1 or 3",
    ),
    "fit-source-wrong-layout": Row(
        f"{FIT} --data.source AlignedPairs", "AlignedPairs on folders of domains (trainA, trainB)",
        says="holds the unpaired layout (trainA, trainB), not the aligned one AlignedPairs reads", fix="MatchedPairs",
    ),
    "fit-random-resume": Row(
        f"{FIT} --ckpt_path {{tmp}}/model.ckpt", "--ckpt_path of random bytes", ("random ckpt",),
        says="{tmp}/model.ckpt is not a readable PyTorch checkpoint (its bytes are no format PyTorch writes)",
        fix="resume from a last.ckpt",
    ),
    "fit-truncated-resume": Row(
        f"{FIT} --ckpt_path {{tmp}}/model.ckpt", "--ckpt_path of a truncated checkpoint", ("truncated ckpt",),
        says="model.ckpt is not a readable PyTorch checkpoint (a zip archive that is truncated", fix="copy it again",
    ),
    "fit-other-architecture-resume": Row(
        f"{FIT} --ckpt_path {{ckpt}} --model.init_args.generator.init_args.base_channels 8",
        "--ckpt_path of a checkpoint with other networks than the config",
        says="with other networks than the config (generator.init_args.base_channels: checkpoint 4, config 8)",
        fix="the config it was trained with",
    ),
    "fit-skip-levels": Row(
        "fit --config {cfg}/travelgan_quickstart.yaml --model.init_args.generator.init_args.skip_levels 5 "
        "--data.source.root {data} --trainer.default_root_dir {tmp}/run", "a U-Net skip_levels beyond its depth",
        says="model.init_args.generator.init_args.skip_levels: skip_levels must be between 0 and num_downs - 1 = 2",
        fix="0 to num_downs - 1", shown="fit --config configs/travelgan_quickstart.yaml "
        "--model.init_args.generator.init_args.skip_levels 5",
    ),
    "fit-residual-typed": Row(
        "fit --config {cfg}/travelgan_quickstart.yaml --model.init_args.generator.init_args.residual maybe "
        "--data.source.root {data} --trainer.default_root_dir {tmp}/run",
        "--model.init_args.generator.init_args.residual maybe",
        says="model.init_args.generator.init_args.residual", fix="true or false",
        shown="fit --config configs/travelgan_quickstart.yaml --model.init_args.generator.init_args.residual maybe",
    ),
    "fit-identity-typed": Row(
        "fit --config {cfg}/travelgan_quickstart.yaml --model.init_args.lambda_identity five --data.source.root {data} "
        "--trainer.default_root_dir {tmp}/run", "--model.init_args.lambda_identity five",
        says="model.init_args.lambda_identity: Expected a <class 'float'>", fix="a number (0: off)",
        shown="fit --config configs/travelgan_quickstart.yaml --model.init_args.lambda_identity five",
    ),
    "fit-diffaugment-word": Row(
        f"{FIT} --model.init_args.diffaugment color,flip", "a DiffAugment policy with a word that is not one",
        says="model.init_args.diffaugment: diffaugment 'color,flip': unknown word 'flip'; give comma-separated words "
        "from color, translation, cutout", fix="color, translation and cutout, comma-separated (or null: none)",
        shown="fit --config configs/quickstart.yaml --model.init_args.diffaugment color,flip",
    ),
    "fit-identity-schedule-endless": Row(
        f"{FIT} --model.init_args.lambda_identity_end 0 --trainer.fast_dev_run false --trainer.max_epochs -1",
        "an identity weight schedule (lambda_identity_end) on a run of no length",
        says="lambda_identity_end changes a weight over the run, but trainer.max_steps and trainer.max_epochs are "
        "both -1 (no length)", fix="set trainer.max_steps or trainer.max_epochs",
        shown="fit --config configs/quickstart.yaml --model.init_args.lambda_identity_end 0 --trainer.max_epochs -1",
    ),
    "fit-dclgan-mode": Row(
        "fit --config {cfg}/dclgan_quickstart.yaml --model.init_args.mode cut --data.source.root {data} "
        "--trainer.default_root_dir {tmp}/run", "a DCLGAN mode that is not one",
        says="model.init_args.mode: cut is not one of 'dcl', 'simdcl'", fix="dcl (DCLGAN) or simdcl (SimDCL)",
        shown="fit --config configs/dclgan_quickstart.yaml --model.init_args.mode cut",
    ),
    "fit-dclgan-negative-weight": Row(
        "fit --config {cfg}/dclgan_quickstart.yaml --model.init_args.lambda_nce -1 --data.source.root {data} "
        "--trainer.default_root_dir {tmp}/run", "a negative loss weight (lambda_nce -1)",
        says="model.init_args.lambda_nce: lambda_nce must be a number >= 0, got -1.0", fix="a weight >= 0 (0: off)",
        shown="fit --config configs/dclgan_quickstart.yaml --model.init_args.lambda_nce -1",
    ),
    "fit-dclgan-heads-betas": Row(
        "fit --config {cfg}/dclgan_quickstart.yaml --model.init_args.heads_betas 0.9 --data.source.root {data} "
        "--trainer.default_root_dir {tmp}/run", "one number for the heads' Adam betas",
        says="model.init_args.heads_betas: Expected a <class 'tuple'>", fix="two numbers: [0.9, 0.999]",
        shown="fit --config configs/dclgan_quickstart.yaml --model.init_args.heads_betas 0.9",
    ),
    "fit-qsattn-mode": Row(
        "fit --config {cfg}/qsattn_quickstart.yaml --model.init_args.qs_attn random --data.source.root {data} "
        "--trainer.default_root_dir {tmp}/run", "a QS-Attn mode that is not one",
        says="model.init_args.qs_attn: random is not one of", fix="global (official), local or none (CUT's sampler)",
        shown="fit --config configs/qsattn_quickstart.yaml --model.init_args.qs_attn random",
    ),
    "fit-qsattn-layers": Row(
        "fit --config {cfg}/qsattn_quickstart.yaml --model.init_args.nce_layers [0,4,8] --data.source.root {data} "
        "--trainer.default_root_dir {tmp}/run", "QS-Attn with three nce_layers or fewer",
        says="qs_attn attends on the 4th and later nce_layers (official 12, 16), got 3 layers",
        fix="five layers, as CUT's 0, 4, 8, 12, 16 (or qs_attn none)",
        shown="fit --config configs/qsattn_quickstart.yaml --model.init_args.nce_layers [0,4,8]",
    ),
    "fit-monce-cost": Row(
        "fit --config {cfg}/monce_quickstart.yaml --model.init_args.monce_cost soft --data.source.root {data} "
        "--trainer.default_root_dir {tmp}/run", "a MoNCE cost that is not one",
        says="model.init_args.monce_cost: soft is not one of",
        fix="hard (official: harder negatives weigh more) or easy",
        shown="fit --config configs/monce_quickstart.yaml --model.init_args.monce_cost soft",
    ),
    "fit-monce-epsilon": Row(
        "fit --config {cfg}/monce_quickstart.yaml --model.init_args.monce_epsilon 0 --data.source.root {data} "
        "--trainer.default_root_dir {tmp}/run", "MoNCE's epsilon 0",
        says="monce_epsilon and monce_negative_weight must be > 0, got 0.0, 1.0", fix="a number > 0 (official 0.1)",
        shown="fit --config configs/monce_quickstart.yaml --model.init_args.monce_epsilon 0",
    ),
    "fit-sigterm": Row(
        f"{FIT} --trainer.fast_dev_run false --trainer.max_epochs 1000 --trainer.limit_val_batches 0 "
        f"--trainer.callbacks+=translate.training.callbacks.SaveOnInterrupt",
        "SIGTERM mid-fit (a cancelled job)", works="run/checkpoints/last.ckpt", says="interrupted at step",
        fix="resume with --ckpt_path run/checkpoints/last.ckpt", process=True,
    ),
    # eval
    "eval-folders": Row(
        f"eval --real {{tmp}}/real --fake {{tmp}}/fake --output {{tmp}}/eval {FEATURES}",
        "two folders of two images each", ("real", "real 2", "fake", "fake 2"), works="eval/eval.json",
        says="is biased upwards",
    ),
    "eval-random-weights": Row(
        "eval --real {tmp}/real --fake {tmp}/fake --output {tmp}/eval --device cpu --inception-weights "
        "{tmp}/weights.pth",
        "--inception-weights of random bytes", ("real", "real 2", "fake", "fake 2", "random weights"),
        says="--inception-weights {tmp}/weights.pth is not the Inception the cut protocol loads",
        fix="download the URL it names",
    ),
    "eval-scale-without-ckpt": Row(
        f"eval --real {{tmp}}/real --fake {{tmp}}/fake --output {{tmp}}/eval --scale training {FEATURES}",
        "--scale with two folders (it chooses how a checkpoint translates)", ("real", "real 2", "fake", "fake 2"),
        says="--direction, --target-domain, --fake-size and --scale are for --ckpt", fix="drop --scale, or pass --ckpt",
    ),
    "eval-scale-typo": Row(
        f"eval --real {{tmp}}/real --fake {{tmp}}/fake --output {{tmp}}/eval --scale train {FEATURES}",
        "--scale train (a typo)", ("real", "real 2", "fake", "fake 2"),
        says="argument --scale: invalid choice: 'train'", fix="auto, native or training",
    ),
    "eval-existing-report": Row(
        f"eval --real {{tmp}}/real --fake {{tmp}}/fake --output {{tmp}}/eval {FEATURES}",
        "an earlier eval.json in --output", ("real", "real 2", "fake", "fake 2", "eval.json"),
        says="--output {tmp}/eval holds eval.json of a previous evaluation; pass --overwrite",
        fix="--overwrite, or another --output",
    ),
    "eval-full-disk": Row(
        f"eval --real {{tmp}}/real --fake {{tmp}}/fake --output {{tmp}}/eval --overwrite {FEATURES}", "a full disk",
        ("real", "real 2", "fake", "fake 2", "eval.json", "full disk: text"),
        says="cannot write {tmp}/eval/eval.json (No space left on device); nothing was replaced", fix="free space",
    ),
    "eval-missing-folder": Row(
        f"eval --real {{tmp}}/nope --fake {{tmp}}/fake --output {{tmp}}/eval {FEATURES}",
        "--real that does not exist", ("fake",), says="{tmp}/nope is not a folder of images", fix="check the path",
    ),
    "eval-ckpt-without-config": Row(
        "eval --ckpt {ckpt}", "--ckpt without --config", says="--ckpt needs --config CONFIG",
        fix="the training config",
    ),
    # sample
    "sample-translation-model": Row(
        "sample --ckpt {ckpt} --num 2 --output {tmp}/out", "a CycleGAN checkpoint (not a noise model)",
        says="holds a CycleGAN, which translates images rather than making them from noise: use `translate predict`",
        fix="translate predict",
    ),
    "sample-random-ckpt": Row(
        "sample --ckpt {tmp}/model.ckpt --num 2 --output {tmp}/out", "a checkpoint of random bytes", ("random ckpt",),
        says="{tmp}/model.ckpt is not a readable PyTorch checkpoint (its bytes are no format PyTorch writes)",
        fix="pass a .ckpt written by translate fit",
    ),
    "sample-negative-num": Row(
        "sample --ckpt {ckpt} --num -1 --output {tmp}/out", "--num -1", says="--num must be >= 0, got -1",
        fix="a count",
    ),
    "sample-num-type": Row(
        "sample --ckpt {ckpt} --num many --output {tmp}/out", "--num many",
        says="argument --num: invalid int value: 'many'", fix="a count",
    ),
    # export
    "export-works": Row("export --ckpt {ckpt} --output {tmp}/model.onnx", "a plain export", works="model.onnx"),
    "export-existing": Row(
        "export --ckpt {ckpt} --output {tmp}/model.onnx", "--output exists, without --overwrite", ("model.onnx",),
        says="--output {tmp}/model.onnx exists; pass --overwrite", fix="--overwrite, or another name",
    ),
    "export-full-disk": Row(
        "export --ckpt {ckpt} --output {tmp}/model.onnx --overwrite", "a full disk",
        ("model.onnx", "full disk: onnx"),
        says="cannot write {tmp}/model.onnx (No space left on device); nothing was replaced", fix="free space",
    ),
    "export-random-ckpt": Row(
        "export --ckpt {tmp}/model.ckpt --output {tmp}/model.onnx", "a checkpoint of random bytes", ("random ckpt",),
        says="{tmp}/model.ckpt is not a readable PyTorch checkpoint (its bytes are no format PyTorch writes)",
        fix="pass a .ckpt written by translate fit",
    ),
    "export-format-typo": Row(
        "export --ckpt {ckpt} --format onx --output {tmp}/model.onnx", "--format onx",
        says="argument --format: invalid choice: 'onx'", fix="onnx or torchscript",
    ),
    "export-output-folder": Row(
        "export --ckpt {ckpt} --output {tmp}", "--output is a folder",
        says="--output {tmp} is a folder; name the file to write", fix="a file name",
    ),
    # import
    "import-random": Row(
        "import --g-ab {tmp}/model.ckpt --output {tmp}/imported.ckpt", "--g-ab of random bytes", ("random ckpt",),
        says="model.ckpt is not an official generator file (its bytes are no format PyTorch writes)",
        fix="the official latest_net_G_A.pth",
    ),
    "import-truncated": Row(
        "import --g-ab {tmp}/model.ckpt --output {tmp}/imported.ckpt", "a truncated --g-ab", ("truncated ckpt",),
        says="model.ckpt is not an official generator file (a zip archive that is truncated", fix="download it again",
    ),
    "import-wrong-architecture": Row(
        "import --g-ab {tmp}/G.pth --output {tmp}/imported.ckpt", "a generator of another architecture than --netG",
        ("G 1 block",), says="{tmp}/G.pth does not match this generator: missing [",
        fix="--netG, --norm and --channels as trained",
    ),
    "import-existing": Row(
        "import --g-ab {tmp}/G.pth --output {tmp}/imported.ckpt", "--output exists, without --overwrite",
        ("imported.ckpt",), says="--output {tmp}/imported.ckpt exists; pass --overwrite",
        fix="--overwrite, or another name",
    ),
    "import-full-disk": Row(
        "import --g-ab {tmp}/G.pth --output {tmp}/imported.ckpt --overwrite", "a full disk",
        ("G 9 blocks", "imported.ckpt", "full disk: torch.save"),
        says="could not write checkpoint {tmp}/imported.ckpt (No space left on device); the previous file is "
             "unchanged",
        fix="free space",
    ),
    "import-missing": Row(
        "import --g-ab {tmp}/nope.pth --output {tmp}/imported.ckpt", "--g-ab that does not exist",
        says="generator file not found: {tmp}/nope.pth", fix="check the path",
    ),
    "import-dclgan-name": Row(
        "import --dclgan {tmp}/G.pth --output {tmp}/imported.ckpt",
        "--dclgan of a file not named as G_A (latest_net_G_A.pth)", ("G 9 blocks",),
        says="{tmp}/G.pth: expected the official <epoch>_net_G_A.pth (or its folder)",
        fix="the run's latest_net_G_A.pth, with G_B (D_A, D_B, F1, F2, ...) beside it",
    ),
    "import-dclgan-cyclegan": Row(
        "import --dclgan {tmp}/latest_net_G_A.pth --output {tmp}/imported.ckpt", "--dclgan of a CycleGAN generator",
        ("G_A of CycleGAN",), says="has strided convs (a CycleGAN generator or DCLGAN --no_antialias): import it "
        "with --g-ab", fix="--g-ab (and --g-ba) for CycleGAN files",
    ),
    # data
    "data-works": Row(
        "data download horse2zebra --root {tmp}/datasets --base-url={url}", "a download", ("zip",),
        works="datasets/horse2zebra/trainA/a.jpg",
    ),
    "data-unknown-name": Row(
        "data download horse2zebr --root {tmp}/datasets", "a dataset name with a typo",
        says="argument NAME: invalid choice: 'horse2zebr'", fix="translate data download --help lists them",
    ),
    "data-paired-unpaired": Row(
        "data download horse2zebra --paired --root {tmp}/datasets", "--paired on an unpaired dataset",
        says="horse2zebra is a CycleGAN (unpaired) dataset: drop --paired", fix="drop --paired",
    ),
    "data-corrupt-zip": Row(
        "data download horse2zebra --root {tmp}/datasets --base-url={url}", "a corrupt archive", ("corrupt zip",),
        says="{tmp}/datasets/horse2zebra.zip is not a valid zip archive (File is not a zip file); delete it",
        fix="delete it and download again",
    ),
    "data-unsafe-zip": Row(
        "data download horse2zebra --root {tmp}/datasets --base-url={url}", "an archive with a ../ entry",
        ("unsafe zip",), says="unsafe entry '../escaped.txt'", fix="not the official archive: nothing was written",
    ),
    "data-existing": Row(
        "data download horse2zebra --root {tmp}/datasets --base-url={url}", "files already there, without --force",
        ("zip", "existing dataset"),
        says="1 files from horse2zebra.zip already exist (first: {tmp}/datasets/horse2zebra/trainA/a.jpg); pass "
             "--force",
        fix="--force replaces them",
    ),
    # serve
    "serve-port": Row(
        "serve --ckpt {ckpt} --port 70000", "--port 70000", says="--port must be 1 to 65535, got 70000",
        fix="a port from 1 to 65535",
    ),
    "serve-random-ckpt": Row(
        "serve --ckpt {tmp}/model.ckpt", "a checkpoint of random bytes", ("random ckpt",),
        says="{tmp}/model.ckpt is not a readable PyTorch checkpoint (its bytes are no format PyTorch writes)",
        fix="pass a .ckpt written by translate fit",
    ),
    "serve-max-batch": Row(
        "serve --ckpt {ckpt} --max-batch 0", "--max-batch 0", says="--max-batch must be >= 1, got 0", fix="1 or more",
    ),
    "serve-missing-onnx": Row(
        "serve --onnx {tmp}/nope.onnx", "an ONNX file that does not exist",
        says="ONNX file {tmp}/nope.onnx does not exist", fix="check the path",
    ),
} | {
    f"fit-constructor-{name}": Row(
        f"fit --config {{cfg}}/{name}.yaml --model.init_args.generator.init_args.base_channels 0 "
        "--data.source.root {data} --trainer.default_root_dir {tmp}/run",
        "an impossible constructor argument (base_channels 0) in each shipped config",
        says="model.init_args.generator.init_args.base_channels: ",
        fix="the value the message asks for",
        shown="fit --config configs/CONFIG.yaml --model.init_args.generator.init_args.base_channels 0",
    )
    for name in SHIPPED
}  # fmt: skip


# --- running a row -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared(checkpoints) -> dict[str, Path]:
    """The tiny CycleGAN every row uses (conftest's, trained once per session by `translate fit` on
    quickstart_official.yaml
    + debug.yaml) and its training images."""
    return {"ckpt": checkpoints["cyclegan"], "data": checkpoints["data"]}


def _hashes(*roots: Path) -> dict[Path, str]:
    """Every file under ``roots`` (symlinked folders not followed: a loop is a loop) -> its SHA-256."""
    found = {}
    for root in roots:
        paths = [root] if root.is_file() else [Path(p, f) for p, _, files in os.walk(root) for f in files]
        found |= {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in paths if path.is_file()}
    return found


def _in_process(args: list[str], capsys, caplog) -> tuple[int, str]:
    """Exit code and everything said (the exit message, stderr, stdout, translate's log); any other exception than
    SystemExit propagates: that is a traceback, and the row fails."""
    from translate.cli import main

    try:
        main(args)
        code, message = 0, ""
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        message = "" if isinstance(exit_.code, int) or exit_.code is None else str(exit_.code)
    captured = capsys.readouterr()
    return code, "\n".join([message, captured.err, captured.out, caplog.text])


def _process(args: list[str], tmp: Path, sigterm: bool) -> tuple[int, str]:
    """``python -m translate.cli ARGS``; with ``sigterm``, SIGTERM once the run has written its first sample grid."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "translate.cli", *args]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        if sigterm:
            deadline = time.monotonic() + 180
            while not list(tmp.glob("run/samples/*.png")) and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
            process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=300)
    return process.returncode, err + out


@pytest.mark.parametrize("name", list(ROWS))
def test_bad_input(name, shared, tmp_path, monkeypatch, capsys, caplog, request):
    row = ROWS[name]
    for setup in (s for s in row.setup if s not in FULL_DISK):
        SETUPS[setup](tmp_path, shared["ckpt"])
    values = {"tmp": tmp_path, "ckpt": shared["ckpt"], "data": shared["data"], "cfg": CONFIGS}
    if "{url}" in row.command:  # translate data: a local server holds the row's archives
        server = request.getfixturevalue("server")
        server.files |= {f"/{path.name}": path.read_bytes() for path in (tmp_path / "served").glob("*")}
        values["url"] = server.url
    args = [part.format(**values) for part in row.command.split(" ")]
    before = _hashes(tmp_path, shared["data"], shared["ckpt"])
    caplog.set_level("WARNING", logger="translate")
    with monkeypatch.context() as patched:
        for setup in (s for s in row.setup if s in FULL_DISK):
            FULL_DISK[setup](patched)
        if row.process:
            code, said = _process(args, tmp_path, sigterm="SIGTERM" in row.what)
        else:
            code, said = _in_process(args, capsys, caplog)
    after = _hashes(tmp_path, shared["data"], shared["ckpt"])
    assert [path for path, digest in before.items() if after.get(path) != digest] == [], "an input or output changed"
    assert not [path for path in tmp_path.rglob("*") if path.name.endswith(".partial")], "a temporary file is left"
    assert "Traceback" not in said, said
    if row.says is not None:
        assert row.says.format(**values) in said, said
    if row.works is not None:
        assert code == 0, said
        output = tmp_path / row.works.format(**values)
        assert output.exists(), said
        if output.suffix == ".ckpt":  # SIGTERM's last.ckpt: a checkpoint predict and a resume load
            from translate.inference.loading import load_model

            load_model(output)
    else:
        assert code != 0, said


# --- the table as docs/troubleshooting.md shows it -----------------------------------------------------------------

PLUMBING = (" --num-workers 0", f" {FEATURES}", " --base-url={url}", " --trainer.default_root_dir {tmp}/run",
            " --data.source.root {data}", " --device cpu")  # fmt: skip


def _shown(text: str) -> str:
    """A row's command or message as a user would type or read it: paths relative to the folder it runs in."""
    for plumbing in PLUMBING:
        text = text.replace(plumbing, "")
    for placeholder, shown in (("{tmp}/", ""), ("{tmp}", "."), ("{ckpt}", "last.ckpt"), ("{cfg}", "configs")):
        text = text.replace(placeholder, shown)
    return text.replace("{{", "{").replace("}}", "}").replace("|", "\\|")  # format()'s escaped braces


def _code(text: str) -> str:
    """Markdown inline code, with double backticks around text that holds one."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def table() -> str:
    """The docs section: every row once (the shipped configs' constructor rows as one), in the table's order."""
    lines = [
        "## Bad input, by command",
        "",
        "What `tests/test_bad_input.py` runs, from these files: `in/` your images, `out/` the output, `last.ckpt` a "
        "checkpoint `translate fit` wrote. *works*: exit code 0 and the output is there (a warning may say what was "
        "done); *refused*: a non-zero exit code and one line naming the file or option, without a traceback. Either "
        "way no input and no earlier output is changed, and no temporary file is left.",
        "",
        "| command | what is wrong | outcome | what you see | what to do |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in ROWS.values():
        outcome = "refused" if row.works is None else ("works, with a warning" if row.says else "works")
        said = _code(_shown(row.says)) if row.says else ""
        command = _code("translate " + _shown(row.shown or row.command))
        line = f"| {command} | {row.what} | {outcome} | {said} | {row.fix} |"
        if line not in lines:
            lines.append(line)
    return "\n".join([BEGIN, *lines, END]) + "\n"


def test_the_troubleshooting_page_lists_the_table():
    text = DOCS.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, "run `python -m tests.test_bad_input` to add the table to the docs"
    start, end = text.index(BEGIN), text.index(END) + len(END) + 1
    assert text[start:end] == table(), "the table changed: run `python -m tests.test_bad_input` to update the docs"


if __name__ == "__main__":  # python -m tests.test_bad_input: write the table into docs/troubleshooting.md
    text = DOCS.read_text(encoding="utf-8")
    if BEGIN in text:
        text = text[: text.index(BEGIN)] + table() + text[text.index(END) + len(END) + 1 :]
    else:
        text = text.rstrip("\n") + "\n\n" + table()
    DOCS.write_text(text, encoding="utf-8")
    print(f"wrote {len(ROWS)} rows to {DOCS}")
