"""CUT and FastCUT: the official presets, the model contract, PatchNCE on the same locations (flipped back for
FastCUT), a training step that moves every network, and through the CLI: fit, resume exactness, predict, export
and ``translate.load``."""

import os
import socket
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from lightning.pytorch import Callback, Trainer, seed_everything
from PIL import Image

from translate.cli import main
from translate.data import UnpairedDataModule
from translate.models import CUT
from translate.networks import AntialiasedPatchDiscriminator, ResnetGenerator
from translate.schedules import LinearDecayLR
from translate.training.callbacks import StepSeed
from translate.training.strategies import StepSyncDDPStrategy

REPO = Path(__file__).resolve().parents[2]
CUT_CONFIGS = [REPO / "configs" / "cut_quickstart.yaml", REPO / "configs" / "debug_cut.yaml"]


def tiny_cut(**kwargs) -> CUT:
    generator = partial(ResnetGenerator, base_channels=4, num_blocks=1, antialias=True, init_type="xavier")
    return CUT(generator, partial(AntialiasedPatchDiscriminator, base_channels=4, num_layers=2), num_patches=8,
               **kwargs)  # fmt: skip


def test_modes_are_the_official_presets():
    assert tiny_cut().objective == {"lambda_nce": 1.0, "nce_idt": True, "flip_equivariance": False}
    assert tiny_cut(mode="fastcut").objective == {"lambda_nce": 10.0, "nce_idt": False, "flip_equivariance": True}
    assert tiny_cut(mode="fastcut", lambda_nce=2.0).objective["lambda_nce"] == 2.0
    with pytest.raises(ValueError, match="unknown mode 'cyclegan'"):
        tiny_cut(mode="cyclegan")
    with pytest.raises(ValueError, match="ascending indices"):
        tiny_cut(nce_layers=(0, 40))


def test_contract_translates_a2b_with_the_generator_or_its_average():
    model = tiny_cut()
    assert model.target_kind == "direction" and model.targets == ("a2b",) and model.size_multiple == 4
    assert model.translator("a2b") is model.gen and model(torch.zeros(1, 3, 16, 16)).shape == (1, 3, 16, 16)
    with pytest.raises(ValueError, match="'a2b' only"):
        model.translator("b2a")
    averaged = tiny_cut(ema_decay=0.9)
    assert averaged.translator("a2b") is averaged.ema


def test_keys_and_queries_are_the_same_locations(monkeypatch):
    model = tiny_cut()
    calls = []
    sample = model.heads.forward

    def recording(features, num_patches, patch_ids=None, **kwargs):
        out = sample(features, num_patches, patch_ids, **kwargs)
        calls.append((patch_ids, out[1]))
        return out

    monkeypatch.setattr(model.heads, "forward", recording)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    model._patch_nce(x, model.gen(x))
    (key_ids, drawn), (query_ids, reused) = calls
    assert key_ids is None and query_ids is drawn  # the queries are sampled where the keys were
    assert all(torch.equal(a, b) for a, b in zip(drawn, reused, strict=True))


def test_fastcut_flips_the_translations_features_back():
    model = tiny_cut(mode="fastcut", nce_layers=(0,))  # layer 0, the padded image, is exactly flip-equivariant
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    places = partial(lambda: torch.Generator().manual_seed(3))
    mirrored = model._patch_nce(x, x.flip(3), flipped=True, generator=places())
    assert torch.allclose(mirrored, model._patch_nce(x, x, generator=places()))
    assert not torch.allclose(mirrored, model._patch_nce(x, x.flip(3), generator=places()))


@pytest.mark.parametrize("mode", ["cut", "fastcut"])
def test_a_training_epoch_moves_every_network(mode, fit, tiny_data, tiny_domains, tmp_path):
    model = tiny_cut(mode=mode)
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    trainer = fit(model, tiny_data(tiny_domains), tmp_path)
    for prefix in ("gen.", "disc.", "heads."):
        assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items() if k.startswith(prefix)), prefix
    logged = trainer.logged_metrics
    assert {"train/g/adv", "train/g/nce", "train/d/total"} <= set(logged)
    assert ("train/g/nce_idt" in logged) == (mode == "cut")
    assert all(torch.isfinite(value) for value in logged.values())


