"""`translate fit|validate|test`: every shipped config fits with the debug overlay, config mistakes end in one line
naming the key, validate and test report a checkpoint's metrics, StarGAN's domains come from the folders, an
interrupted run resumes bit for bit, and a finished run trained longer equals one uninterrupted run.
"""

from pathlib import Path

import pytest
import torch
import yaml
from lightning.pytorch import seed_everything
from lightning.pytorch.callbacks import ModelCheckpoint

from translate.cli import main

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(p for p in (REPO / "configs").glob("*.yaml") if not p.stem.startswith("debug"))  # debug*: overlays
DEBUG = str(REPO / "configs" / "debug.yaml")
DEBUG_UNET = str(REPO / "configs" / "debug_travelgan.yaml")  # U-Net generators have num_downs, not num_blocks
DEBUG_STARGAN = str(REPO / "configs" / "debug_stargan.yaml")  # stacked on DEBUG: 32 px, domains A and B
DEBUG_PIX2PIX = str(REPO / "configs" / "debug_pix2pix.yaml")  # tiny U-Net and PatchGAN; paired data (tiny_pairs)
QUICKSTART = str(REPO / "configs" / "quickstart_official.yaml")
DEBUG_NOISE = str(REPO / "configs" / "debug_noise.yaml")  # the noise models: tiny DCGAN networks, 32 px
DEBUG_VAEGAN = str(REPO / "configs" / "debug_vaegan.yaml")  # stacked on DEBUG_NOISE: a tiny encoder
NOISE_MODELS = ("dcgan", "cgan", "infogan", "siamese_gan", "vaegan")


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_every_config_fits_with_the_debug_overlay(config, tiny_domains, tiny_pairs, tiny_aligned, tmp_path):
    shipped = yaml.safe_load(config.read_text())
    overlays = [DEBUG_UNET] if config.stem.startswith("travelgan") else [DEBUG]
    if config.stem.startswith("stargan"):
        overlays.append(DEBUG_STARGAN)
    if shipped["model"]["class_path"] == "Pix2Pix":
        overlays = [DEBUG_PIX2PIX]
    if config.stem.startswith(NOISE_MODELS):  # images of every folder (conditional: trainA, trainB as classes)
        overlays = [DEBUG_NOISE, *([DEBUG_VAEGAN] if config.stem.startswith("vaegan") else [])]
    source = shipped["data"]["source"]["class_path"]
    root = {"MatchedPairs": tiny_pairs, "AlignedPairs": tiny_aligned}.get(source, tiny_domains)
    overlays = [arg for overlay in overlays for arg in ("--config", overlay)]
    main(["fit", "--config", str(config), *overlays, f"--data.source.root={root}",
          f"--trainer.default_root_dir={tmp_path}"])  # fmt: skip


@pytest.mark.parametrize("config", ["travelgan", "travelgan_quickstart", "travelgan_siamese",
                                    "travelgan_siamese_quickstart"])  # fmt: skip
def test_configs_carry_the_resume_and_interrupt_callbacks(config):  # resume itself: the resume tests below
    import yaml

    callbacks = yaml.safe_load((REPO / "configs" / f"{config}.yaml").read_text())["trainer"]["callbacks"]
    names = {callback["class_path"].rsplit(".", 1)[-1] for callback in callbacks}
    assert {"StepSeed", "SaveOnInterrupt", "StopOnNonFinite", "ImagesPerSecond", "ModelCheckpoint"} <= names
    assert any(callback["init_args"].get("save_last") for callback in callbacks if "init_args" in callback)


# --- mistakes ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "typed"),
    [
        (["-c", "nowhere.yaml"], "nowhere.yaml"),  # -c is --config: the missing file, not a missing model
        (["--confg", "x"], "--confg"),  # a typo: reported as such, not taken for "no --config given"
    ],
)
def test_config_options_and_typos_reach_jsonargparse(args, typed, capsys):
    # jsonargparse's wording is its own; what is ours: a failure, naming what was typed, not our "no model" line
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *args])
    assert exit_info.value.code not in (0, None)  # None and 0 are a success
    err = capsys.readouterr().err
    assert typed in err
    assert "no model given" not in err and "no model given" not in str(exit_info.value.code)


def test_unknown_config_key_is_one_clear_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--config", str(CONFIGS[0]), "--model.init_args.lambda_cycl=3"])
    err = capsys.readouterr().err
    assert "lambda_cycl" in err


