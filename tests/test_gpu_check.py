"""benchmarks/gpu_check.py on the CPU (``--device cpu --tiny``): the same script a GPU machine runs. Its fit checks
pass for CycleGAN, it times training and predict, writes the JSON and the table, installs only what is missing (from
the wheels folder alone when given), refuses bad options in one line, and drives an official checkout's CycleGAN
through the API the official train.py uses. Every family in every precision: the slow test."""

import importlib.metadata
import json
import math
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from lightning.pytorch import Trainer
from torch import nn

from benchmarks import gpu_check
from tests.gpu import fit_checks
from translate.data import UnpairedDataModule
from translate.training.callbacks import StopOnNonFinite
from translate.training.gpu_speed import GpuSpeedUps

TINY = ["--device", "cpu", "--tiny", "--no-install", "--batches", "1", "--steps", "1", "--warmup", "1",
        "--predict-images", "2"]  # fmt: skip


def test_cpu_tiny_run_checks_fit_resume_predict_export_and_times_the_step(tmp_path, capsys):
    out = tmp_path / "gpu.json"
    gpu_check.main([*TINY, "--families", "cyclegan", "--precisions", "fp32", "--json", str(out)])
    report = json.loads(out.read_text())
    rows = {row["case"]: row for row in report["results"]}
    assert rows["cyclegan fit + resume, fp32"]["ok"] is True
    exactness = rows["cyclegan resume exactness, fp32, deterministic (cpu)"]  # the row a first GPU fills in
    assert exactness["deterministic"] == "true" and exactness["resume_epoch_end_max_difference"] >= 0
    assert exactness["run_to_run_max_difference"] == exactness["resume_mid_epoch_max_difference"] == 0.0
    inference = rows["cyclegan predict + ONNX export, cpu"]
    assert inference["ok"] is True and inference["onnx_difference"] < 2.0
    assert rows["cyclegan train 32 px batch 1 fp32"]["steps_per_s"] > 0
    assert rows["cyclegan train 32 px batch 1 fp32, cudnn.benchmark on, channels_last on"]["steps_per_s"] > 0
    assert rows["cyclegan predict 32 px batch 1 fp32"]["images_per_s"] > 0
    assert report["machine"]["device"] == "cpu" and report["tiny"] is True
    table = capsys.readouterr().out
    assert "cyclegan fit + resume, fp32" in table and "steps/s" in table and "images/s" in table


