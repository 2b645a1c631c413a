"""2-process DDP (gloo) on the CPU: StepSyncDDPStrategy keeps every rank's weights identical for every model, as
Lightning's DDP does, and two ranks of one image train as one process of two.
"""

import os
import socket
from functools import partial
from pathlib import Path

import pytest
import torch
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.strategies import DDPStrategy
from torch import Tensor

from translate.data import UnpairedDataModule
from translate.training.callbacks import StepSeed
from translate.training.strategies import PLAIN_DDP_NAMES, StepSyncDDPStrategy

# Multi-process DDP (gloo). Starting a process costs seconds (torch and Lightning imports), so two processes are
# started once for the whole module and each runs every scenario below in turn, on one process group, as torchrun
# would start them (LOCAL_RANK set: Lightning creates no processes itself). The tests then compare the saved weights.
STEPS = 6  # optimizer steps: 3 batches for CycleGAN and TraVeLGAN


class _SaveWeights(Callback):
    def __init__(self, path: Path):
        self.path = path

    def on_train_end(self, trainer, pl_module):
        torch.save(pl_module.state_dict(), self.path)


def _seeded(build, **kwargs):
    """``build(**kwargs)`` from torch's seed 0: the same initial weights in both processes and in the tests."""
    torch.manual_seed(0)
    return build(**kwargs)


@pytest.fixture(scope="module")
def builds(tiny_cyclegan, tiny_travelgan, tiny_siamese_disc, tiny_stargan, tiny_pix2pix) -> dict[str, partial]:
    """Each scenario's model builder: partials, which pickle into the worker processes (they have no fixtures)."""
    return {
        "cyclegan": partial(_seeded, tiny_cyclegan, pool_size=2),
        "travelgan": partial(_seeded, tiny_travelgan),
        "siamese_disc": partial(_seeded, tiny_siamese_disc),
        "stargan": partial(_seeded, tiny_stargan, domains=["A", "B"], n_critic=2),  # WGAN-GP: the double backward too
        "pix2pix": partial(_seeded, tiny_pix2pix),  # paired data; batch norm statistics are buffers, dropout is random
        # No pool, no randomness in a step, and SGD: the update is proportional to the gradient (Adam's would hide a
        # sum in place of a mean), and instance norm keeps the samples of a batch independent.
        "cyclegan_sgd": partial(_seeded, tiny_cyclegan, optimizer=partial(torch.optim.SGD, lr=0.01), pool_size=0),
    }


BATCH_SIZES = {"travelgan": 2, "siamese_disc": 2}  # TraVeLGAN needs pairs within a batch; the others take 1


# Networks this small are chaotic (instance norm over 4x4 maps): float rounding differences between a batch of 2 and
# two averaged batches of 1 grow about 1000x per batch (1e-7 after one, 1e-5 after two, 1e-3 after three), so the
# comparison runs two batches.
MAX_STEPS = {"cyclegan_sgd": 4}


def _fit(
    builds: dict, name: str, data_root: Path, weights: Path, strategy="auto", devices=1, batch_size=None
) -> Trainer:
    batch_size = batch_size or BATCH_SIZES.get(name, 1)
    root, pairing = (data_root.parent / "pairs", "matched") if name == "pix2pix" else (data_root, "unpaired")
    data = UnpairedDataModule(root, load_size=18, crop_size=16, batch_size=batch_size, num_workers=0, pairing=pairing)
    trainer = Trainer(
        accelerator="cpu", devices=devices, strategy=strategy, max_steps=MAX_STEPS.get(name, STEPS), logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        default_root_dir=weights.parent, limit_val_batches=0, callbacks=[StepSeed(), _SaveWeights(weights)],
    )  # fmt: skip
    trainer.fit(builds[name](), datamodule=data)
    return trainer


def _gradient_flags_case(strategy: StepSyncDDPStrategy, rank: int) -> dict[str, Tensor | None]:
    """Parameters with a gradient on one rank only, or on none; two dtypes and 1-float buckets (several of them)."""
    params = {name: torch.nn.Parameter(torch.zeros(3, dtype=dtype)) for name, dtype in
              [("both", torch.float32), ("rank1_only", torch.float32), ("none", torch.float32),
               ("both_double", torch.float64)]}  # fmt: skip
    params["both"].grad = torch.full((3,), float(rank + 1))  # 1 and 2: mean 1.5
    params["both_double"].grad = torch.full((3,), 10.0 * (rank + 1), dtype=torch.float64)  # mean 15
    if rank == 1:
        params["rank1_only"].grad = torch.full((3,), 4.0)  # mean 2: rank 0 counts as zero, as in DDP
    strategy.bucket_cap_bytes = 4
    strategy._average_gradients(torch.optim.SGD(params.values(), lr=1.0))
    return {name: p.grad for name, p in params.items()}


def _buffers_case(strategy: StepSyncDDPStrategy, rank: int) -> dict[str, Tensor]:
    """Batch-norm statistics (float and int64) that differ between the ranks, broadcast as at each training step."""
    norm = torch.nn.BatchNorm2d(3)
    norm.running_mean.fill_(rank + 1.0)
    norm.num_batches_tracked.fill_(rank + 7)
    strategy._broadcast_buffers(norm)
    return dict(norm.named_buffers())