def test_debug_cut_config_fits_on_its_own(tiny_domains, tmp_path):
    main(["fit", "--config", str(REPO / "configs" / "debug_cut.yaml"), f"--data.source.root={tiny_domains}",
          f"--trainer.default_root_dir={tmp_path}"])  # fmt: skip
    assert list((tmp_path / "samples").glob("*.png"))


def test_the_cut_configs_stop_cropping_when_the_learning_rate_starts_to_decay():
    """Official: random crops while ``current_epoch > n_epochs`` is false (epochs from 1), so from our 0-based epoch
    ``n_epochs`` on, the first one whose learning rate is decayed, images are resized straight to crop_size."""
    configs = REPO / "configs"
    for name, official in (("horse2zebra_cut", 200), ("horse2zebra_fastcut", 150), ("horse2zebra_qsattn", 200),
                           ("horse2zebra_monce", 200)):  # fmt: skip
        config = yaml.safe_load((configs / f"{name}.yaml").read_text())
        schedule = config["model"]["init_args"]["scheduler"]["init_args"]
        assert config["data"]["random_crop_epochs"] == schedule["constant_epochs"] == official, name
        factors = LinearDecayLR(torch.optim.SGD([torch.zeros(1)], lr=1.0), **schedule)._factor
        assert factors(official - 1) == 1.0 > factors(official)
    # CycleGAN crops in every epoch (official), and so do the quick starts
    assert {p.stem for p in configs.rglob("*.yaml") if "random_crop_epochs" in p.read_text()} == {
        "horse2zebra_cut",
        "horse2zebra_fastcut",
        "dclgan",  # its official data/unaligned_dataset.py is CUT's (tests/models/test_dclgan.py)
        "simdcl",
        "horse2zebra_qsattn",  # QS-Attn's and MoNCE's data/unaligned_dataset.py are CUT's too (line 65)
        "horse2zebra_monce",
    }


def _fit(root: Path, run: Path, max_steps: int, *extra: str, configs: list[Path] = CUT_CONFIGS) -> dict:
    overlay = run.parent / f"{run.name}.yaml"
    overlay.write_text(yaml.safe_dump({"trainer": {"callbacks": [
        {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint", "init_args": {"save_last": True}},
        {"class_path": "translate.training.callbacks.StepSeed"},
    ]}}))  # fmt: skip
    main(["fit", *(f"--config={c}" for c in [*configs, overlay]), f"--data.source.root={root}",
          "--trainer.fast_dev_run=false", f"--trainer.max_steps={max_steps}", f"--trainer.default_root_dir={run}",
          *extra])  # fmt: skip
    return torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)


@pytest.mark.parametrize("base", ["cut_quickstart", "horse2zebra_fastcut"])
@pytest.mark.parametrize("first_steps", [6, 8])  # tiny_domains: 3 batches an epoch, 2 steps each; 6: an epoch's end
def test_a_finished_run_trains_longer_exactly(base, first_steps, tiny_domains, tmp_path):
    configs = [REPO / "configs" / f"{base}.yaml", REPO / "configs" / "debug_cut.yaml"]
    reference = _fit(tiny_domains, tmp_path / "reference", 12, configs=configs)
    finished = _fit(tiny_domains, tmp_path / "finished", first_steps, configs=configs)
    assert finished["global_step"] == first_steps
    longer = _fit(tiny_domains, tmp_path / "longer", 12, f"--ckpt_path={tmp_path / 'finished/checkpoints/last.ckpt'}",
                  configs=configs)  # fmt: skip
    assert longer["global_step"] == 12
    for name, expected in reference["state_dict"].items():
        assert torch.equal(expected, longer["state_dict"][name]), f"{name} differs from the uninterrupted run"