def test_a_failed_check_is_a_row_and_exit_status_1(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise FloatingPointError("train/g/total = nan at step 3")

    monkeypatch.setattr(fit_checks, "check_training", broken)
    out = tmp_path / "gpu.json"
    with pytest.raises(SystemExit) as exit_info:
        gpu_check.main([*TINY, "--parts", "fit", "--families", "cyclegan", "--precisions", "fp32", "--json", str(out)])
    assert exit_info.value.code == 1
    rows = json.loads(out.read_text())["results"]
    assert rows[0]["case"].startswith("cyclegan resume exactness") and rows[0]["ok"] is True  # a measurement
    assert rows[1]["ok"] is False and "nan at step 3" in rows[1]["error"]
    assert rows[2]["ok"] is False and "no checkpoint" in rows[2]["error"]  # predict needs the fit's checkpoint


def test_cases_past_the_time_budget_are_skipped_rows(tmp_path, capsys):
    out = tmp_path / "gpu.json"
    gpu_check.main([*TINY, "--families", "cyclegan", "--precisions", "fp32", "--budget-s", "1e-6", "--json", str(out)])
    rows = json.loads(out.read_text())["results"]
    assert rows and all(row["skipped"].startswith("time budget") for row in rows)  # and not failures: exit status 0
    assert "skipped: time budget" in capsys.readouterr().out


def test_unchanged_networks_names_the_ones_that_did_not_train():
    before = {"gen_ab.w": torch.zeros(2), "disc_a.w": torch.zeros(2), "disc_a.steps": torch.tensor(3)}
    after = {"gen_ab.w": torch.ones(2), "disc_a.w": torch.zeros(2), "disc_a.steps": torch.tensor(4)}
    assert fit_checks.unchanged_networks(before, after) == ["disc_a"]


def test_requirements_come_from_pyproject_with_or_without_tomllib(monkeypatch):
    found = gpu_check.requirements()
    assert any(r.startswith("albumentations") for r in found) and any(r.startswith("onnxruntime") for r in found)
    monkeypatch.setitem(sys.modules, "tomllib", None)  # as on Python 3.10: the import fails
    assert gpu_check.requirements() == found


def test_missing_lists_absent_packages_and_refused_versions():
    torch_version = importlib.metadata.version("torch")
    wanted = ["torch>=2.0", "no-such-package-for-translate>=1", f"torch>{torch_version}"]
    assert gpu_check.missing(wanted) == ["no-such-package-for-translate>=1", f"torch>{torch_version}"]
    assert gpu_check.missing(gpu_check.requirements()) == []  # this environment has every dependency


def test_missing_without_packaging_checks_presence(monkeypatch):
    monkeypatch.setitem(sys.modules, "packaging.requirements", None)
    assert gpu_check.missing(["torch>=2.0", "jsonargparse[signatures]>=4", "no-such-package-for-translate>=1"]) == [
        "no-such-package-for-translate>=1"
    ]


def test_install_takes_only_the_wheels_folder_and_keeps_torch(tmp_path, monkeypatch):
    commands = []
    monkeypatch.setattr(subprocess, "run", lambda command: commands.append(command) or SimpleNamespace(returncode=0))
    assert gpu_check.install(["torch>=2.0"], tmp_path) == ([], [])  # nothing missing: pip never runs
    absent = ["no-such-package-for-translate", "another-absent-package-for-translate"]
    assert gpu_check.install(absent, tmp_path) == (absent, [])
    (command,) = commands
    assert command[command.index("--find-links") + 1] == str(tmp_path) and "--no-index" in command
    assert f"torch=={importlib.metadata.version('torch')}" in command  # pip may not swap the machine's CUDA build


def test_install_goes_one_by_one_when_a_wheel_is_absent(tmp_path, monkeypatch, capsys):
    def pip(command):  # the folder lacks one of the two wheels: together they fail, one at a time only it does
        return SimpleNamespace(returncode=1 if "another-absent-package-for-translate" in command else 0)

    monkeypatch.setattr(subprocess, "run", pip)
    absent = ["no-such-package-for-translate", "another-absent-package-for-translate"]
    assert gpu_check.install(absent, tmp_path) == (absent[:1], absent[1:])
    assert f"could not install another-absent-package-for-translate in {tmp_path}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "option, message",
    [(["--official", "nowhere"], "no models/cycle_gan_model.py"), (["--wheels", "nowhere"], "not a folder")],
)
def test_bad_paths_are_one_line(option, message, capsys):
    with pytest.raises(SystemExit):
        gpu_check.main([*TINY, *option])
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cuda_asked_without_a_gpu_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit, match="sees no CUDA GPU; use --device cpu --tiny"):
        gpu_check.main(["--no-install", "--json", str(tmp_path / "x.json")])


# A stand-in for an official checkout: the modules and calls the official train.py uses (TrainOptions().parse() of
# sys.argv, create_model, setup, set_input, optimize_parameters), with a parser that lacks --display_id, as newer
# checkouts do, so that the adapter must pass only the options the checkout knows.
OFFICIAL = {
    "options/__init__.py": "",
    "options/train_options.py": """
import argparse, sys
class TrainOptions:
    def initialize(self, parser):
        for name in ("--dataroot", "--name", "--checkpoints_dir", "--model", "--gpu_ids", "--load_size"):
            parser.add_argument(name)
        parser.add_argument("--batch_size", type=int)
        parser.add_argument("--crop_size", type=int)
        parser.add_argument("--no_html", action="store_true")
        return parser
    def parse(self):
        opt = self.initialize(argparse.ArgumentParser()).parse_args(sys.argv[1:])
        assert opt.model == "cycle_gan" and opt.gpu_ids == "-1" and opt.no_html
        return opt
""",
    "models/__init__.py": """
import torch
class Model:
    def __init__(self, opt):
        self.net = torch.nn.Conv2d(3, 3, 3, padding=1)
        self.optimizer = torch.optim.Adam(self.net.parameters())
    def setup(self, opt):
        pass
    def set_input(self, data):
        self.real_a = data["A"]
    def optimize_parameters(self):
        self.optimizer.zero_grad()
        self.net(self.real_a).square().mean().backward()
        self.optimizer.step()
def create_model(opt):
    assert opt.batch_size == 2 and opt.crop_size == 16
    return Model(opt)
""",
    "models/cycle_gan_model.py": "",
}


