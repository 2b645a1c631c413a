"""Never lose work: SIGTERM / Ctrl+C save last.ckpt and resume exactly; NaN stops with a message; a failed
checkpoint write keeps the previous file."""

import errno
import os
import signal
from functools import partial

import pytest
import torch
from lightning.pytorch import Callback
from lightning.pytorch.callbacks import ModelCheckpoint

from translate.training.callbacks import SaveOnInterrupt, StopOnNonFinite
from translate.training.checkpoint_io import AtomicCheckpointIO


class _SignalAt(Callback):
    """Sends ``signum`` to this process at the start of batch ``batch`` (counted over the whole run)."""

    def __init__(self, signum: int, batch: int):
        self.signum, self.batch, self.seen = signum, batch, 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if self.seen == self.batch:
            os.kill(os.getpid(), self.signum)
        self.seen += 1


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_saves_last_checkpoint_and_resume_is_exact(
    signum, resumable_cyclegan, seeded_trainer, tiny_data, tiny_domains, tmp_path
):
    # A shell starts background jobs (CI may run us as one) with Ctrl+C ignored, which SaveOnInterrupt respects:
    # give this test the interactive default so that the SIGINT case means the same everywhere.
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _signal_run(
            signum, resumable_cyclegan, seeded_trainer, partial(tiny_data, tiny_domains, load_size=20), tmp_path
        )
    finally:
        signal.signal(signal.SIGINT, outer)


def test_ignored_ctrl_c_stays_ignored(seeded_trainer, resumable_cyclegan, tiny_data, tiny_domains, tmp_path):
    outer = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        seen = []

        class _Look(Callback):
            def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
                seen.append(signal.getsignal(signal.SIGINT))

        trainer = seeded_trainer(tmp_path / "run", max_epochs=1, callbacks=[SaveOnInterrupt(), _Look()])
        trainer.fit(resumable_cyclegan(), datamodule=tiny_data(tiny_domains, load_size=20))
        assert seen and all(handler is signal.SIG_IGN for handler in seen)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, outer)


def _signal_run(signum, build, make_trainer, data, tmp_path):
    reference = build()
    make_trainer(tmp_path / "ref", max_epochs=2, enable_checkpointing=False).fit(reference, datamodule=data())

    interrupted = build()
    callbacks = [ModelCheckpoint(dirpath=tmp_path / "ckpt"), SaveOnInterrupt(), _SignalAt(signum, batch=4)]
    trainer = make_trainer(tmp_path / "run", max_epochs=2, callbacks=callbacks)
    with pytest.raises(SystemExit):  # Lightning's SIGTERMException: a clean exit after the batch
        trainer.fit(interrupted, datamodule=data())
    assert trainer.global_step == 2 * 5  # the batch during which the signal came was finished
    last = tmp_path / "ckpt" / "last.ckpt"
    assert torch.load(last, weights_only=False)["global_step"] == 10
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # our handler is gone again

    resumed = build()
    trainer = make_trainer(tmp_path / "resumed", max_epochs=2, enable_checkpointing=False)
    trainer.fit(resumed, datamodule=data(), ckpt_path=last, weights_only=False)
    for (name, expected), actual in zip(reference.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(expected, actual), f"{name} differs after resume"


class _PoisonAt(Callback):
    def __init__(self, batch: int):
        self.batch = batch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == 2 * self.batch:
            with torch.no_grad():
                pl_module.gen_ab.model[1].weight.fill_(float("nan"))


def test_non_finite_loss_stops_with_the_term_and_step(
    resumable_cyclegan, seeded_trainer, tiny_data, tiny_domains, tmp_path
):
    model = resumable_cyclegan()
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True, every_n_train_steps=2)
    trainer = seeded_trainer(tmp_path, max_epochs=3, callbacks=[checkpoint, StopOnNonFinite(), _PoisonAt(batch=4)])
    with pytest.raises(FloatingPointError, match=r"train/g/\w+ = nan at step 10 \(epoch 1, batch 1\)"):
        trainer.fit(model, datamodule=tiny_data(tiny_domains, load_size=20))
    saved = torch.load(tmp_path / "ckpt" / "last.ckpt", weights_only=False)
    assert saved["global_step"] == 8  # written after batch 4, the last good one
    assert all(torch.isfinite(tensor).all() for tensor in saved["state_dict"].values())


def test_disk_full_mid_write_keeps_the_previous_checkpoint(
    resumable_cyclegan, seeded_trainer, tiny_data, tiny_domains, tmp_path, monkeypatch
):
    import translate.training.checkpoint_io

    model = resumable_cyclegan()
    trainer = seeded_trainer(tmp_path, max_steps=2, enable_checkpointing=False, plugins=[AtomicCheckpointIO()])
    trainer.fit(model, datamodule=tiny_data(tiny_domains, load_size=20))
    path = tmp_path / "last.ckpt"
    trainer.save_checkpoint(path)
    before = path.read_bytes()

    def half_then_disk_full(obj, file):  # the disk fills up after part of the file was written
        file.write(before[: len(before) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(translate.training.checkpoint_io.torch, "save", half_then_disk_full)
    with pytest.raises(OSError, match=rf"could not write checkpoint {path} \(No space left on device\); the previous"):
        trainer.save_checkpoint(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["last.ckpt"], "temporary file left behind"


def test_checkpoints_are_renamed_into_place_from_their_own_folder(
    seeded_trainer, resumable_cyclegan, tiny_data, tiny_domains, tmp_path, monkeypatch
):
    # Not staged in the system temp folder, whose move onto another disk is a copy that truncates the old file first.
    renames = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: renames.append((src, dst)) or real_replace(src, dst))
    trainer = seeded_trainer(tmp_path, max_steps=2, enable_checkpointing=False, plugins=[AtomicCheckpointIO()])
    trainer.fit(resumable_cyclegan(), datamodule=tiny_data(tiny_domains, load_size=20))
    trainer.save_checkpoint(tmp_path / "ckpt" / "last.ckpt")
    ((source, target),) = renames
    assert os.path.dirname(source) == str(tmp_path / "ckpt") and target == tmp_path / "ckpt" / "last.ckpt"
    assert torch.load(target, weights_only=False)["global_step"] == 2  # our own file (hparams hold partials)


def test_stop_on_non_finite_rejects_bad_interval():
    with pytest.raises(ValueError, match="every_n_steps"):
        StopOnNonFinite(every_n_steps=0)