def _ddp_worker(rank: int, port: int, data_root: Path, folder: Path, builds: dict) -> None:
    """One of the two processes: every scenario, each rank saving its weights as NAME-rankR.pt."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE="2", NODE_RANK="0")
    os.environ.update(LOCAL_RANK=str(rank), RANK=str(rank))
    torch.set_num_threads(1)
    for name in builds:
        strategy = StepSyncDDPStrategy(start_method=PLAIN_DDP_NAMES["ddp"])  # what --trainer.strategy ddp gives
        trainer = _fit(builds, name, data_root, folder / f"{name}-rank{rank}.pt", strategy, devices=2)
    # The last fit's strategy knows the world size.
    torch.save(_buffers_case(trainer.strategy, rank), folder / f"buffers-rank{rank}.pt")
    torch.save(_gradient_flags_case(trainer.strategy, rank), folder / f"flags-rank{rank}.pt")
    # Lightning's own DDP with the unused-parameter search, on the same run as "cyclegan": the reference.
    strategy = DDPStrategy(find_unused_parameters=True)
    _fit(builds, "cyclegan", data_root, folder / f"cyclegan_find_unused-rank{rank}.pt", strategy, devices=2)


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory, write_images, builds) -> Path:
    """Two gloo processes run every scenario; returns the folder of their weights (and the data's root)."""
    folder = tmp_path_factory.mktemp("ddp")
    data_root = folder / "data"
    write_images(data_root / "trainA", 6, colour=0)
    write_images(data_root / "trainB", 4, colour=1)
    write_images(folder / "pairs" / "trainA", 4, colour=0)  # pix2pix: pairs by file name
    write_images(folder / "pairs" / "trainB", 4, colour=1)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    torch.multiprocessing.start_processes(
        _ddp_worker, args=(port, data_root, folder, builds), nprocs=2, join=True, start_method="spawn"
    )
    return folder


def _weights(folder: Path, name: str, rank: int) -> dict[str, Tensor]:
    return torch.load(folder / f"{name}-rank{rank}.pt")


@pytest.mark.parametrize("name", ["cyclegan", "travelgan", "siamese_disc", "stargan", "pix2pix", "cyclegan_sgd"])
def test_plain_ddp_trains_every_model_with_identical_weights(builds, name, ddp_runs):
    rank0, rank1 = _weights(ddp_runs, name, 0), _weights(ddp_runs, name, 1)
    initial = dict(builds[name]().named_parameters())
    assert any(not torch.equal(rank0[k], initial[k]) for k in initial), "no training happened"
    # Parameters are averaged; running statistics are buffers each rank updates from its own data within a step
    # (rank 0's replace them at the start of the next, as DDP does; checkpoints save rank 0's).
    for key in initial:
        assert torch.equal(rank0[key], rank1[key]), f"{key} differs between the ranks"


def test_same_weights_as_lightnings_ddp_with_unused_parameter_search(builds, ddp_runs):
    ours, reference = _weights(ddp_runs, "cyclegan", 0), _weights(ddp_runs, "cyclegan_find_unused", 0)
    for key in dict(builds["cyclegan"]().named_parameters()):
        torch.testing.assert_close(ours[key], reference[key], rtol=1e-5, atol=1e-6, msg=key)


def test_two_ranks_of_one_image_train_as_one_process_of_two(builds, ddp_runs, tmp_path):
    """Rank r takes items r, r + 2, ... of each epoch (UnpairedSampler's sharding), so 2 ranks x batch 1 see the
    pairs that 1 process x batch 2 sees, one image each; averaged gradients must give the same SGD steps."""
    _fit(builds, "cyclegan_sgd", ddp_runs / "data", tmp_path / "single.pt", batch_size=2)
    single, ddp = torch.load(tmp_path / "single.pt"), _weights(ddp_runs, "cyclegan_sgd", 0)
    initial = dict(builds["cyclegan_sgd"]().named_parameters())
    for key, start in initial.items():
        moved = (single[key] - start).abs().max()  # a sum in place of the mean would be off by about half of this
        assert (ddp[key] - single[key]).abs().max() <= 1e-2 * moved + 1e-6, key
    largest = max((single[k] - initial[k]).abs().max() for k in initial)
    assert largest > 1e-2, "the steps are too small for the comparison to mean anything"


def test_gradients_present_on_some_ranks_are_averaged_and_absent_ones_stay_none(ddp_runs):
    for rank in (0, 1):
        grads = torch.load(ddp_runs / f"flags-rank{rank}.pt")
        assert torch.equal(grads["both"], torch.full((3,), 1.5))
        assert torch.equal(grads["rank1_only"], torch.full((3,), 2.0))
        assert torch.equal(grads["both_double"], torch.full((3,), 15.0, dtype=torch.float64))
        assert grads["none"] is None


def test_buffers_are_rank_zeros_after_a_broadcast(ddp_runs):
    for rank in (0, 1):
        buffers = torch.load(ddp_runs / f"buffers-rank{rank}.pt")
        assert torch.equal(buffers["running_mean"], torch.ones(3))
        assert int(buffers["num_batches_tracked"]) == 7
