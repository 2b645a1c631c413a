"""benchmarks/suite: every task's answers score perfectly and the untouched input below them, validation and test
come from other photos or scenes, the schedule stretches to the run, and a tiny run trains through the configs,
writes last and best-on-val rows, skips or resumes what is done and renders its table."""

import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("skimage", reason="the quality suite needs the bench extra: pip install -e .[bench]")
from benchmarks import shapes  # noqa: E402  (after the skip: the suite reads scikit-image's photos)
from benchmarks.suite import photos, render, results, tasks, training  # noqa: E402
from benchmarks.suite.__main__ import main  # noqa: E402
from translate.cli import main as translate_main  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def task_data(tmp_path_factory):
    """Each task's tiny data, written once."""
    root = tmp_path_factory.mktemp("suite_data")
    for task in tasks.TASKS:
        tasks.write_data(task, root / task, tiny=True)
    return root


def _answers_scored_as_outputs(task: str, root: Path, split: str) -> dict[str, float]:
    if task == "shape":
        return shapes.baselines(root, split)["answer"]
    return tasks.score_images(task, root / "answers" / f"{split}A", root, split)


@pytest.mark.parametrize("task", list(tasks.TASKS))
def test_answers_score_perfectly_and_the_input_below(task, task_data):
    root = task_data / task
    for split in tasks.SPLITS:
        assert sorted(p.name for p in (root / f"{split}A").glob("*.png")) == sorted(
            p.name for p in (root / "answers" / f"{split}A").glob("*.png")
        )  # an answer for every held-out image
        perfect, identity = _answers_scored_as_outputs(task, root, split), tasks.identity(task, root, split)
        assert perfect["psnr"] == 100 and identity["psnr"] < 40
        if "ssim" in perfect:
            assert perfect["ssim"] == pytest.approx(1) and identity["ssim"] < 0.99
        if task == "object":  # the twin keeps every background pixel: the input is perfect there, and only there
            assert perfect["background_error"] == 0 and identity["background_error"] == 0
        if task == "shape":
            assert perfect["squareness"] > 0.95 and identity["squareness"] < 0.85


def _photo_of(name: str) -> str:
    return name.rsplit("_", 2)[0]  # chelsea_1_3.png -> chelsea


@pytest.mark.parametrize("task", ["tone", "texture"])
def test_photo_splits_come_from_other_photos_and_keep_the_answer(task, task_data):
    root = task_data / task
    sources = {split: {_photo_of(p.name) for p in (root / f"{split}A").glob("*.png")} for split in tasks.SPLITS}
    assert sources == {"val": {"rocket", "ihc"}, "test": {"chelsea", "coffee"}}
    train = {p.name.rsplit("_", 1)[0] for d in "AB" for p in (root / f"train{d}").glob("*.png")}
    assert train == {Path(n).stem for n in photos.PHOTOS["train"]} and not train & (sources["val"] | sources["test"])
    photo = photos.load_photo("chelsea.png", 72)  # the tiny scale; the answer is the transform of the whole photo
    top, left = photos.tiles(photo, 36)["1_2"]
    crop = np.asarray(photos.Image.open(root / "answers" / "testA" / "chelsea_1_2.png"))
    assert np.array_equal(crop, photos.TRANSFORMS[task](photo)[top : top + 36, left : left + 36])


@pytest.mark.parametrize("task", ["object", "shape"])
def test_generated_val_and_test_scenes_differ(task, task_data):
    root = task_data / task
    val, test = ({p.read_bytes() for p in (root / f"{split}A").glob("*.png")} for split in tasks.SPLITS)
    assert val and test and not val & test


def test_tone_and_texture_by_hand():
    pixels = np.array([[[0, 0, 0], [255, 255, 255], [128, 128, 128]]], dtype=np.uint8)
    # r = 255 (x/255)^0.8, g = 0.97 x, b = 0.85 * 255 (x/255)^1.25, rounded: 128 -> 146.9, 124.2, 91.6
    assert photos.tone(pixels).tolist() == [[[0, 0, 0], [255, 247, 217], [147, 124, 92]]]
    flat = np.full((9, 9, 3), 100, dtype=np.uint8)
    dot = flat.copy()
    dot[4, 4] = 150
    assert np.array_equal(photos.texture(flat), flat)
    assert photos.texture(dot)[4, 4, 0] > 150 and photos.texture(dot)[3, 4, 0] < 100  # a dark ring around it


