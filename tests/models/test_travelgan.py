"""TraVeLGAN and the Siamese-discriminator TraVeLGAN: training updates and logs every term, the official step order,
the test metrics, the before-after cosine rising, clear errors, bf16-mixed precision.
"""

from functools import partial

import pytest
import torch
from lightning.pytorch import Callback, Trainer

from translate.models import SiameseDiscTraVeLGAN


@pytest.fixture
def tiny_siamese_travel(tiny_siamese_disc):
    """The Siamese-discriminator model with 0.1's objective (TraVeL + margin content, distance hinge)."""
    return partial(tiny_siamese_disc, objective="travel")


@pytest.fixture
def build(request):
    """The model builder a test is parametrized with (indirectly, by its fixture's name)."""
    return request.getfixturevalue(request.param)


BOTH_MODELS = pytest.mark.parametrize(
    "build",
    ["tiny_travelgan", "tiny_siamese_travel", "tiny_siamese_disc"],
    ids=["travelgan", "siamese_disc_travel", "siamese_disc_article"],
    indirect=True,
)


@BOTH_MODELS
def test_one_epoch_updates_every_network_and_logs_every_term(fit, tiny_data, build, tiny_domains, tmp_path):
    model = build()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    trainer = fit(model, tiny_data(tiny_domains), tmp_path, limit_val_batches=0)
    unchanged = [name for name, p in model.named_parameters() if torch.equal(p, before[name])]
    assert not unchanged, f"parameters not updated: {unchanged[:5]}"
    if isinstance(model, SiameseDiscTraVeLGAN) and model.hparams.objective == "article":  # angle only, no margin
        expected = {"train/g/adv_ab", "train/g/angle_ab", "train/g/cosine_ab", "train/d/realism_b"}
        expected |= {"train/d/angle_b", "train/d/cosine_b", "train/d/dist_real_b", "train/d/dist_fake_b"}
        expected |= {"train/d/total", "train/g/total"}
        assert not {"train/g/travel_ab", "train/d/travel_b", "train/d/margin_b"} & set(trainer.callback_metrics)
    elif isinstance(model, SiameseDiscTraVeLGAN):
        expected = {"train/g/adv_ab", "train/g/travel_ab", "train/g/cosine_ab", "train/d/realism_b"}
        expected |= {"train/d/travel_b", "train/d/margin_b", "train/d/cosine_b", "train/d/dist_real_b"}
        expected |= {"train/d/dist_fake_b", "train/d/total", "train/g/total"}
    else:
        assert any(name.startswith("siamese.") for name in before)  # S learns (and is checked above)
        expected = {f"train/g/{term}_{d}" for term in ("adv", "travel", "margin", "cosine") for d in ("ab", "ba")}
        expected |= {"train/g/total", "train/d/a", "train/d/b"}
    logged = trainer.callback_metrics
    assert expected <= set(logged), expected - set(logged)
    assert all(torch.isfinite(logged[key]) for key in expected)
    # The logged total is the generator's objective (docs/models.md), from the last step's terms
    if isinstance(model, SiameseDiscTraVeLGAN):  # the margin is D's alone: G cannot move D's vectors of real images
        assert "train/g/margin_ab" not in logged
        content = "angle" if model.hparams.objective == "article" else "travel"
        objective = logged["train/g/adv_ab"] + 10 * logged[f"train/g/{content}_ab"]
    else:
        content = sum(logged[f"train/g/{term}_{d}"] for term in ("travel", "margin") for d in ("ab", "ba")) / 2
        objective = logged["train/g/adv_ab"] + logged["train/g/adv_ba"] + 10 * content
    assert logged["train/g/total"].item() == pytest.approx(objective.item(), rel=1e-5)


class _StepOrder(Callback):
    def __init__(self):
        self.steps = []

    def on_train_start(self, trainer, pl_module):
        opt_g, opt_d = trainer.optimizers
        opt_g.register_step_pre_hook(lambda *_: self.steps.append("g"))
        opt_d.register_step_pre_hook(lambda *_: self.steps.append("d"))


