"""An identity weight that changes over training (#28): ``lambda_identity_end`` moves CycleGAN's and TraVeLGAN's
identity weight linearly from ``lambda_identity`` at the first step to the end value at the run's last, as a function
of the global step only: the weight at the start, middle and end, the weight the loss uses, a resumed run that
continues bit-exact, the refusal of a run of no length, and nothing changed without it."""

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import yaml
from lightning.pytorch import Callback, seed_everything

from translate.cli import main
from translate.schedules import linear_weight, run_length
from translate.training.cli import run_cli

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _trainer(global_step=0, max_steps=-1, max_epochs=-1, batches=float("inf"), optimizers=2) -> SimpleNamespace:
    return SimpleNamespace(global_step=global_step, max_steps=max_steps, max_epochs=max_epochs,
                           num_training_batches=batches, optimizers=[None] * optimizers)  # fmt: skip


def test_the_weight_moves_from_start_to_end_over_the_run():
    def weight(step: int, **run) -> float:
        return linear_weight(0.1, 0.0, _trainer(step, **run), "lambda_identity_end")

    assert weight(0, max_steps=1000) == 0.1  # start
    assert weight(500, max_steps=1000) == pytest.approx(0.05)  # middle
    assert weight(1000, max_steps=1000) == 0.0  # end
    assert weight(1200, max_steps=1000) == 0.0  # a run made longer afterwards stays at the end value
    assert weight(501, max_steps=1000) == weight(500, max_steps=1000)  # D's step after G's: the batch's weight
    assert linear_weight(20.0, 5.0, _trainer(300, max_steps=400), "x") == pytest.approx(8.75)  # upwards too: 20 -> 5
    assert linear_weight(0.0, 1.0, _trainer(300, max_steps=400), "x") == pytest.approx(0.75)
    # max_epochs: epochs x batches x optimizers (global_step counts each optimizer's step); the shorter of the two
    assert run_length(_trainer(max_epochs=16, batches=200), "x") == 16 * 200 * 2
    assert run_length(_trainer(max_epochs=16, batches=200, max_steps=1000), "x") == 1000
    assert weight(3200, max_epochs=16, batches=200) == pytest.approx(0.05)
    # no schedule, or no run: the start value, whatever the trainer says
    assert linear_weight(0.1, None, _trainer(500), "x") == 0.1
    assert linear_weight(0.1, 0.0, None, "x") == 0.1


def test_a_run_of_no_length_is_refused_in_one_line():
    with pytest.raises(ValueError, match="^lambda_identity_end changes a weight over the run, but trainer.max_steps "
                                         "and trainer.max_epochs are both -1") as refused:  # fmt: skip
        run_length(_trainer(max_steps=-1, max_epochs=-1), "lambda_identity_end")
    assert "\n" not in str(refused.value)


@pytest.fixture(params=["cyclegan", "travelgan"])
def scheduled(request, tiny_cyclegan, tiny_travelgan):
    """(builder, the identity weight's start, its end) of a tiny model with both weights given to it."""
    if request.param == "cyclegan":
        return partial_model(tiny_cyclegan, 0.5, 0.1)
    return partial_model(tiny_travelgan, 20.0, 5.0)


def partial_model(build, start: float, end: float | None):
    return lambda **kwargs: build(lambda_identity=start, **{"lambda_identity_end": end, **kwargs}), start, end


class _Weights(Callback):
    """What each training batch logged: the identity weight and the loss terms."""

    def __init__(self):
        self.logged = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.logged.append({key: float(value) for key, value in trainer.callback_metrics.items()})


def _total(model, logged: dict, weight: float) -> float:
    """The generators' total loss rebuilt from the logged terms with identity weight ``weight``."""
    terms = {key.removeprefix("train/g/"): value for key, value in logged.items() if key.startswith("train/g/")}
    if "lambda_cycle" in model.hparams:  # CycleGAN: the identity weight is relative to lambda_cycle
        cycle = model.hparams.lambda_cycle
        return (terms["adv_ab"] + terms["adv_ba"] + cycle * (terms["cycle_a"] + terms["cycle_b"])
                + cycle * weight * (terms["idt_a"] + terms["idt_b"]))  # fmt: skip
    content = sum(terms[f"{term}_{name}"] for term in ("travel", "margin") for name in ("ab", "ba")) / 2
    return (terms["adv_ab"] + terms["adv_ba"] + model.hparams.lambda_travel * content
            + weight * (terms["idt_ab"] + terms["idt_ba"]))  # fmt: skip


def test_each_step_weighs_the_identity_term_by_the_step_s_weight(scheduled, seeded_trainer, tiny_data, tiny_domains,
                                                                  tmp_path):  # fmt: skip
    build, start, end = scheduled
    model, weights = build(), _Weights()
    trainer = seeded_trainer(tmp_path, max_steps=12, limit_val_batches=0, enable_checkpointing=False,
                             callbacks=[weights])  # fmt: skip
    trainer.fit(model, datamodule=tiny_data(tiny_domains))
    # two optimizer steps a batch; TraVeLGAN's D steps before its G, and the batch keeps the weight of its first step
    expected = [start + (end - start) * step / 12 for step in range(0, 12, 2)]
    assert [logged["train/g/lambda_identity"] for logged in weights.logged] == pytest.approx(expected)
    for logged, weight in zip(weights.logged, expected, strict=True):
        assert logged["train/g/total"] == pytest.approx(_total(model, logged, weight), rel=1e-5)


