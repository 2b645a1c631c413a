"""In a job (stdout not a terminal) fit prints a summary block and plain progress lines, never carriage-return bars;
warnings that do not apply stay off the first screen; loader workers follow the machine."""

import logging
import warnings
from pathlib import Path

import pytest
import yaml
from lightning.pytorch import Trainer

from translate.cli import main
from translate.data import UnpairedDataModule
from translate.training.console import PlainProgress

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _fit_quickstart(root: Path, run: Path, *extra: str) -> None:
    main(["fit", f"--config={CONFIGS / 'quickstart_official.yaml'}", f"--config={CONFIGS / 'debug.yaml'}",
          f"--data.source.root={root}",
          "--trainer.fast_dev_run=false", "--trainer.max_steps=6", "--trainer.enable_progress_bar=true",
          f"--trainer.default_root_dir={run}", *extra])  # fmt: skip


def test_a_job_log_has_a_summary_and_plain_progress_lines(tiny_domains, tmp_path, caplog, capsys):
    caplog.set_level(logging.INFO, logger="translate")
    _fit_quickstart(tiny_domains, tmp_path / "run")
    text = caplog.text
    expected = [
        "translate fit: CycleGAN",
        "networks     gen_ab ",
        "disc_b ",
        "batches an epoch",
        "length ",
        "precision    32-true on cpu (1 process)",
        f"checkpoints  {tmp_path / 'run'}",
        "samples      ",
    ]
    for line in expected:
        assert line in text, line
    progress = [message for message in caplog.messages if message.startswith("epoch ")]
    assert progress and "step 6" in progress[-1] and "img/s" in progress[-1] and "train/g/total" in progress[-1]
    captured = capsys.readouterr()
    assert "\r" not in captured.out + captured.err  # no bar redrawn per batch


def test_plain_progress_writes_one_line_per_interval(tiny_cyclegan, tiny_data, tiny_domains, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="translate")
    model, data = tiny_cyclegan(), tiny_data(tiny_domains, load_size=16)
    trainer = Trainer(accelerator="cpu", max_epochs=2, logger=False, enable_checkpointing=False,
                      enable_model_summary=False, default_root_dir=tmp_path, callbacks=[PlainProgress(0)])  # fmt: skip
    trainer.fit(model, datamodule=data)
    lines = [message for message in caplog.messages if message.startswith("epoch ")]
    assert len(lines) == 2 * 3 + 1  # every batch (interval 0), then the end
    assert lines[0].startswith("epoch 1/2 · batch 1/3 · step 2 ") and lines[-1].startswith("epoch 2/2 · batch 3/3")
    assert "ETA 0:00:00" in lines[-1]


def test_lightnings_manual_optimisation_checkpoint_warning_is_not_shown(tiny_domains, tmp_path):
    overlay = tmp_path / "every.yaml"
    every = {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint", "init_args": {"every_n_train_steps": 2}}
    overlay.write_text(yaml.safe_dump({"trainer": {"callbacks": [every]}}))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        _fit_quickstart(tiny_domains, tmp_path / "run", f"--config={overlay}")
    shown = [str(w.message) for w in seen]
    assert not [m for m in shown if "manual optimization and every_n_train_steps" in m or "LeafSpec" in m]


@pytest.mark.parametrize("config", sorted(p.name for p in CONFIGS.glob("*.yaml")))
def test_shipped_configs_leave_loader_workers_to_the_machine(config):
    data = yaml.safe_load((CONFIGS / config).read_text()).get("data") or {}
    assert data.get("num_workers") in (None, 0, 1)  # None: min(4, the CPUs this process may use)


def test_default_workers_never_exceed_the_cores(tmp_path, monkeypatch):
    monkeypatch.setattr("translate.data.datamodule._available_cpus", lambda: 2)
    assert UnpairedDataModule(tmp_path).num_workers == 2


@pytest.mark.parametrize(
    ("domains", "labelled", "expected"),
    [(("A", "B"), False, "2 per domain (2 domains)"), (("apple", "orange", "lime"), True,
     "2, each with its label (3 labels)"), ((), False, "2")],
)  # fmt: skip
def test_the_summary_counts_images_per_batch_as_the_data_makes_them(domains, labelled, expected):
    from translate.data.spec import DataSpec
    from translate.training.console import _images_per_batch

    class Described:  # what the summary reads of a data module: its spec (translate.data.spec.DescribesData)
        spec = DataSpec(channels=3, domains=domains, image_size=32, batch_size=2, labelled=labelled)

        def sample_batch(self, count: int) -> tuple:  # part of the protocol; the summary does not call it
            return ()

    assert _images_per_batch(Described()) == expected
    assert _images_per_batch(object()) == "as the data module makes them"