def test_the_official_step_is_timed_through_the_official_api(tmp_path):
    for name, text in OFFICIAL.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    command = [sys.executable, "-m", "benchmarks.gpu_official", str(tmp_path), "--device", "cpu", "--size", "16",
               "--batch", "2", "--steps", "2", "--warmup", "1"]  # fmt: skip
    done = subprocess.run(command, cwd=gpu_check.ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["steps_per_s"] > 0 and result["pairs_per_s"] == pytest.approx(2 * result["steps_per_s"])


def test_the_results_file_is_named_after_the_device():
    assert gpu_check.parse(["--device", "cpu"]).json.name == "results-cpu-check.json"
    assert gpu_check.parse([]).json.name == "results-gpu.json"  # cuda, the default
    assert gpu_check.parse(["--device", "cuda:1"]).json.name == "results-gpu.json"


def test_gpu_speed_ups_act_on_cuda_only(monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    net = nn.Conv2d(3, 4, 3)

    def trainer(device: str):
        return SimpleNamespace(strategy=SimpleNamespace(root_device=torch.device(device)))

    GpuSpeedUps(channels_last=True).setup(trainer("cpu"), net, "fit")
    assert net.weight.is_contiguous() and not torch.backends.cudnn.benchmark
    GpuSpeedUps(channels_last=True).setup(trainer("cuda"), net, "fit")
    assert net.weight.is_contiguous(memory_format=torch.channels_last) and torch.backends.cudnn.benchmark
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    torch.use_deterministic_algorithms(True)  # what trainer.deterministic does
    try:
        GpuSpeedUps().setup(trainer("cuda"), net, "fit")
    finally:
        torch.use_deterministic_algorithms(False)
    assert not torch.backends.cudnn.benchmark, "autotuning would undo the deterministic choice of algorithms"


@pytest.mark.slow
def test_every_family_in_every_precision_on_the_cpu(tmp_path):
    out = tmp_path / "gpu.json"
    gpu_check.main([*TINY, "--parts", "fit", "--budget-s", "0", "--json", str(out)])  # exits 1 when a check fails
    rows = json.loads(out.read_text())["results"]
    inference_rows = len(fit_checks.FAMILIES) - len(fit_checks.NOISE_FAMILIES)  # the noise models do not translate
    exactness_rows = 1  # CycleGAN's resume exactness under trainer.deterministic comes first
    assert len(rows) == exactness_rows + len(fit_checks.FAMILIES) * len(gpu_check.PRECISIONS) + inference_rows
    assert all(row["ok"] for row in rows)


@pytest.mark.parametrize("device, pinned", [("cuda", True), ("cpu", False)])
def test_loader_pins_memory_when_the_trainer_runs_on_cuda(tiny_domains, device, pinned):
    data = UnpairedDataModule(tiny_domains, load_size=18, crop_size=16, batch_size=1, num_workers=0)
    data.trainer = SimpleNamespace(strategy=SimpleNamespace(root_device=torch.device(device)), current_epoch=0,
                                   world_size=1, global_rank=0)  # fmt: skip
    data.setup("fit")
    assert data.train_dataloader().pin_memory is pinned  # built only: nothing is copied to a GPU here


def test_the_shell_wrapper_runs_the_module_from_anywhere(tmp_path):
    script = gpu_check.ROOT / "benchmarks" / "gpu_check.sh"
    done = subprocess.run(["bash", str(script), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "--wheels" in done.stdout and "--official" in done.stdout


def test_stop_on_non_finite_reads_logged_tensors_and_names_the_term(tmp_path):
    # Without Lightning's result collection (another Lightning version) it falls back to callback_metrics.
    logged = {"train/g/total": torch.tensor(1.0), "train/d/a": torch.tensor(math.inf)}
    trainer = SimpleNamespace(callback_metrics=logged, global_step=6, current_epoch=1, callbacks=[],
                              default_root_dir=str(tmp_path))  # fmt: skip
    with pytest.raises(FloatingPointError, match=r"train/d/a = inf at step 6 \(epoch 1, batch 2\)"):
        StopOnNonFinite().on_train_batch_end(trainer, None, None, None, batch_idx=2)


def test_stop_on_non_finite_leaves_callback_metrics_alone(tiny_cyclegan, tiny_domains, monkeypatch):
    # trainer.callback_metrics turns the progress-bar values into Python floats: a GPU sync every batch
    def no_reading(self):
        raise AssertionError("trainer.callback_metrics read during training")

    monkeypatch.setattr(Trainer, "callback_metrics", property(no_reading))
    data = UnpairedDataModule(tiny_domains, load_size=18, crop_size=16, batch_size=1, num_workers=0)
    trainer = Trainer(accelerator="cpu", max_steps=4, logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                      callbacks=[StopOnNonFinite()])  # fmt: skip
    trainer.fit(tiny_cyclegan(), datamodule=data)
    assert trainer.global_step == 4