@pytest.fixture
def cut_checkpoint(tiny_domains, tmp_path) -> Path:
    _fit(tiny_domains, tmp_path / "run", 2)
    return tmp_path / "run" / "checkpoints" / "last.ckpt"


def test_predict_translates_a_folder_with_a_cut_checkpoint(cut_checkpoint, tiny_domains, tmp_path):
    main(["predict", "--ckpt", str(cut_checkpoint), "--input", str(tiny_domains / "testA"), "--output",
          str(tmp_path / "out")])  # fmt: skip
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(p.name for p in (tiny_domains / "testA").iterdir())
    assert Image.open(tmp_path / "out" / written[0]).size == Image.open(tiny_domains / "testA" / written[0]).size
    with pytest.raises(SystemExit, match="b2a"):
        main(["predict", "--ckpt", str(cut_checkpoint), "--input", str(tiny_domains / "testA"), "--output",
              str(tmp_path / "back"), "--direction", "b2a"])  # fmt: skip


def test_export_writes_a_torchscript_translator_of_a_cut(cut_checkpoint, tmp_path):
    import translate

    main(["export", "--ckpt", str(cut_checkpoint), "--format", "torchscript", "--output", str(tmp_path / "g.pt")])
    scripted = torch.jit.load(str(tmp_path / "g.pt"))
    x = torch.rand(1, 3, 20, 28) * 2 - 1
    model = translate.inference.loading.load_model(cut_checkpoint)
    with torch.no_grad():
        assert torch.allclose(scripted(x), model(x), atol=1e-5)


def test_translate_load_translates_images_with_a_cut(cut_checkpoint):
    import translate

    to_b = translate.load(cut_checkpoint, device="cpu")
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (21, 30, 3), dtype=np.uint8))
    result = to_b(image)
    assert isinstance(result, Image.Image) and result.size == image.size
    assert not np.array_equal(np.asarray(result), np.asarray(image))


class _SaveWeights(Callback):
    def __init__(self, path: Path):
        self.path = path

    def on_train_end(self, trainer, pl_module):
        torch.save({k: v.detach().clone() for k, v in pl_module.state_dict().items()}, self.path)


def _ddp_worker(rank: int, port: int, data_root: Path, folder: Path, mode: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE="2", NODE_RANK="0")
    os.environ.update(LOCAL_RANK=str(rank), RANK=str(rank))
    torch.set_num_threads(1)
    seed_everything(0)  # every rank builds the same weights, as a launcher's ranks do from one seed
    data = UnpairedDataModule(data_root, load_size=18, crop_size=16, batch_size=1, num_workers=0)
    trainer = Trainer(accelerator="cpu", devices=2, strategy=StepSyncDDPStrategy(start_method="popen"), max_steps=6,
                      logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                      default_root_dir=folder, limit_val_batches=0,
                      callbacks=[StepSeed(), _SaveWeights(folder / f"rank{rank}.pt")])  # fmt: skip
    trainer.fit(tiny_cut(mode=mode), datamodule=data)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["cut", "fastcut"])
def test_ddp_keeps_both_ranks_weights_identical(mode, write_images, tmp_path):
    # each rank draws its own patch places and flips (StepSeed seeds by rank), like its own images; the averaged
    # gradients (heads included) keep G, D and the heads the same on both
    write_images(tmp_path / "data" / "trainA", 4, colour=0)
    write_images(tmp_path / "data" / "trainB", 4, colour=1)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    torch.multiprocessing.start_processes(_ddp_worker, args=(port, tmp_path / "data", tmp_path, mode), nprocs=2,
                                          join=True, start_method="spawn")  # fmt: skip
    rank0, rank1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    seed_everything(0)
    initial = tiny_cut(mode=mode).state_dict()
    for name, value in rank0.items():
        assert torch.equal(value, rank1[name]), f"{name} differs between the ranks"
    assert any(not torch.equal(rank0[k], initial[k]) for k in rank0 if k.startswith("heads.")), "heads never trained"
