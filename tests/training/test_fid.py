"""FID/KID on translated validation images: the real torchmetrics path with a tiny feature network, no download."""

import logging

import pytest
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import nn

from translate.models.contract import TranslationModel
from translate.training.fid import INCEPTION_FILE, INCEPTION_URL, FIDMonitor, find_inception_weights


class TinyFeatures(nn.Module):
    """uint8 (N, 3, H, W) -> (N, 6): per-channel means and standard deviations, a stand-in for Inception."""

    num_features = 6

    def forward(self, images):
        x = images.float() / 255
        return torch.cat([x.mean((2, 3)), x.std((2, 3))], dim=1).double()


class _Translator(LightningModule, TranslationModel):
    """Validation-only stand-in: 'style' turns reddish A into greenish B-like images (and back); 'noise' is noise.
    It implements the model contract, which is all FIDMonitor asks of a model."""

    target_kind, channels, size_multiple, targets = "direction", 3, 1, ("a2b", "b2a")

    def __init__(self, mode: str):
        super().__init__()
        self.mode = mode

    def forward(self, x, direction="a2b"):
        if self.mode == "noise":
            return torch.rand_like(x) * 2 - 1
        return x.roll(1 if direction == "a2b" else -1, dims=1)  # red -> green channel (tiny_domains' colours)

    def translator(self, target: str) -> nn.Module:
        return _Direction(self, target)

    def validation_step(self, batch, batch_idx):
        return None


class _Direction(nn.Module):
    def __init__(self, model: "_Translator", direction: str):
        super().__init__()
        self.model, self.direction = model, direction

    def forward(self, x):
        return self.model(x, self.direction)


def _validate(mode, data, tmp_path) -> dict:
    trainer = Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, default_root_dir=tmp_path,
                      callbacks=[FIDMonitor(every_n_epochs=1, feature=TinyFeatures())])  # fmt: skip
    return trainer.validate(_Translator(mode), datamodule=data, verbose=False)[0]


def test_fid_and_kid_are_lower_for_the_target_distribution_than_for_noise(tiny_data, tiny_domains, tmp_path):
    styled = _validate("style", tiny_data(tiny_domains, load_size=16), tmp_path)
    noise = _validate("noise", tiny_data(tiny_domains, load_size=16), tmp_path)
    for key in ("val/fid_a2b", "val/fid_b2a", "val/kid_a2b", "val/kid_b2a", "val/fid"):
        assert styled[key] < noise[key], (key, styled[key], noise[key])
    assert noise["val/fid"] > 0.1


def test_fid_monitor_keeps_the_best_checkpoint_while_training(tiny_cyclegan, tiny_data, tiny_domains, tmp_path, caplog):
    model = tiny_cyclegan()
    best = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val/fid", mode="min", filename="best-{epoch}")
    trainer = Trainer(accelerator="cpu", max_epochs=2, logger=False, enable_progress_bar=False,
                      default_root_dir=tmp_path, num_sanity_val_steps=0,
                      callbacks=[FIDMonitor(every_n_epochs=1, feature=TinyFeatures()), best])  # fmt: skip
    with caplog.at_level(logging.WARNING):
        trainer.fit(model, datamodule=tiny_data(tiny_domains, load_size=16))
    assert torch.isfinite(trainer.callback_metrics["val/fid"])
    assert best.best_model_path and best.best_model_score is not None
    saved = torch.load(tmp_path / "ckpt" / "best_fid.ckpt", weights_only=False)  # FIDMonitor's own best
    assert saved["global_step"] in (6, 12) and best.best_model_path.endswith(f"best-epoch={saved['epoch']}.ckpt")
    assert "biased" in caplog.text  # 2 validation images per domain: far fewer than 1000


def test_missing_inception_weights_say_where_and_training_goes_on(
    tiny_cyclegan, tiny_data, tiny_domains, tmp_path, caplog
):
    missing = tmp_path / "nowhere" / INCEPTION_FILE
    model = tiny_cyclegan()
    trainer = Trainer(accelerator="cpu", max_epochs=1, logger=False, enable_progress_bar=False,
                      enable_checkpointing=False, default_root_dir=tmp_path,
                      callbacks=[FIDMonitor(every_n_epochs=1, inception_weights=str(missing))])  # fmt: skip
    with caplog.at_level(logging.WARNING):
        trainer.fit(model, datamodule=tiny_data(tiny_domains, load_size=16))
    assert str(missing) in caplog.text and INCEPTION_URL in caplog.text
    assert "val/fid" not in trainer.callback_metrics and trainer.global_step > 0


def test_inception_weights_are_found_in_the_torch_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    assert find_inception_weights() is None
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / INCEPTION_FILE).write_bytes(b"weights")
    assert find_inception_weights() == tmp_path / "checkpoints" / INCEPTION_FILE
    assert find_inception_weights(tmp_path / "missing.pth") is None


def test_fid_monitor_rejects_bad_interval():
    with pytest.raises(ValueError, match="every_n_epochs"):
        FIDMonitor(every_n_epochs=0)