@pytest.mark.parametrize(
    "option, named",
    [
        # one line since #20: the option, what is wrong, the name meant
        ("--model.init_args.lambda_cycl=3", "CycleGAN has no option 'lambda_cycl'"),  # unknown key
        ("--model.init_args.lambda_cycle=abc", "Expected a <class 'float'>. Got value: abc"),  # wrong type
        ("--data.batch_size=two", "data.batch_size: "),
        ("--data.source.bad_images=maybe", "data.source.init_args.bad_images: "),
        ("--model=NO_NETWORKS", "the following arguments are required: generator, discriminator"),  # missing
    ],
)
def test_config_errors_name_the_key_without_a_traceback(option, named, capsys, tmp_path):
    config = ["--config", QUICKSTART, "--config", DEBUG, f"--trainer.default_root_dir={tmp_path}"]  # never a long run
    if option == "--model=NO_NETWORKS":  # a config of its own: on top of another, init_args would be inherited
        (tmp_path / "bare.yaml").write_text("model: {class_path: CycleGAN}\ndata: {source: {class_path: DomainFolders, "
                                            "init_args: {root: nowhere}}}\n")  # fmt: skip
        config, option = ["--config", str(tmp_path / "bare.yaml")], f"--trainer.default_root_dir={tmp_path}"
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *config, option])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err


def test_a_missing_ckpt_path_is_one_line(tiny_domains, tmp_path):
    args = ["--config", QUICKSTART, "--config", DEBUG, f"--data.source.root={tiny_domains}"]
    with pytest.raises(SystemExit, match=r"--ckpt_path .*nope.ckpt does not exist; pass a .ckpt file or a run folder"):
        main(["test", *args, f"--ckpt_path={tmp_path / 'nope.ckpt'}"])
    (tmp_path / "empty_run").mkdir()
    with pytest.raises(SystemExit, match=r"no .ckpt file under .*empty_run"):
        main(["test", *args, f"--ckpt_path={tmp_path / 'empty_run'}"])


def test_missing_dataset_error_names_the_folder(tmp_path, capsys):
    missing = tmp_path / "apple2orange"
    with pytest.raises((FileNotFoundError, ValueError, SystemExit), match=None) as error:
        main(["fit", "--config", str(REPO / "configs/apple2orange.yaml"), "--config", DEBUG,
              f"--data.source.root={missing}", f"--trainer.default_root_dir={tmp_path}"])  # fmt: skip
    assert str(missing) in str(error.value) + capsys.readouterr().err


def test_fit_reports_our_own_errors_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", QUICKSTART, "--config", DEBUG, f"--data.source.root={tmp_path / 'nowhere'}",
              f"--trainer.default_root_dir={tmp_path}"])  # fmt: skip
    message = str(exit_info.value.code)
    assert message.startswith("translate fit: error: ") and str(tmp_path / "nowhere") in message
    assert "\n" not in message and "Traceback" not in capsys.readouterr().err


# --- validate and test ------------------------------------------------------------------------------------------------


def test_validate_and_test_report_a_checkpoints_metrics(train_tiny, tiny_domains, tmp_path, capsys):
    ckpt = train_tiny(tiny_domains, tmp_path / "run")
    common = ["--config", QUICKSTART, "--config", DEBUG, "--trainer.fast_dev_run=false",
              f"--data.source.root={tiny_domains}", f"--trainer.default_root_dir={tmp_path / 'eval'}",
              f"--ckpt_path={ckpt}", "--trainer.logger=false", "--trainer.callbacks=[]"]  # fmt: skip
    main(["test", *common])
    tested = capsys.readouterr().out
    main(["validate", *common, f"--ckpt_path={tmp_path / 'run'}"])  # a run folder: its newest last.ckpt, as predict
    validated = capsys.readouterr().out
    assert "test/cycle_a" in tested and "val/cycle_a" in validated

    def cycle(out: str, stage: str) -> float:  # the value in Lightning's results table, e.g. "│ test/cycle │ 1.07 │"
        row = next(line for line in out.splitlines() if f"{stage}/cycle " in line)
        return float(row.replace("│", " ").split()[1])

    # the same folders and weights: the same metric under the other name (the test loop is not a stub)
    assert cycle(tested, "test") == pytest.approx(cycle(validated, "val"), rel=1e-4)
    assert 0.0 < cycle(tested, "test") < 4.0  # two L1 errors of images in [-1, 1]