@BOTH_MODELS
def test_discriminator_steps_before_the_generator_as_in_the_official_code(
    fit, tiny_data, build, tiny_domains, tmp_path
):
    order = _StepOrder()
    fit(build(), tiny_data(tiny_domains), tmp_path, limit_train_batches=2, limit_val_batches=0, callbacks=[order])
    assert order.steps == ["d", "g", "d", "g"]


def test_siamese_disc_computes_each_vector_once_per_step(tiny_siamese_disc, fit, tiny_data, tiny_domains, tmp_path):
    # Realism and TraVeL share D's vectors: D's step runs D on B, A and G(A) once each, G's step on A and G(A)
    # (7 passes before, each fake twice), and spectral norm computes each weight, advancing its power iteration,
    # once per step, so that every term of a step sees the same D.
    model = tiny_siamese_disc()
    passes, norms = [], []
    model.disc_b.register_forward_hook(lambda module, args, output: passes.append(len(args[0])))
    model.disc_b.head.parametrizations.weight[0].register_forward_hook(lambda *_: norms.append(1))
    fit(model, tiny_data(tiny_domains), tmp_path, limit_train_batches=1, limit_val_batches=0)
    assert passes == [2, 2, 2, 2, 2] and len(norms) == 2


@BOTH_MODELS
def test_test_logs_the_validation_metrics_under_test(tiny_data, build, tiny_domains, tmp_path):
    model, data = build(), tiny_data(tiny_domains)
    trainer = Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False,
                      default_root_dir=tmp_path)  # fmt: skip
    (validated,) = trainer.validate(model, datamodule=data)
    (tested,) = trainer.test(model, datamodule=data)
    expected = {f"test/cosine_{d}" for d in (("ab", "ba") if model.gen_ba is not None else ("ab",))}
    assert set(tested) == expected
    for key, value in tested.items():
        assert value == pytest.approx(validated[key.replace("test/", "val/")])


class _CosineHistory(Callback):
    def __init__(self):
        self.values = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.values.append(trainer.callback_metrics["train/g/cosine_ab"].item())


@pytest.mark.parametrize(
    "build", ["tiny_travelgan", "tiny_siamese_travel"], ids=["travelgan", "siamese_disc_travel"], indirect=True
)
def test_training_raises_the_before_after_cosine(fit, tiny_data, build, tiny_domains, tmp_path):
    # One batch of all 6 A images per epoch (30 pairs): the cosine between v_ij and v'_ij on the training batch,
    # averaged over the first and the last 8 steps (measured: ~0.03 -> ~0.3 for both models and two seeds).
    history = _CosineHistory()
    fit(build(), tiny_data(tiny_domains, batch_size=6), tmp_path, max_epochs=40, limit_val_batches=0,
        callbacks=[history])  # fmt: skip
    first, last = sum(history.values[:8]) / 8, sum(history.values[-8:]) / 8
    assert last > first + 0.15, (first, last)


def test_setup_and_arguments_fail_clearly(fit, tiny_travelgan, tiny_data, tiny_domains, tmp_path):
    with pytest.raises(ValueError, match="batch_size >= 2"):
        fit(tiny_travelgan(), tiny_data(tiny_domains, batch_size=1), tmp_path)
    with pytest.raises(ValueError, match="wgangp"):
        tiny_travelgan(gan_mode="wgangp")
    with pytest.raises(ValueError, match="bidirectional"):
        tiny_travelgan(bidirectional=False)(torch.zeros(1, 3, 16, 16), direction="b2a")


def test_channel_mismatch_names_both_options(fit, tiny_travelgan, tiny_data, tiny_domains, tmp_path):
    with pytest.raises(ValueError, match="channels=1.*data.channels=3"):
        fit(tiny_travelgan(channels=1), tiny_data(tiny_domains), tmp_path)


def test_bf16_mixed_trains_the_travelgans(tiny_travelgan, tiny_siamese_disc, tiny_data, tiny_domains, tmp_path):
    for model in (tiny_travelgan(), tiny_siamese_disc()):
        data = tiny_data(tiny_domains, batch_size=3)
        trainer = Trainer(accelerator="cpu", precision="bf16-mixed", max_steps=4, logger=False, limit_val_batches=0,
                          enable_checkpointing=False, enable_progress_bar=False, default_root_dir=tmp_path)  # fmt: skip
        trainer.fit(model, datamodule=data)
        terms = {k: v for k, v in trainer.callback_metrics.items() if k.startswith("train/")}
        assert terms and all(torch.isfinite(v) for v in terms.values()), (type(model).__name__, terms)