def test_span_stretches_the_schedule_keeping_its_ratio():
    def span(config: dict, batches: int, images: int = 200) -> dict:
        got = training._span(config, batches, images)
        return got["model"]["init_args"]["scheduler"]["init_args"] if got else {}

    official = yaml.safe_load((REPO / "configs" / "quickstart_official.yaml").read_text())  # 10 + 10 epochs
    assert span(official, 10_000) == {"constant_epochs": 25, "decay_epochs": 25}
    assert span(official, 1_000) == {"constant_epochs": 2, "decay_epochs": 3}  # round half to even: 2.5 -> 2
    decay = training.resolved(training.Variant(("configs/quickstart_official.yaml", "configs/quality/decay.yaml")))
    assert span(decay, 10_000) == {"constant_epochs": 0, "decay_epochs": 50}
    batch4 = training.resolved(training.Variant(("configs/quickstart_official.yaml",), ("data.batch_size=4",)))
    assert span(batch4, 10_000) == {"constant_epochs": 100, "decay_epochs": 100}  # 50 batches an epoch
    assert span({"model": {"init_args": {}}}, 10_000) == {}


def test_variant_parses_configs_and_overrides():
    plain = training.Variant.parse("configs/quickstart.yaml")
    changed = training.Variant.parse("configs/quickstart.yaml model.init_args.lambda_identity=0.5", ["data.seed=3"])
    assert changed.configs == plain.configs and changed.overrides == (
        "model.init_args.lambda_identity=0.5",
        "data.seed=3",
    )
    assert plain.name == "quickstart" and changed.name.startswith("quickstart+lambda_identity=0.5+seed=3-")
    merged = training.resolved(changed)
    assert merged["model"]["init_args"]["lambda_identity"] == 0.5 and merged["data"]["seed"] == 3
    assert merged["model"]["init_args"]["generator"]["init_args"]["base_channels"] == 16  # the config's, kept
    with pytest.raises(SystemExit, match="names no config"):
        training.Variant.parse("model.init_args.lambda_identity=0.5")