def test_fid_monitor_measures_a_one_way_travelgan(tiny_travelgan, tiny_data, tiny_domains, tmp_path):
    trainer = Trainer(accelerator="cpu", max_epochs=1, logger=False, enable_progress_bar=False,
                      enable_checkpointing=False, default_root_dir=tmp_path, num_sanity_val_steps=0,
                      callbacks=[FIDMonitor(every_n_epochs=1, feature=TinyFeatures(), save_best=False)])  # fmt: skip
    trainer.fit(tiny_travelgan(bidirectional=False), datamodule=tiny_data(tiny_domains, load_size=16))
    logged = trainer.callback_metrics
    assert "val/fid_a2b" in logged and "val/fid_b2a" not in logged and "val/cosine_ab" in logged
    assert torch.equal(logged["val/fid"], logged["val/fid_a2b"])


class _FIDHistory(Callback):
    """Records val/fid and val/fid_best after every validation epoch."""

    def __init__(self):
        self.fids, self.bests = [], []

    def on_validation_epoch_end(self, trainer, pl_module):
        self.fids.append(float(trainer.callback_metrics["val/fid"]))
        self.bests.append(float(trainer.callback_metrics["val/fid_best"]))


def test_fid_monitor_keeps_the_last_and_the_best_fid(tiny_data, tiny_domains, tmp_path, caplog):
    history = _FIDHistory()
    monitor = FIDMonitor(every_n_epochs=1, protocol="cut", feature=TinyFeatures(), save_best=False)
    trainer = Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, default_root_dir=tmp_path,
                      callbacks=[monitor, history])  # fmt: skip
    data, model = tiny_data(tiny_domains, load_size=16), _Translator("noise")  # another FID at every validation
    with caplog.at_level(logging.INFO):
        for _ in range(4):
            trainer.validate(model, datamodule=data, verbose=False)
    assert "under the cut protocol" in caplog.text
    assert history.bests == [min(history.fids[: i + 1]) for i in range(4)] and len(set(history.fids)) == 4
    state = monitor.state_dict()  # the callback keeps float64; the logged metrics are float32
    assert state["best_fid"] == pytest.approx(min(history.fids)) and state["protocol"] == "cut"
    assert state["last_fid"] == pytest.approx(history.fids[-1]) and state["last_fid"] > state["best_fid"]
    restarted = FIDMonitor(protocol="clean")
    restarted.load_state_dict(state)  # measured under another protocol: not comparable
    assert restarted.best_fid == float("inf")


@pytest.mark.parametrize("protocol", ["cut", "clean", "torch-fidelity"])
def test_fid_monitor_scores_as_translate_eval_scores_the_same_images(protocol, tiny_data, tiny_domains, tmp_path):
    """The validation FID equals score_folders under the same protocol on the same images written as PNG."""
    from PIL import Image

    from translate.data.images import to_uint8
    from translate.evaluation import score_folders

    data = tiny_data(tiny_domains, load_size=16)
    trainer = Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, default_root_dir=tmp_path,
                      callbacks=[FIDMonitor(every_n_epochs=1, protocol=protocol, feature=TinyFeatures())])  # fmt: skip
    model = _Translator("style")
    logged = trainer.validate(model, datamodule=data, verbose=False)[0]
    for folder in ("real", "fake"):
        (tmp_path / folder).mkdir()
    for i, (real_a, real_b) in enumerate(data.val_dataloader()):
        for name, images in (("real", real_b), ("fake", model(real_a, "a2b"))):
            for j, image in enumerate(to_uint8(images)):
                Image.fromarray(image.permute(1, 2, 0).numpy()).save(tmp_path / name / f"{i}_{j}.png")
    direct = score_folders(tmp_path / "real", tmp_path / "fake", protocol, feature=TinyFeatures())
    assert logged["val/fid_a2b"] == pytest.approx(direct.fid, rel=1e-4)
    assert logged["val/kid_a2b"] == pytest.approx(direct.kid_mean, rel=1e-4, abs=1e-7)


def test_fid_monitor_skips_a_validation_set_of_one_image(tiny_data, write_images, tmp_path, caplog):
    for domain, colour in (("A", 0), ("B", 1)):
        write_images(tmp_path / "one" / f"train{domain}", 2, colour=colour)
        write_images(tmp_path / "one" / f"test{domain}", 1, colour=colour)
    trainer = Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, default_root_dir=tmp_path,
                      callbacks=[FIDMonitor(every_n_epochs=1, feature=TinyFeatures())])  # fmt: skip
    with caplog.at_level(logging.WARNING):
        logged = trainer.validate(_Translator("style"), datamodule=tiny_data(tmp_path / "one", load_size=16))[0]
    assert "val/fid" not in logged and "1 real and 1 translated images" in caplog.text


def test_fid_monitor_measures_pix2pix_against_the_paired_targets(tiny_pix2pix, tiny_data, tiny_pairs, tmp_path):
    """pix2pix translates a2b only: FID compares its outputs with the B images of the validation pairs."""
    trainer = Trainer(accelerator="cpu", max_epochs=1, logger=False, enable_progress_bar=False,
                      enable_checkpointing=False, default_root_dir=tmp_path, num_sanity_val_steps=0,
                      callbacks=[FIDMonitor(every_n_epochs=1, feature=TinyFeatures(), save_best=False)])  # fmt: skip
    trainer.fit(tiny_pix2pix(), datamodule=tiny_data(tiny_pairs, pairing="matched", load_size=16))
    logged = trainer.callback_metrics
    assert "val/fid_a2b" in logged and "val/fid_b2a" not in logged and "val/psnr" in logged
    assert torch.isfinite(logged["val/fid_a2b"]) and torch.equal(logged["val/fid"], logged["val/fid_a2b"])
