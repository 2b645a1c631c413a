"""'Train longer' through the CLI: a run that finished (max_steps at an epoch's end, or mid-epoch), continued from the
last.ckpt it left with a larger --trainer.max_steps, ends with the parameters of one uninterrupted run, for every
model."""

from pathlib import Path

import pytest
import torch
import yaml

from translate.cli import main

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
MODELS = {
    "cyclegan": ["quickstart.yaml", "debug.yaml"],
    "stargan": ["stargan_quickstart.yaml", "debug.yaml", "debug_stargan.yaml"],
    "travelgan": ["travelgan_quickstart.yaml", "debug_travelgan.yaml"],
    "siamese_disc": ["travelgan_siamese_quickstart.yaml", "debug_travelgan.yaml"],
}
# tiny_domains: 6 images in A, batch 2 -> 3 batches an epoch, 2 optimizer steps a batch (StarGAN: n_critic 1)
TOTAL_STEPS = 12
CASES = [(model, 6) for model in MODELS] + [("cyclegan", 8), ("stargan", 8)]  # 6: an epoch's end; 8: mid-epoch


def _fit(model: str, root: Path, run: Path, max_steps: int, *extra: str) -> dict:
    overlay = run.parent / f"{run.name}.yaml"
    overlay.write_text(yaml.safe_dump({"trainer": {"callbacks": [
        {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint", "init_args": {"save_last": True}},
        {"class_path": "translate.training.callbacks.StepSeed"},
    ]}}))  # fmt: skip
    configs = [CONFIGS / name for name in MODELS[model]] + [overlay]
    main(["fit", *(f"--config={c}" for c in configs), f"--data.root={root}", "--trainer.fast_dev_run=false",
          f"--trainer.max_steps={max_steps}", f"--trainer.default_root_dir={run}", *extra])  # fmt: skip
    return torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def references() -> dict:
    return {}  # model -> (data root, state_dict of one uninterrupted run), filled on first use


@pytest.mark.parametrize(("model", "first_steps"), CASES, ids=[f"{m}-{s}" for m, s in CASES])
def test_a_finished_run_trains_longer_exactly(model, first_steps, references, tiny_domains, tmp_path):
    if model not in references:
        references[model] = (tiny_domains, _fit(model, tiny_domains, tmp_path / "reference", TOTAL_STEPS))
    root, reference = references[model]
    finished = _fit(model, root, tmp_path / "finished", first_steps)
    assert finished["global_step"] == first_steps
    longer = _fit(model, root, tmp_path / "longer", TOTAL_STEPS,
                  f"--ckpt_path={tmp_path / 'finished' / 'checkpoints' / 'last.ckpt'}")  # fmt: skip
    assert longer["global_step"] == TOTAL_STEPS
    for name, expected in reference["state_dict"].items():
        assert torch.equal(expected, longer["state_dict"][name]), f"{name} differs from the uninterrupted run"