def test_stargan_domains_come_from_the_folder_names_through_fit_resume_and_test(write_images, tmp_path, capsys):
    for colour, domain in enumerate(["red", "green", "blue"]):
        for split in ("train", "test"):
            write_images(tmp_path / "data" / split / domain, 2, colour=colour)
    run = tmp_path / "run"
    common = ["--config", str(REPO / "configs" / "stargan_folders.yaml"), "--config", DEBUG,
              "--model.init_args.image_size=32", "--model.init_args.n_critic=1",
              f"--data.source.root={tmp_path / 'data'}",
              f"--trainer.default_root_dir={run}", "--trainer.fast_dev_run=false", "--trainer.limit_val_batches=0",
              "--trainer.callbacks+=lightning.pytorch.callbacks.ModelCheckpoint",
              "--trainer.callbacks.save_last=true"]  # fmt: skip
    main(["fit", *common, "--trainer.max_steps=4"])
    ckpt = next(run.rglob("last.ckpt"))
    hparams = torch.load(ckpt, map_location="cpu", weights_only=True)["hyper_parameters"]
    assert hparams["domains"] == ["blue", "green", "red"]  # sorted folder names, recorded for predict
    main(["fit", *common, "--trainer.max_steps=8", f"--ckpt_path={ckpt}"])  # the same domains: no mismatch
    assert torch.load(next(run.rglob("last.ckpt")), map_location="cpu", weights_only=True)["global_step"] == 8
    main(["test", *common, f"--ckpt_path={ckpt}"])
    assert "test/acc_real" in capsys.readouterr().out


