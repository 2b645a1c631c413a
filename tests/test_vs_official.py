"""benchmarks/vs_official.py on a stand-in for an official checkout (a few lines with the official API: TrainOptions
parsing sys.argv, create_model, set_input, optimize_parameters, netG_A), tiny sizes, in this process."""

import json
import sys

import pytest

from benchmarks import vs_official

STAND_IN = {
    "options/__init__.py": "",
    "options/train_options.py": """
import argparse


class TrainOptions:
    def initialize(self, parser):
        for name in ("--dataroot", "--name", "--checkpoints_dir", "--model", "--gpu_ids", "--netG", "--CUT_mode"):
            parser.add_argument(name)
        for name in ("--batch_size", "--crop_size", "--load_size", "--display_id", "--ngf", "--ndf"):
            parser.add_argument(name, type=int)
        parser.add_argument("--no_html", action="store_true")
        return parser

    def parse(self):
        return self.initialize(argparse.ArgumentParser()).parse_args()  # sys.argv, as the official code reads it
""",
    "models/__init__.py": """
import torch

PARSED, INITIALISED = [], []


class Model:
    def __init__(self, opt):
        PARSED.append(opt)
        self.netG_A = torch.nn.Conv2d(3, 3, 3, padding=1)
        self.optimizer = torch.optim.Adam(self.netG_A.parameters())

    def data_dependent_initialize(self, data):  # CUT's: called before setup
        INITIALISED.append(data["A"].shape)

    def setup(self, opt):
        print("networks initialised")

    def set_input(self, data):
        self.real_A = data["A"]

    def optimize_parameters(self):
        self.optimizer.zero_grad()
        self.netG_A(self.real_A).square().mean().backward()
        self.optimizer.step()


def create_model(opt):
    return Model(opt)
""",
}


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    for name, text in STAND_IN.items():
        (tmp_path / "official" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "official" / name).write_text(text)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the case puts the checkout first, as the official code needs
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    yield tmp_path / "official"
    for module in [m for m in sys.modules if m.split(".")[0] in ("models", "options")]:
        del sys.modules[module]


def test_rounds_alternate_and_the_file_records_the_machine(stand_in, tmp_path):
    result = vs_official.main(["--cyclegan", str(stand_in), "--sizes", "32", "--rounds", "2", "--steps", "2",
                               "--warmup", "0", "--ngf", "4", "--ndf", "4", "--blocks", "6", "--precisions", "fp32",
                               "--predict-sizes", "32", "--predict-images", "2", "--threads", "1", "--no-spawn",
                               "--json", str(tmp_path / "out.json")])  # fmt: skip
    assert json.loads((tmp_path / "out.json").read_text())["summary"] == json.loads(json.dumps(result["summary"]))
    opt = sys.modules["models"].PARSED[0]  # the official options the harness passed
    assert (opt.crop_size, opt.batch_size, opt.ngf, opt.ndf, opt.netG) == (32, 1, 4, 4, "resnet_6blocks")
    machine = result["machine"]
    assert machine["cpu"] and machine["threads"] == 1 and "avx512_bf16" in machine["flags"]
    assert len(result["load_before"]) == len(result["load_after"]) == 3
    orders = [[(c["kind"], c["side"]) for c in result["cases"] if c["round"] == r] for r in (0, 1)]
    assert orders[0] == [("train", "official"), ("train", "ours"), ("predict", "official"), ("predict", "ours")]
    assert orders[1] == [("predict", "ours"), ("predict", "official"), ("train", "ours"), ("train", "official")]
    train = [c for c in result["cases"] if c["kind"] == "train"]
    assert all(len(c["step_seconds"]) == 2 and min(c["step_seconds"]) > 0 for c in train)
    summary = {item["kind"]: item for item in result["summary"]}
    assert len(summary["train"]["ratio_per_round"]) == 2 and summary["predict"]["ours_loop_images_per_s"] > 0


def test_cut_and_fastcut_use_the_cut_checkout(stand_in, tmp_path):
    result = vs_official.main(["--cut", str(stand_in), "--sizes", "32", "--rounds", "1", "--steps", "1",
                               "--warmup", "0", "--ngf", "4", "--ndf", "4", "--blocks", "6", "--precisions", "bf16",
                               "--predict-sizes", "--threads", "1", "--no-spawn",
                               "--json", str(tmp_path / "out.json")])  # fmt: skip
    models = sys.modules["models"]
    assert [(opt.model, opt.CUT_mode) for opt in models.PARSED] == [("cut", "CUT"), ("cut", "FastCUT")]
    assert models.INITIALISED == [(1, 3, 32, 32)] * 2  # the first batch, before setup, as CUT's train.py
    assert [(item["model"], item["precision"]) for item in result["summary"]] == [("cut", "bf16"), ("fastcut", "bf16")]


def test_results_file_is_named_after_the_machine():
    assert vs_official.machine_slug({"cpu": "Intel(R) Xeon(R) Processor", "cpus": 2}) == "intel-xeon-2cpu"
    amd = {"cpu": "AMD EPYC 9R14 96-Core Processor", "cpus": 2}
    assert vs_official.machine_slug(amd) == "amd-epyc-9r14-96-core-2cpu"


def test_a_folder_without_the_official_code_is_refused(tmp_path):
    with pytest.raises(SystemExit):
        vs_official.main(["--cyclegan", str(tmp_path)])