def test_default_variants_find_the_official_and_recipe_configs_before_and_after_the_rename(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").mkdir()
    for name in ("quickstart", "quickstart_modern"):  # today: the recipe beside the official quick start
        (tmp_path / "configs" / f"{name}.yaml").touch()
    assert training.default_variants() == ["configs/quickstart.yaml", "configs/quickstart_modern.yaml"]
    (tmp_path / "configs" / "quickstart_modern.yaml").rename(tmp_path / "configs" / "quickstart_official.yaml")
    assert training.default_variants() == ["configs/quickstart_official.yaml", "configs/quickstart.yaml"]  # renamed


def test_a_run_folder_refuses_other_settings(tmp_path, task_data, monkeypatch):
    monkeypatch.setattr(training, "launch", lambda argv, env: None)  # the spec is written before training
    plain = training.Variant(("configs/quickstart_official.yaml", "configs/debug.yaml"))
    settings = {"seed": 0, "batches": 4, "every": 2, "schedule": "span"}
    assert training.train(plain, task_data / "tone", tmp_path, **settings) == "trained"
    assert training.train(plain, task_data / "tone", tmp_path, **settings) == "trained"  # the same: goes on
    changed = training.Variant(plain.configs, ("model.init_args.lambda_identity=0.1",))
    with pytest.raises(SystemExit, match="trained with other settings"):
        training.train(changed, task_data / "tone", tmp_path, **settings)
    with pytest.raises(SystemExit, match="trained with other settings"):
        training.train(plain, task_data / "tone", tmp_path, **settings | {"batches": 8})


def test_sigterm_is_passed_on_and_the_child_waited_for(tmp_path):
    ready, saved = tmp_path / "ready", tmp_path / "saved"
    child = (f"import pathlib, signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: (time.sleep(0.5), "
             f"pathlib.Path({str(saved)!r}).write_text('last.ckpt'), sys.exit(0))); "
             f"pathlib.Path({str(ready)!r}).touch(); time.sleep(60)")  # fmt: skip

    def stop_when_ready() -> None:
        while not ready.exists():
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    threading.Thread(target=stop_when_ready, daemon=True).start()
    with pytest.raises(SystemExit, match="stopped by SIGTERM"):
        training.launch([sys.executable, "-c", child], dict(os.environ))
    assert saved.read_text() == "last.ckpt"  # the child finished what it does on SIGTERM: not killed
    assert signal.getsignal(signal.SIGTERM) == before  # the suite's own handling back


def test_best_on_val_looks_only_up_to_the_length():
    val = {500: 20.0, 1000: 25.0, 1500: 22.0, 3000: 30.0}
    scores = {b: {"val": {"psnr": v}, "test": {"psnr": 0.0}} for b, v in val.items()}
    assert results.chosen(scores, 1000) == {"last": 1000, "best_val": 1000}
    assert results.chosen(scores, 1500) == {"last": 1500, "best_val": 1000}
    assert results.chosen(scores, 3000) == {"last": 3000, "best_val": 3000}
    assert results.chosen(scores, 2000) == {}  # no checkpoint at that length


def test_render_gives_mean_and_sd_over_seeds():
    base = {"task": "tone", "split": "test", "metric": "psnr", "length": 1000, "checkpoint": "step=2000.ckpt"}
    rows = [base | {"variant": "identity", "selection": "input", "seed": None, "length": None, "value": 23.0}]
    for seed, value in ((0, 30.0), (1, 32.0)):
        rows += [base | {"variant": "recipe", "selection": s, "seed": seed, "value": value, "batches": 1000}
                 for s in ("last", "best_val")]  # fmt: skip
    doc = {"rows": rows, "runs": [], "settings": {"tasks": ["tone"], "lengths": [1000]},
           "machine": {"cpu": "x", "threads": 1, "torch": "2", "load_average": [1, 1, 1]}}  # fmt: skip
    text = render.render(doc)
    assert "| identity (the untouched input) |  |  | 23.00 |" in text
    assert "| recipe | 2 | last | 31.00 ± 1.41 |" in text and "| recipe | 2 | best on val | 31.00 ± 1.41 |" in text
    other = doc | {
        "rows": [r | {"task": "texture"} for r in rows],
        "settings": {"tasks": ["texture"], "lengths": [1000]},
    }
    both = render.render(render.merged([doc, other]))  # one file per process (--tasks), rendered together
    assert "### tone:" in both and "### texture:" in both and both.count("| recipe | 2 | last | 31.00 ± 1.41 |") == 2


def test_tiny_suite_trains_through_the_configs_resumes_and_renders(tmp_path, monkeypatch, capsys):
    launched = []

    def in_process(argv, env):  # translate fit without a second interpreter (its start-up is most of the time)
        assert argv[1:4] == ["-m", "translate.cli", "fit"] and env["OMP_NUM_THREADS"] == "1"
        launched.append(argv)
        translate_main(argv[3:])

    monkeypatch.setattr(training, "launch", in_process)
    out, path = tmp_path / "suite", tmp_path / "results.json"
    argv = ["run", "--tasks", "tone", "--tiny", "--variants", "configs/quickstart.yaml configs/debug.yaml",
            "--seeds", "0", "--lengths", "5", "10", "--every", "5", "--out", str(out), "--json", str(path)]  # fmt: skip
    doc = main(argv)
    assert len(launched) == 1 and "--config" in launched[0] and "configs/debug.yaml" in launched[0]
    overlay = yaml.safe_load((out / "runs/tone/quickstart+debug/seed0/overlay.yaml").read_text())
    val_dirs = overlay["data"]["source"]["init_args"]["val_dirs"]
    assert val_dirs[0].endswith("tone/valA") and "testA" not in json.dumps(overlay)
    rows = json.loads(path.read_text())["rows"]
    assert rows == doc["rows"] and json.loads(path.read_text())["machine"]["load_average"]
    test = {(r["selection"], r["length"], r["metric"]): r for r in rows if r["split"] == "test"}
    assert test["last", 10, "psnr"]["checkpoint"] == "step=20.ckpt" and test["last", 5, "psnr"]["batches"] == 5
    assert test["best_val", 10, "psnr"]["batches"] in (5, 10) and np.isfinite(test["best_val", 10, "ssim"]["value"])
    assert test["input", None, "psnr"]["variant"] == "identity"
    assert sum(r["selection"] == "every" for r in rows) == 2 * 2 * 2  # checkpoints x splits x metrics

    run = out / "runs/tone/quickstart+debug/seed0"
    monkeypatch.setattr(results, "score_checkpoint", lambda *a: pytest.fail("scored a cached checkpoint again"))
    assert main(argv)["runs"][0]["status"] == "done" and len(launched) == 1  # nothing trained or scored again

    (run / "checkpoints" / "step=20.ckpt").unlink()  # as if cut short after the first checkpoint
    shutil.copy(run / "checkpoints" / "step=10.ckpt", run / "checkpoints" / "last.ckpt")
    monkeypatch.undo()
    monkeypatch.setattr(training, "launch", in_process)
    assert main(argv)["runs"][0]["status"] == "resumed" and "--ckpt_path" in launched[-1][-1]
    assert (run / "checkpoints" / "step=20.ckpt").exists()

    capsys.readouterr()
    main(["render", str(path)])
    table = capsys.readouterr().out
    assert "| identity (the untouched input) |" in table and "| quickstart+debug | 1 | best on val |" in table