def test_a_siamese_checkpoint_resumes_only_under_its_own_objective(tiny_domains, tmp_path):
    from translate.cli import main

    config = ["--config", "configs/travelgan_siamese_quickstart.yaml", "--config", "configs/debug_travelgan.yaml",
              f"--data.source.root={tiny_domains}", "--trainer.fast_dev_run=false", "--trainer.max_steps=2",
              "--trainer.enable_checkpointing=true", f"--trainer.default_root_dir={tmp_path}"]  # fmt: skip
    travel = ["--model.init_args.objective=travel", "--model.init_args.realism_margin=5"]
    main(["fit", *config, *travel])
    ckpt = next(tmp_path.rglob("*.ckpt"))
    old = torch.load(ckpt, weights_only=False)  # as written before `objective` existed: 0.1 trained under travel
    del old["hyper_parameters"]["objective"]
    torch.save(old, ckpt)
    longer = [*config, "--trainer.max_steps=4", f"--ckpt_path={ckpt}"]
    margin = pytest.warns(UserWarning, match=r"the checkpoint's values are used where the config differs "
                                             r"\(realism_margin: checkpoint 5.0, config 100.0\)")  # fmt: skip
    with margin, pytest.raises(SystemExit, match=r"trained with objective 'travel' and the config says 'article': "
                                                 r"resume it with --model.init_args.objective travel"):  # fmt: skip
        main(["fit", *longer, "--model.init_args.objective=article"])  # the class default (the configs say travel)
    main(["fit", *longer, *travel])  # with its own objective it trains on
    assert (ckpt.parent / "epoch=0-step=4.ckpt").exists()


def test_a_siamese_model_refuses_another_realism_margin_than_its_checkpoint(tiny_siamese_disc, tiny_data, tiny_domains,
                                                                           tmp_path):  # fmt: skip
    from lightning.pytorch.callbacks import ModelCheckpoint

    def trainer(steps):
        return Trainer(accelerator="cpu", max_steps=steps, logger=False, enable_progress_bar=False,
                       enable_model_summary=False, default_root_dir=tmp_path,
                       callbacks=[ModelCheckpoint(dirpath=tmp_path, save_last=True)])  # fmt: skip

    trainer(2).fit(tiny_siamese_disc(realism_margin=5.0), datamodule=tiny_data(tiny_domains))
    with pytest.raises(ValueError, match="trained with realism_margin 5.0 and the config says 9.0"):
        trainer(4).fit(tiny_siamese_disc(realism_margin=9.0), datamodule=tiny_data(tiny_domains),
                       ckpt_path=tmp_path / "last.ckpt", weights_only=False)  # fmt: skip


@pytest.mark.parametrize("bidirectional", [True, False])
def test_the_identity_term_is_off_by_default_and_weighs_l1_of_g_on_its_target_domain(
    bidirectional, fit, tiny_data, tiny_travelgan, tiny_domains, tmp_path
):
    official = fit(tiny_travelgan(bidirectional=bidirectional), tiny_data(tiny_domains), tmp_path, max_steps=2)
    assert not any(key.startswith("train/g/idt") for key in official.callback_metrics)  # the paper's objective
    model = tiny_travelgan(bidirectional=bidirectional, lambda_identity=3.0)
    logged = fit(model, tiny_data(tiny_domains), tmp_path, max_steps=2, limit_val_batches=0).callback_metrics
    names = ("ab", "ba") if bidirectional else ("ab",)
    content = sum(logged[f"train/g/{term}_{n}"] for term in ("travel", "margin") for n in names) / len(names)
    adv = sum(logged[f"train/g/adv_{n}"] for n in names)
    identity = sum(logged[f"train/g/idt_{n}"] for n in names)
    assert identity > 0 and logged["train/g/total"].item() == pytest.approx((adv + 10 * content + 3 * identity).item())