def test_without_an_end_nothing_changes(scheduled, seeded_trainer, tiny_data, tiny_domains, tmp_path):
    """None trains as before (no new log, no new key); an end equal to the start trains to the same weights."""
    build, start, _ = scheduled
    trained = {}
    for name, end in (("none", None), ("constant", start)):
        seed_everything(0)
        model, weights = build(lambda_identity_end=end), _Weights()
        trainer = seeded_trainer(tmp_path / name, max_steps=6, limit_val_batches=0, enable_checkpointing=False,
                                 callbacks=[weights])  # fmt: skip
        trainer.fit(model, datamodule=tiny_data(tiny_domains))
        assert ("train/g/lambda_identity" in weights.logged[-1]) is (end is not None)
        trained[name] = model.state_dict()
    assert list(trained["none"]) == list(trained["constant"])
    for key, value in trained["none"].items():
        assert torch.equal(value, trained["constant"][key]), key


def test_a_run_of_no_length_is_refused_before_it_trains(scheduled, fit, tiny_data, tiny_domains, tmp_path):
    build, _, _ = scheduled
    with pytest.raises(ValueError, match="lambda_identity_end changes a weight over the run"):
        fit(build(), tiny_data(tiny_domains), tmp_path, max_epochs=-1)
    with pytest.raises(ValueError, match="lambda_identity_end must be a number >= 0"):
        build(lambda_identity_end=-1.0)


# --- through the CLI: an interrupted run resumes bit-exact ----------------------------------------------------------

RUNS = {  # name -> configs, model overrides
    "cyclegan": (["quickstart", "debug"], {"lambda_identity_end": 0.0}),
    "travelgan": (["travelgan_quickstart", "debug_travelgan"], {"lambda_identity_end": 5.0}),
}


def fit_cli(root: Path, run: Path, configs: list[str], model: dict, *extra: str) -> dict[str, torch.Tensor]:
    """``translate fit`` of ``configs`` and ``model``'s init_args for 12 optimizer steps (6 batches: 3 an epoch of
    tiny_domains), StepSeed, a checkpoint every 4 steps; returns the trained state_dict."""
    overlay = run.parent / f"{run.name}.yaml"
    checkpoint = {"dirpath": str(run / "checkpoints"), "filename": "{step}", "save_top_k": -1,
                  "every_n_train_steps": 4}  # fmt: skip
    overlay.write_text(yaml.safe_dump({"model": {"init_args": model}, "trainer": {"callbacks": [
        {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint", "init_args": checkpoint},
        {"class_path": "translate.training.callbacks.StepSeed"},
    ]}}))  # fmt: skip
    paths = [CONFIGS / f"{name}.yaml" for name in configs] + [overlay]
    cli = run_cli(["fit", *(f"--config={path}" for path in paths), f"--data.source.root={root}",
                   "--trainer.fast_dev_run=false", "--trainer.max_steps=12", "--trainer.limit_val_batches=0",
                   f"--trainer.default_root_dir={run}", *extra])  # fmt: skip
    assert cli.trainer.global_step == 12
    return {key: value.clone() for key, value in cli.model.state_dict().items()}


@pytest.mark.parametrize("name", RUNS)
def test_a_run_resumed_mid_schedule_ends_bit_exact(name, tiny_domains, tmp_path):
    configs, model = RUNS[name]
    straight = fit_cli(tiny_domains, tmp_path / "straight", configs, model)
    middle = tmp_path / "straight" / "checkpoints" / "step=8.ckpt"  # mid-epoch, mid-schedule
    resumed = fit_cli(tiny_domains, tmp_path / "resumed", configs, model, f"--ckpt_path={middle}")
    assert list(straight) == list(resumed)
    for key, value in straight.items():
        assert torch.equal(value, resumed[key]), f"{name}: {key} differs from the uninterrupted run"


def model_config(capsys, *configs: str) -> dict:
    """The model's init_args as ``translate fit --print_config`` resolves ``configs`` (names under configs/)."""
    with pytest.raises(SystemExit) as printed:
        main(["fit", *(a for name in configs for a in ("--config", str(CONFIGS / f"{name}.yaml"))), "--print_config"])
    assert printed.value.code in (0, None)
    return yaml.safe_load(capsys.readouterr().out)["model"]["init_args"]


@pytest.mark.parametrize(
    "base, overlay, start, end",
    [("quickstart", "quality/idt_decay", 0.1, 0.0), ("travelgan_quickstart", "quality/travelgan_idt_decay", 20, 5)],
)
def test_the_quality_overlays_schedule_the_identity_weight(base, overlay, start, end, capsys):
    config = model_config(capsys, base, overlay)
    assert (config["lambda_identity"], config["lambda_identity_end"]) == (start, end)
