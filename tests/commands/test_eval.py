"""translate eval: every model's checkpoint translates its test split and is scored (tiny models, a tiny feature
extractor in place of Inception: nothing downloads); the scores equal the library's on the folders eval wrote;
two plain folders are scored; mistakes are one line."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.evaluation.test_protocols import _PytorchFidStyle
from translate.cli import main
from translate.inference.loading import load_model
from translate.inference.predict import predict_folder

CONFIGS = Path(__file__).resolve().parent.parent.parent / "configs"
TINY = ["--feature-extractor", "tests.evaluation.tiny_features.TinyFeatures", "--device", "cpu"]


def _fit(run: Path, root: Path, *configs: str) -> Path:
    """Two optimizer steps of a shipped config with its debug overlays; returns last.ckpt."""
    args = [a for c in configs for a in ("--config", str(CONFIGS / c))]
    main(["fit", *args, f"--data.source.root={root}", f"--trainer.default_root_dir={run}", "--trainer.max_steps=2",
          "--trainer.fast_dev_run=false", "--trainer.limit_val_batches=0",
          "--trainer.callbacks+=lightning.pytorch.callbacks.ModelCheckpoint",
          "--trainer.callbacks.save_last=true"])  # fmt: skip
    return next(run.rglob("last.ckpt"))


@pytest.fixture(scope="session")
def more_checkpoints(tmp_path_factory, write_images) -> dict[str, Path]:
    """Tiny TraVeLGAN and CUT (unpaired) and pix2pix (pairs matched by name) checkpoints, from their quick starts."""
    root = tmp_path_factory.mktemp("pairs")
    for domain, colour in (("A", 0), ("B", 1)):
        write_images(root / f"train{domain}", 4, size=(32, 32), colour=colour)  # same names: matched pairs
    return {
        "travelgan": _fit(tmp_path_factory.mktemp("travelgan"), root, "travelgan_quickstart.yaml",
                          "debug_travelgan.yaml"),
        "pix2pix": _fit(tmp_path_factory.mktemp("pix2pix"), root, "pix2pix_quickstart.yaml",
                        "debug_pix2pix.yaml"),
        "cut": _fit(tmp_path_factory.mktemp("cut"), root, "cut_quickstart.yaml", "debug_cut.yaml"),
    }  # fmt: skip


@pytest.fixture
def test_split(tmp_path, write_images) -> Path:
    """testA: 3 reddish 36 px images, testB: 4 greenish 40 px ones (the libraries read each folder at its size)."""
    root = tmp_path / "data"
    write_images(root / "testA", 3, size=(36, 36), colour=0)
    write_images(root / "testB", 4, size=(40, 40), colour=1)
    write_images(root / "trainA", 1, colour=0)
    write_images(root / "trainB", 1, colour=1)
    return root


def _config(tmp_path: Path, root: Path, source: str = "DomainFolders", **data) -> str:
    data = {"source": f"{{class_path: {source}, init_args: {{root: {root}}}}}", "load_size": 36, "crop_size": 32,
            "batch_size": 2, "num_workers": 0, **data}  # fmt: skip
    lines = [f"  {key}: {value}" for key, value in data.items()]
    path = tmp_path / "eval.yaml"
    path.write_text("data:\n" + "\n".join(lines) + "\n")
    return str(path)


EXPECTED = {  # targets scored, and the model's own metrics
    "cyclegan": (["a2b", "b2a"], {"cycle_a", "cycle_b", "cycle"}),
    "stargan": (["A", "B"], {"acc_real", "acc_fake", "rec"}),
    "travelgan": (["a2b", "b2a"], {"cosine_ab", "cosine_ba"}),
    "pix2pix": (["a2b"], {"l1", "psnr"}),
    "cut": (["a2b"], {"nce", "idt_l1"}),  # one-way; PatchNCE and the identity error
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_eval_scores_every_model_and_equals_pytorch_fid_on_the_written_folders(
    name, checkpoints, more_checkpoints, test_split, tmp_path, capsys
):
    ckpt = {**checkpoints, **more_checkpoints}[name]
    data = {"source": "MatchedPairs"} if name == "pix2pix" else {}
    if name == "pix2pix":  # pairs: testB holds the targets of testA's images, by name
        for path in (test_split / "testB").iterdir():
            path.unlink()
        for index in range(3):
            Image.new("RGB", (36, 36), (20, 200, 40 + index)).save(test_split / "testB" / f"img_{index:03d}.png")
    out = tmp_path / "eval"
    main(["eval", "--ckpt", str(ckpt), "--config", _config(tmp_path, test_split, **data), "--output", str(out), *TINY])
    report = json.loads((out / "eval.json").read_text())
    targets, own = EXPECTED[name]
    assert [s["target"] for s in report["scores"]] == targets
    assert set(report["own_metrics"]) == own and all(np.isfinite(v) for v in report["own_metrics"].values())
    assert report["settings"]["protocol"] == "cut" and report["settings"]["fake_size"] == "32"
    line = capsys.readouterr().out.strip()
    assert line.count("\n") == 0 and line.startswith("[cut]") and str(out / "eval.json") in line
    for score in report["scores"]:  # the numbers are pytorch-fid's on the very files eval wrote
        from pytorch_fid.fid_score import calculate_frechet_distance, compute_statistics_of_path

        real, fake = Path(score["real"]), Path(score["fake"])
        fakes = sorted(fake.glob("*.png"))
        assert score["n_fake"] == len(fakes) and {Image.open(f).size for f in fakes} == {(32, 32)}
        stats = [compute_statistics_of_path(str(p), _PytorchFidStyle(), 50, 18, "cpu", 0) for p in (real, fake)]
        assert score["fid"] == pytest.approx(calculate_frechet_distance(*stats[0], *stats[1]), rel=1e-9)
        assert score["kid_x100_mean"] == pytest.approx(100 * score["kid_mean"])


def test_eval_writes_what_the_translator_makes_of_the_resized_test_image(checkpoints, test_split, tmp_path):
    out = tmp_path / "eval"
    main(["eval", "--ckpt", str(checkpoints["cyclegan"]), "--config", _config(tmp_path, test_split),
          "--direction", "a2b", "--output", str(out), *TINY])  # fmt: skip
    report = json.loads((out / "eval.json").read_text())
    assert [s["target"] for s in report["scores"]] == ["a2b"] and report["scores"][0]["n_real"] == 4
    assert sorted(p.name for p in (out / "a2b" / "real").iterdir())[0].endswith("img_000.png")  # testB, as stored
    import albumentations as A
    import cv2

    from translate.data.images import read_image, to_tensor, to_uint8

    resize = A.Resize(32, 32, interpolation=cv2.INTER_CUBIC, area_for_downscale="image")
    image = to_tensor(resize(image=read_image(test_split / "testA" / "img_001.png"))["image"])
    with torch.inference_mode():
        expected = to_uint8(load_model(checkpoints["cyclegan"]).translator("a2b")(image[None]))[0]
    written = torch.from_numpy(np.array(Image.open(out / "a2b" / "fake" / "0_00001.png"))).permute(2, 0, 1)
    assert torch.equal(written, expected)


@pytest.mark.parametrize("protocol", ["cut", "clean", "torch-fidelity"])
def test_eval_scores_two_plain_folders(protocol, write_images, tmp_path, capsys):
    write_images(tmp_path / "real", 6, size=(20, 20), colour=0)
    write_images(tmp_path / "fake", 5, size=(20, 20), colour=1)
    out = tmp_path / "out"
    main(["eval", "--real", str(tmp_path / "real"), "--fake", str(tmp_path / "fake"), "--protocol", protocol,
          "--output", str(out), *TINY])  # fmt: skip
    report = json.loads((out / "eval.json").read_text())
    (score,) = report["scores"]
    assert (score["n_real"], score["n_fake"], score["kid_subset_size"]) == (6, 5, 5)
    assert score["fid"] > 0 and report["settings"]["protocol"] == protocol
    assert "TinyFeatures" in report["settings"]["feature_extractor"] and report["warnings"]  # 5 images: biased
    assert capsys.readouterr().out.startswith(f"[{protocol}] FID ")


def _error(args: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", *args])
    message = str(exit_info.value.code) if exit_info.value.code not in (None, 2) else capsys.readouterr().err
    return message.strip()


def test_eval_mistakes_are_one_line(checkpoints, test_split, write_images, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))  # no Inception weights anywhere
    write_images(tmp_path / "real", 2)
    folders = ["--real", str(tmp_path / "real"), "--fake", str(tmp_path / "real")]
    missing = _error([*folders, "--device", "cpu"], capsys)
    assert "pt_inception-2015-12-05-6726825d.pth" in missing and "https://github.com/mseitzer" in missing
    assert "--ckpt needs --config" in _error(["--ckpt", str(checkpoints["cyclegan"])], capsys)
    assert "--real DIR --fake DIR" in _error(["--real", "x", "--ckpt", "y"], capsys)
    assert "invalid choice" in _error([*folders, "--protocol", "tf"], capsys)
    assert "not a folder" in _error(["--real", str(tmp_path / "none"), "--fake", str(tmp_path), *TINY], capsys)
    assert "--scale are for --ckpt" in _error([*folders, "--scale", "native"], capsys)
    config = _config(tmp_path, test_split)
    ckpt = ["--ckpt", str(checkpoints["cyclegan"]), "--config", config, "--output", str(tmp_path / "e"), *TINY]
    assert "translates to ['a2b', 'b2a'], not 'A'" in _error([*ckpt, "--target-domain", "A"], capsys)
    main(["eval", *ckpt, "--direction", "a2b"])
    assert "--overwrite" in _error([*ckpt, "--direction", "a2b"], capsys)
    main(["eval", *ckpt, "--direction", "a2b", "--overwrite"])
    assert "--fake-size 30" in _error([*ckpt, "--fake-size", "30", "--overwrite"], capsys)


@pytest.mark.parametrize(
    ("device", "said"),
    [("gpu0", "--device 'gpu0' is not a device; use auto, cpu, cuda or cuda:N"),
     ("meta", "--device 'meta': use auto, cpu, cuda or cuda:N")],
)  # fmt: skip
def test_eval_checks_the_device_as_predict_does(device, said, write_images, tmp_path, capsys):
    write_images(tmp_path / "real", 2)
    folders = ["--real", str(tmp_path / "real"), "--fake", str(tmp_path / "real"), "--output", str(tmp_path / "e")]
    assert _error([*folders, "--device", device], capsys) == f"translate eval: error: {said}"


@pytest.mark.parametrize(("name", "scale"), [("travelgan", "auto"), ("travelgan", "native"), ("cyclegan", "auto")])
def test_eval_translates_the_test_images_as_predict_does(
    name, scale, checkpoints, more_checkpoints, write_images, tmp_path, monkeypatch
):
    """Test images of crop_size (so the protocol's resize to it keeps them as they are): eval's translations are
    predict's of the same files with the same --scale. By default TraVeLGAN's are at its training scale (load_size 36,
    read from the checkpoint, not crop_size 32), CycleGAN's at the images' own pixels."""
    ckpt = {**checkpoints, **more_checkpoints}[name]
    seen = []  # the sizes eval's a2b generator is given, translations first (then the own metrics' batches)

    def spied(*args, **kwargs):
        model = load_model(*args, **kwargs)
        model.translator("a2b").register_forward_pre_hook(lambda _, inputs: seen.append(tuple(inputs[0].shape[-2:])))
        return model

    monkeypatch.setattr("translate.inference.loading.load_model", spied)
    root = tmp_path / "data"
    write_images(root / "testA", 2, size=(32, 32), colour=0)
    write_images(root / "testB", 2, size=(32, 32), colour=1)
    out, predicted = tmp_path / "eval", tmp_path / "predicted"
    main(["eval", "--ckpt", str(ckpt), "--config", _config(tmp_path, root), "--direction", "a2b", "--scale", scale,
          "--output", str(out), *TINY])  # fmt: skip
    predict_folder(load_model(ckpt), root / "testA", predicted, scale=scale, progress=False)
    for index in range(2):
        written = np.asarray(Image.open(out / "a2b" / "fake" / f"0_{index:05d}.png"))
        assert np.array_equal(written, np.asarray(Image.open(predicted / f"img_{index:03d}.png"))), index
    training = (name, scale) == ("travelgan", "auto")
    assert seen[0] == ((40, 40) if training else (32, 32))  # 32 -> 36, padded to TraVeLGAN's multiple of 8
    expected = "training: shorter side resized to 36 (bilinear), and back" if training else "native"
    assert json.loads((out / "eval.json").read_text())["settings"]["scale"] == expected


@pytest.mark.parametrize(
    ("protocol", "name"),
    [("cut", "w.pth"), ("torch-fidelity", "w.pth"), ("clean", "inception-2015-12-05.pt")],  # clean-fid: by name
)
def test_inception_weights_that_are_not_weights_are_one_line(protocol, name, write_images, tmp_path, capsys):
    """#29: random bytes as --inception-weights ended in _pickle.UnpicklingError's traceback (torch-fidelity: after
    the folders were read)."""
    write_images(tmp_path / "real", 2)
    (tmp_path / name).write_bytes(np.random.default_rng(0).bytes(3000))
    message = _error(["--real", str(tmp_path / "real"), "--fake", str(tmp_path / "real"), "--protocol", protocol,
                      "--inception-weights", str(tmp_path / name), "--output", str(tmp_path / "e"), "--device",
                      "cpu"], capsys)  # fmt: skip
    assert message.startswith(f"translate eval: error: --inception-weights {tmp_path / name} is not the Inception")
    assert "\n" not in message and not (tmp_path / "e").exists()
