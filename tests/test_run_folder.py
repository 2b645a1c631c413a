"""--trainer.default_root_dir moves the whole run of every shipped config: checkpoints, samples, logs (wandb) and the
saved config land under it, and nothing under the folder the command runs in."""

from pathlib import Path

import pytest
import yaml

from translate.cli import main

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
OVERLAYS = {"stargan": ["debug.yaml", "debug_stargan.yaml"], "travelgan": ["debug_travelgan.yaml"]}
SHIPPED = sorted(p.stem for p in CONFIGS.glob("*.yaml") if not p.stem.startswith("debug"))


def _overlays(config: str, tmp_path: Path) -> list[Path]:
    """The debug overlays (tiny networks and images), then the config's own logger and callbacks back."""
    family = next((name for name in OVERLAYS if config.startswith(name)), None)
    shipped = yaml.safe_load((CONFIGS / f"{config}.yaml").read_text())["trainer"]
    restore = tmp_path / "restore.yaml"
    restore.write_text(yaml.safe_dump({"trainer": {"logger": shipped["logger"], "callbacks": shipped["callbacks"],
                                                   "fast_dev_run": False, "max_steps": 2}}))  # fmt: skip
    return [CONFIGS / name for name in OVERLAYS.get(family, ["debug.yaml"])] + [restore]


@pytest.fixture(autouse=True)
def _one_wandb_run_per_test():
    yield
    import wandb

    wandb.finish()  # each `translate fit` is its own process; in one test process the next run would reuse this one


@pytest.mark.parametrize("config", SHIPPED)
def test_default_root_dir_moves_the_whole_run(config, tiny_domains, tmp_path, monkeypatch):
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    monkeypatch.chdir(here)
    configs = [CONFIGS / f"{config}.yaml", *_overlays(config, tmp_path)]
    main(["fit", *(f"--config={c}" for c in configs), f"--data.root={tiny_domains}",
          f"--trainer.default_root_dir={elsewhere}"])  # fmt: skip
    assert list(here.iterdir()) == []
    assert (elsewhere / "config.yaml").is_file() and list(elsewhere.rglob("last.ckpt"))
    assert list((elsewhere / "wandb").glob("offline-run-*"))
    if any("SampleGrid" in c["class_path"] for c in yaml.safe_load(configs[-1].read_text())["trainer"]["callbacks"]):
        assert list((elsewhere / "samples").glob("*.png"))