# --- resume -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stop_after_batches, workers",
    [(3, 0), (4, 0), (5, 0), (3, 2), (5, 2)],
    ids=["epoch-boundary", "mid-epoch", "mid-epoch-late", "epoch-boundary-2-workers", "mid-epoch-2-workers"],
)
def test_resume_is_bit_exact(
    resumable_cyclegan, seeded_trainer, tiny_data, stop_after_batches, workers, tiny_domains, tmp_path
):
    # tiny_domains: 6 A images, batch 2 -> 3 batches per epoch; 3 epochs = 9 batches = 18 optimizer steps
    reference = resumable_cyclegan()
    seeded_trainer(tmp_path / "reference", max_epochs=3, enable_checkpointing=False).fit(
        reference, datamodule=tiny_data(tiny_domains, load_size=20)
    )

    every = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=2 * stop_after_batches, save_top_k=-1)
    interrupted = resumable_cyclegan()
    trainer = seeded_trainer(tmp_path / "first", max_steps=2 * stop_after_batches, callbacks=[every])
    trainer.fit(interrupted, datamodule=tiny_data(tiny_domains, load_size=20))
    ckpt = next((tmp_path / "ckpt").glob(f"*step={2 * stop_after_batches}.ckpt"))

    resumed = resumable_cyclegan()
    trainer = seeded_trainer(tmp_path / "second", max_epochs=3, enable_checkpointing=False)
    trainer.fit(
        resumed,
        datamodule=tiny_data(tiny_domains, load_size=20, num_workers=workers),
        ckpt_path=ckpt,
        weights_only=False,
    )  # hparams hold partials
    assert trainer.global_step == 18
    for (name, expected), actual in zip(reference.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(expected, actual), f"{name} differs after resume"
    assert all(torch.equal(a, b) for a, b in zip(reference.pool_a.images, resumed.pool_a.images, strict=True))


@pytest.mark.parametrize("variant", ["travelgan", "siamese_disc"])
def test_travelgan_resume_is_bit_exact(
    seeded_trainer, tiny_travelgan, tiny_siamese_disc, tiny_data, variant, tiny_domains, tmp_path
):
    def build():
        seed_everything(0)
        return tiny_travelgan() if variant == "travelgan" else tiny_siamese_disc()

    reference = build()
    seeded_trainer(tmp_path / "reference", max_epochs=2, enable_checkpointing=False).fit(
        reference, datamodule=tiny_data(tiny_domains, load_size=20)
    )
    every = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=8, save_top_k=-1)
    seeded_trainer(tmp_path / "first", max_steps=8, callbacks=[every]).fit(
        build(), datamodule=tiny_data(tiny_domains, load_size=20)
    )
    resumed = build()
    trainer = seeded_trainer(tmp_path / "second", max_epochs=2, enable_checkpointing=False)
    trainer.fit(resumed, datamodule=tiny_data(tiny_domains, load_size=20),
                ckpt_path=tmp_path / "ckpt" / "epoch=1-step=8.ckpt", weights_only=False)  # fmt: skip
    for (name, expected), actual in zip(reference.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(expected, actual), f"{name} differs after resume"


def test_stargan_resume_is_bit_exact(rgb_domains, seeded_trainer, tiny_stargan, rgb_data, tmp_path):
    root = rgb_domains

    def build():
        seed_everything(0)
        return tiny_stargan(n_critic=2)  # G steps every second batch: the counter must survive the resume

    reference = build()
    seeded_trainer(tmp_path / "reference", max_epochs=2, enable_checkpointing=False).fit(
        reference, datamodule=rgb_data(root)
    )
    every = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=3, save_top_k=-1)
    seeded_trainer(tmp_path / "first", max_steps=3, callbacks=[every]).fit(build(), datamodule=rgb_data(root))
    (ckpt,) = (tmp_path / "ckpt").glob("*.ckpt")
    resumed = build()
    trainer = seeded_trainer(tmp_path / "second", max_epochs=2, enable_checkpointing=False)
    trainer.fit(resumed, datamodule=rgb_data(root), ckpt_path=ckpt, weights_only=False)
    for (name, expected), actual in zip(reference.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(expected, actual), f"{name} differs after resume"


# --- train longer -----------------------------------------------------------------------------------------------------


# A run that finished (max_steps at an epoch's end, or mid-epoch), continued from the last.ckpt it left with a larger
# --trainer.max_steps, ends with the parameters of one uninterrupted run, for every model.
MODELS = {
    "cyclegan": ["quickstart_official.yaml", "debug.yaml"],
    "stargan": ["stargan_quickstart.yaml", "debug.yaml", "debug_stargan.yaml"],
    "travelgan": ["travelgan_quickstart.yaml", "debug_travelgan.yaml"],
    "siamese_disc": ["travelgan_siamese_quickstart.yaml", "debug_travelgan.yaml"],
    "pix2pix": ["pix2pix_quickstart.yaml", "debug_pix2pix.yaml"],  # on tiny_pairs: 6 pairs, also 3 batches an epoch
}


# tiny_domains: 6 images in A, batch 2 -> 3 batches an epoch, 2 optimizer steps a batch (StarGAN: n_critic 1)
TOTAL_STEPS = 12
CASES = [(model, 6) for model in MODELS] + [("cyclegan", 8), ("stargan", 8), ("pix2pix", 8)]  # 6: epoch end


def _fit(model: str, root: Path, run: Path, max_steps: int, *extra: str) -> dict:
    overlay = run.parent / f"{run.name}.yaml"
    overlay.write_text(yaml.safe_dump({"trainer": {"callbacks": [
        {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint", "init_args": {"save_last": True}},
        {"class_path": "translate.training.callbacks.StepSeed"},
    ]}}))  # fmt: skip
    configs = [REPO / "configs" / name for name in MODELS[model]] + [overlay]
    main(["fit", *(f"--config={c}" for c in configs), f"--data.source.root={root}", "--trainer.fast_dev_run=false",
          f"--trainer.max_steps={max_steps}", f"--trainer.default_root_dir={run}", *extra])  # fmt: skip
    return torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def references() -> dict:
    return {}  # model -> (data root, state_dict of one uninterrupted run), filled on first use


@pytest.mark.parametrize(("model", "first_steps"), CASES, ids=[f"{m}-{s}" for m, s in CASES])
def test_a_finished_run_trains_longer_exactly(model, first_steps, references, tiny_domains, tiny_pairs, tmp_path):
    if model not in references:
        data = tiny_pairs if model == "pix2pix" else tiny_domains
        references[model] = (data, _fit(model, data, tmp_path / "reference", TOTAL_STEPS))
    root, reference = references[model]
    finished = _fit(model, root, tmp_path / "finished", first_steps)
    assert finished["global_step"] == first_steps
    longer = _fit(model, root, tmp_path / "longer", TOTAL_STEPS,
                  f"--ckpt_path={tmp_path / 'finished' / 'checkpoints' / 'last.ckpt'}")  # fmt: skip
    assert longer["global_step"] == TOTAL_STEPS
    for name, expected in reference["state_dict"].items():
        assert torch.equal(expected, longer["state_dict"][name]), f"{name} differs from the uninterrupted run"
