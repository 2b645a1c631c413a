"""The scripts beside the package: the dataset generators (datasets/make_*.py) are deterministic; benchmarks/run.py
measures training and predict, benchmarks/shapes.py finds the shapes make_shapes.py draws.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from translate.data import UnpairedDataModule
from translate.data.layouts import discover_domains

REPO = Path(__file__).resolve().parent.parent


def _script(path: str):
    """A script beside the package (datasets/, benchmarks/), imported as a module."""
    spec = importlib.util.spec_from_file_location(Path(path).stem, REPO / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _make_fruit():
    module = _script("datasets/make_fruit.py")
    return module.main


def test_make_fruit_is_deterministic_and_refuses_to_overwrite(tmp_path, capsys):
    make_fruit = _make_fruit()
    args = ["--size", "16", "--train", "3", "--test", "1", "--seed", "5"]
    for name in ("one", "two"):
        make_fruit(["--root", str(tmp_path / name), *args])
    assert "wrote 8 16x16 PNGs" in capsys.readouterr().out
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.png"))
    assert len(files) == 8 and {p.parent.name for p in files} == {"trainA", "trainB", "testA", "testB"}
    assert all((tmp_path / "one" / p).read_bytes() == (tmp_path / "two" / p).read_bytes() for p in files)
    capsys.readouterr()
    make_fruit(["--root", str(tmp_path / "one"), *args])  # the same recipe again: nothing to do, no error
    assert "nothing to do" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="--force"):  # another recipe over existing data
        make_fruit(["--root", str(tmp_path / "one"), "--size", "16", "--train", "2"])
    make_fruit(["--root", str(tmp_path / "one"), "--force", "--size", "16", "--train", "1", "--test", "0"])
    assert len(list((tmp_path / "one").rglob("*.png"))) == 2 and not (tmp_path / "one" / "testA").exists()
    dm = UnpairedDataModule(tmp_path / "two", load_size=16, crop_size=16, num_workers=0)
    dm.setup("fit")
    assert len(dm.train_set) == 3 and len(dm.val_set) == 1


def test_make_fruit_twins_change_only_the_fruit_and_leave_train_and_test_bytes(tmp_path, capsys):
    make_fruit = _make_fruit()
    args = ["--size", "24", "--train", "2", "--test", "2", "--seed", "4"]
    make_fruit(["--root", str(tmp_path / "plain"), *args])
    make_fruit(["--root", str(tmp_path / "twins"), *args, "--val", "2", "--answers"])
    plain = sorted(p.relative_to(tmp_path / "plain") for p in (tmp_path / "plain").rglob("*.png"))
    assert all((tmp_path / "plain" / p).read_bytes() == (tmp_path / "twins" / p).read_bytes() for p in plain)
    for split, domain in (("testA", "apple"), ("valB", "orange")):
        image, twin, mask = (np.asarray(Image.open(tmp_path / "twins" / kind / split / f"{domain}_0001.png"))
                             for kind in ("", "answers", "masks"))  # fmt: skip
        fruit = mask > 0
        assert 0.05 < fruit.mean() < 0.9 and np.array_equal(image[~fruit], twin[~fruit])
        assert np.abs(image[fruit].astype(int) - twin[fruit]).mean() > 20  # an apple against an orange
    val = {(tmp_path / "twins" / "valA" / f"apple_{i:04d}.png").read_bytes() for i in range(2)}
    assert not val & {(tmp_path / "twins" / "testA" / f"apple_{i:04d}.png").read_bytes() for i in range(2)}


def test_make_fruit_basket_is_deterministic(tmp_path, capsys):
    module = _script("datasets/make_fruit_basket.py")
    for name in ("one", "two"):
        module.main(["--root", str(tmp_path / name), "--size", "16", "--train", "2", "--test", "1", "--seed", "3"])
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.png"))
    assert len(files) == 9 and "wrote 9 PNGs" in capsys.readouterr().out
    assert all((tmp_path / "one" / p).read_bytes() == (tmp_path / "two" / p).read_bytes() for p in files)
    assert discover_domains(tmp_path / "one") == ["apple", "lime", "orange"]
    with Image.open(tmp_path / "one" / "train" / "lime" / "lime_0000.png") as lime:
        red, green, _ = np.asarray(lime, dtype=float).reshape(-1, 3).T
        assert lime.size == (16, 16) and (green - red).max() > 40  # green fruit on the board


def test_make_shapes_draws_circles_and_squares_where_its_json_says(tmp_path, capsys):
    module = _script("datasets/make_shapes.py")
    benchmark = _script("benchmarks/shapes.py")
    for name in ("one", "two"):
        module.main(["--root", str(tmp_path / name), "--size", "32", "--train", "3", "--val", "2", "--test", "2"])
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.png"))
    assert len(files) == 2 * 3 + 4 * (2 + 2) and all((tmp_path / "one" / p).read_bytes() ==
                                                      (tmp_path / "two" / p).read_bytes() for p in files)  # fmt: skip
    for folder, square in (("trainA", False), ("trainB", True), ("answers/testA", True), ("answers/valB", False)):
        truth = json.loads((tmp_path / "one" / f"{folder}.json").read_text())  # the measure finds each shape
        figures = benchmark.measure(benchmark._read(tmp_path / "one" / folder), truth)
        assert figures["centre_error"] < 1 and (figures["squareness"] > 0.95) == square
        assert figures["colour_error"] < 0.01 and figures["background_error"] < 0.01
    twins = benchmark.baselines(tmp_path / "one", "test")  # every test circle's twin is its square: same scene
    assert twins["answer"]["psnr"] == 100 and twins["answer"]["squareness"] > 0.95
    assert 10 < twins["identity"]["psnr"] < 40 and twins["identity"]["squareness"] < 0.85
    val = json.loads((tmp_path / "one" / "valA.json").read_text())  # another random stream than the test split
    assert val != json.loads((tmp_path / "one" / "testA.json").read_text())


def test_make_shapes_gives_both_training_domains_the_same_colours(tmp_path):
    module = _script("datasets/make_shapes.py")
    counts = ["--size", "32", "--train", "6", "--val", "2", "--test", "2"]
    module.main(["--root", str(tmp_path / "matched"), *counts])
    module.main(["--root", str(tmp_path / "independent"), "--colours", "independent", *counts])

    def scenes(kind: str, folder: str) -> dict:
        return json.loads((tmp_path / kind / f"{folder}.json").read_text())

    def colours(found: dict) -> list:
        return sorted((where["colour"], where["background"]) for where in found.values())

    matched_a, matched_b = scenes("matched", "trainA"), scenes("matched", "trainB")
    assert colours(matched_a) == colours(matched_b)  # the same colour pairs: the domains differ in outline only
    assert [w["colour"] for w in matched_a.values()] != [w["colour"] for w in matched_b.values()]  # shuffled
    independent_b = scenes("independent", "trainB")
    assert colours(independent_b) != colours(matched_b)  # drawn on their own, as before
    assert [(w["cx"], w["half"]) for w in independent_b.values()] == [(w["cx"], w["half"]) for w in matched_b.values()]
    for folder in ("trainA", "valA", "testB", "answers/testA"):  # only trainB's colours change
        assert scenes("matched", folder) == scenes("independent", folder)


def test_make_fruit_pairs_writes_label_maps_of_the_paintings(tmp_path, capsys):
    module = _script("datasets/make_fruit_pairs.py")
    for name in ("one", "two"):
        module.main(["--root", str(tmp_path / name), "--size", "32", "--train", "2", "--test", "1"])
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.png"))
    assert [str(p) for p in files] == ["testA/0000.png", "testB/0000.png", "trainA/0000.png", "trainA/0001.png",
                                       "trainB/0000.png", "trainB/0001.png"]  # fmt: skip
    assert all((tmp_path / "one" / p).read_bytes() == (tmp_path / "two" / p).read_bytes() for p in files)
    labels = np.asarray(Image.open(tmp_path / "one" / "trainA" / "0000.png")).reshape(-1, 3)
    colours = {tuple(c) for c in np.unique(labels, axis=0)}
    assert module.LABELS["red"] in colours and len(colours) <= 6  # an apple: flat classes, no shading


def test_benchmark_script_measures_training_and_predict(tmp_path):
    from benchmarks.run import main

    out = tmp_path / "bench.json"
    argv = ["--tiny", "--no-spawn", "--models", "cyclegan", "--sizes", "32", "--batches", "1", "--steps", "2",
            "--warmup", "1", "--predict-sizes", "32", "--predict-images", "2", "--predict-repeats", "1",
            "--data-sizes", "32", "--json", str(out)]  # fmt: skip
    rows = main(argv)
    cases = {row["case"]: row for row in rows}
    assert set(cases) == {"data 32px workers 0", "data 32px workers 2", "cyclegan train 32px batch 1",
                          "cyclegan predict 32px batch 1"}  # fmt: skip
    train = cases["cyclegan train 32px batch 1"]
    # two generators' and two discriminators' forward and backward: several MFLOP even for quick-start nets at 32 px
    assert train["gflop_per_step"] > 0.01 and 0 < train["seconds_per_step"] < 10
    assert all(row["images_per_sec"] > 0 and row["peak_rss_mb"] > 0 for row in rows)
    assert json.loads(out.read_text())["results"] == rows
