"""DCLGAN and SimDCL: the official presets, parameter counts and state_dict keys, the generator and discriminator
losses against a re-derivation of the official formulas, a G step that lowers G's loss, every network trained, the
model contract, and through the CLI: bit-exact resume, predict both ways, export and ``translate.load``.

The references are written from JunlinHan/DCLGAN ``models/dcl_model.py`` (``compute_G_loss``,
``calculate_NCE_loss1/2``, ``backward_D_basic``), ``models/simdcl_model.py`` (``calculate_Sim_loss_all``),
``models/patchnce.py`` (``PatchNCELoss``: cosine similarity, every patch of the batch a negative),
``models/networks.py`` (``GANLoss('hinge')``, ``PatchSampleF``, ``MappingF``, ``Normalize``).
"""

from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from PIL import Image

from tests.networks.test_cut_networks import official_cut_generator_keys
from translate.cli import main
from translate.models import DCLGAN
from translate.networks import AntialiasedPatchDiscriminator, ResnetGenerator

REPO = Path(__file__).resolve().parents[2]
TINY_G = partial(ResnetGenerator, base_channels=4, num_blocks=1, antialias=True, init_type="xavier")
TINY_D = partial(AntialiasedPatchDiscriminator, base_channels=4, num_layers=2)


def tiny_dclgan(**kwargs) -> DCLGAN:
    return DCLGAN(TINY_G, TINY_D, **{"num_patches": 8, **kwargs})


def test_modes_are_the_official_presets():
    assert tiny_dclgan().objective == {"lambda_sim": 0.0, "heads_lr": 1e-3, "heads_betas": (0.9, 0.999)}
    assert tiny_dclgan(mode="simdcl").objective == {"lambda_sim": 10.0, "heads_lr": None, "heads_betas": None}
    assert tiny_dclgan(mode="simdcl", lambda_sim=2, heads_lr=1e-4).objective["lambda_sim"] == 2.0
    hp = tiny_dclgan().hparams
    assert (hp.gan_mode, hp.lambda_gan, hp.lambda_nce, hp.lambda_identity) == ("hinge", 1.0, 2.0, 1.0)
    assert (tuple(hp.nce_layers), hp.num_patches, hp.nce_temperature) == ((4, 8, 12, 16), 8, 0.07)
    with pytest.raises(ValueError, match="unknown mode 'cut'"):
        tiny_dclgan(mode="cut")
    with pytest.raises(ValueError, match="lambda_nce must be a number >= 0, got -1"):
        tiny_dclgan(lambda_nce=-1)


def _official_heads_keys(channels: list[int], prefix: str) -> dict[str, tuple[int, ...]]:
    """PatchSampleF(use_mlp=True, nc=256): mlp_<layer> = Linear(C, 256), ReLU, Linear(256, 256); ours heads.<layer>."""
    keys = {}
    for i, c in enumerate(channels):
        keys |= {f"{prefix}.heads.{i}.0.weight": (256, c), f"{prefix}.heads.{i}.0.bias": (256,)}
        keys |= {f"{prefix}.heads.{i}.2.weight": (256, 256), f"{prefix}.heads.{i}.2.bias": (256,)}
    return keys


@pytest.mark.parametrize("mode", ["dcl", "simdcl"])
def test_official_settings_have_the_official_networks_keys_and_counts(mode):
    config = yaml.safe_load((REPO / "configs" / f"{'dclgan' if mode == 'dcl' else 'simdcl'}.yaml").read_text())
    args = config["model"]["init_args"]
    model = DCLGAN(partial(ResnetGenerator, **args["generator"]["init_args"]),
                   partial(AntialiasedPatchDiscriminator, **args["discriminator"]["init_args"]),
                   mode=args["mode"])  # fmt: skip
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    counts = {name: sum(p.numel() for p in module.parameters()) for name, module in model.named_children()}
    # netG_A / netG_B: CUT's anti-aliased ResNet-9, so official G_A and G_B files load 1:1
    for gen in ("gen_ab", "gen_ba"):
        assert {k.removeprefix(f"{gen}."): v for k, v in shapes.items() if k.startswith(f"{gen}.")} == (
            official_cut_generator_keys()
        )
    assert counts["gen_ab"] == counts["gen_ba"] == 11_378_179
    assert counts["disc_a"] == counts["disc_b"] == 2_764_737  # NLayerDiscriminator, anti-aliased, n_layers 3
    # netF1 / netF2 on layers 4, 8, 12, 16 (128, 256, 256, 256 channels): 493,568 each
    for heads in ("heads_ab", "heads_ba"):
        assert {k: v for k, v in shapes.items() if k.startswith(f"{heads}.")} == (
            _official_heads_keys([128, 256, 256, 256], heads)
        )
        assert counts[heads] == 493_568
    sims = ["sim_real_a", "sim_fake_b", "sim_real_b", "sim_fake_a"]  # netF3 to netF6: MappingF(4)
    if mode == "simdcl":
        for sim in sims:
            assert {k.removeprefix(f"{sim}."): v for k, v in shapes.items() if k.startswith(f"{sim}.")} == {
                "model.0.weight": (64, 4, 3, 3), "model.0.bias": (64,), "model.4.weight": (64, 64),
                "model.4.bias": (64,), "model.6.weight": (64, 64), "model.6.bias": (64,),
            }  # fmt: skip
            assert counts[sim] == 10_688
    assert set(counts) == {"gen_ab", "gen_ba", "disc_a", "disc_b", "heads_ab", "heads_ba",
                           *(sims if mode == "simdcl" else [])}  # fmt: skip
    assert sum(counts.values()) == {"dcl": 29_272_968, "simdcl": 29_315_720}[mode]


# --- the official objective, re-derived ------------------------------------------------------------------------------


def _features(gen, x, layers):
    """The outputs of ``gen.model``'s layers ``layers`` (the official ``encode_only`` forward), layer by layer."""
    out, h = [], x
    for index, layer in enumerate(gen.model):
        h = layer(h)
        if index in layers:
            out.append(h)
        if index == layers[-1]:
            return out


def _sample(heads, features, num_patches, generator, ids=None):
    """PatchSampleF: the same locations for every image, MLP, then x / (||x|| + 1e-7)."""
    projected, drawn = [], []
    for layer, feature in enumerate(features):
        flat = feature.permute(0, 2, 3, 1).flatten(1, 2)
        where = torch.randperm(flat.shape[1], generator=generator)[:num_patches] if ids is None else ids[layer]
        rows = flat[:, where].flatten(0, 1)
        mlp = heads.heads[layer]
        rows = F.linear(F.relu(F.linear(rows, mlp[0].weight, mlp[0].bias)), mlp[2].weight, mlp[2].bias)
        projected.append(rows / (rows.pow(2).sum(1, keepdim=True).sqrt() + 1e-7))
        drawn.append(where)
    return projected, drawn


def _official_patchnce(q, k, tau):
    """PatchNCELoss: cosine logits of every query with every key of the batch, the diagonal -10, positive first."""
    k = k.detach()
    positive = F.cosine_similarity(q, k, dim=-1)[:, None]
    negatives = F.cosine_similarity(q[:, None, :], k[None, :, :], dim=-1)
    negatives = negatives.masked_fill(torch.eye(len(q), dtype=torch.bool), -10.0)
    logits = torch.cat([positive, negatives], dim=1) / tau
    return F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long), reduction="none")


def _mapping(net, stack):
    """MappingF: conv 3x3 stride 2, ReLU, global average, Linear, ReLU, Linear, then Normalize(2)."""
    m = net.model
    h = F.relu(F.conv2d(stack, m[0].weight, m[0].bias, stride=2)).mean(dim=(2, 3))
    h = F.linear(F.relu(F.linear(h, m[4].weight, m[4].bias)), m[6].weight, m[6].bias)
    return h / (h.pow(2).sum(1, keepdim=True).sqrt() + 1e-7)


def _hinge_real(logits):  # GANLoss('hinge') with the real label: -mean(min(x - 1, 0))
    return -torch.minimum(logits - 1, torch.zeros_like(logits)).mean()


def _hinge_fake(logits):  # and with the fake label: -mean(min(-x - 1, 0))
    return -torch.minimum(-logits - 1, torch.zeros_like(logits)).mean()


def _stack(rows, batch_size):  # feature_realA etc. of calculate_Sim_loss_all: (layers, patches, features) per image
    return torch.stack([r.reshape(batch_size, -1, r.shape[-1]) for r in rows], dim=1)


def _squared_error_real(logits):  # MSELoss against 1
    return ((logits - 1) ** 2).mean()


def _squared_error_fake(logits):  # MSELoss against 0
    return (logits**2).mean()


def official_generator_loss(model, real_a, real_b, seed):
    """compute_G_loss of dcl_model.py (lambda_sim 0) or simdcl_model.py, with the patch locations drawn from one
    generator in the order the model draws them: a's keys, b's keys, then G_AB(a)'s and G_BA(b)'s own (SimDCL)."""
    hp, places = model.hparams, torch.Generator().manual_seed(seed)
    layers, p, tau = list(hp.nce_layers), hp.num_patches, hp.nce_temperature
    fake_b, fake_a = model.gen_ab(real_a), model.gen_ba(real_b)
    idt_b, idt_a = model.gen_ab(real_b), model.gen_ba(real_a)  # official idt_A, idt_B
    loss_g_a, loss_g_b = (
        hp.lambda_gan * _hinge_real(model.disc_b(fake_b)),
        hp.lambda_gan * _hinge_real(model.disc_a(fake_a)),
    )
    feat_k1, ids1 = _sample(model.heads_ab, _features(model.gen_ab, real_a, layers), p, places)  # netF1
    feat_k2, ids2 = _sample(model.heads_ba, _features(model.gen_ba, real_b, layers), p, places)  # netF2
    feat_q1 = _sample(model.heads_ba, _features(model.gen_ba, fake_b, layers), p, None, ids1)[0]
    feat_q2 = _sample(model.heads_ab, _features(model.gen_ab, fake_a, layers), p, None, ids2)[0]
    nce1 = sum(_official_patchnce(q, k, tau).mean() for q, k in zip(feat_q1, feat_k1, strict=True)) / len(layers)
    nce2 = sum(_official_patchnce(q, k, tau).mean() for q, k in zip(feat_q2, feat_k2, strict=True)) / len(layers)
    idt = (hp.lambda_identity * (idt_b - real_b).abs().mean(), hp.lambda_identity * (idt_a - real_a).abs().mean())
    total = (loss_g_a + loss_g_b) * 0.5 + (hp.lambda_nce * nce1 + hp.lambda_nce * nce2) * 0.5 + (idt[0] + idt[1]) * 0.5
    if model.objective["lambda_sim"] > 0:
        q1_noid = _sample(model.heads_ba, _features(model.gen_ba, fake_b, layers), p, places)[0]
        q2_noid = _sample(model.heads_ab, _features(model.gen_ab, fake_a, layers), p, places)[0]
        n = len(real_a)
        real_a_out, fake_a_out = (
            _mapping(model.sim_real_a, _stack(feat_k1, n)),
            _mapping(model.sim_fake_a, _stack(q2_noid, n)),
        )
        fake_b_out, real_b_out = (
            _mapping(model.sim_fake_b, _stack(q1_noid, n)),
            _mapping(model.sim_real_b, _stack(feat_k2, n)),
        )
        # L1Loss('sum') is L1Loss(size_average='sum'): the legacy flag, so the mean (torch warns about it)
        sim = (real_a_out - fake_a_out).abs().mean() + (fake_b_out - real_b_out).abs().mean()
        total = total + model.objective["lambda_sim"] * sim
    return total


@pytest.mark.parametrize("mode", ["dcl", "simdcl"])
@pytest.mark.parametrize("batch_size", [1, 2])
def test_generator_loss_equals_the_official_formula(mode, batch_size):
    torch.manual_seed(0)
    model = tiny_dclgan(mode=mode, lambda_gan=0.7, lambda_nce=2.0, lambda_identity=1.3).double()
    real_a, real_b = (torch.rand(batch_size, 3, 32, 32, dtype=torch.float64) * 2 - 1 for _ in range(2))
    ours, terms = model._generator_losses(real_a, real_b, model._translate(real_a, real_b),
                                          torch.Generator().manual_seed(5))  # fmt: skip
    expected = official_generator_loss(model, real_a, real_b, seed=5)
    assert torch.allclose(ours.double(), expected, rtol=1e-6, atol=1e-6), (ours, expected, terms)  # L1, adv: fp32
    assert ("sim" in terms) == (mode == "simdcl") and terms["nce_ab"] > 0 and terms["adv_ab"] > 0


def test_generator_loss_differs_from_dot_products_where_head_norms_are_small():
    """The official cosine renormalises the heads' outputs, which ``+ 1e-7`` leaves short of 1 when a head's raw
    norm is small (as at init: 1e-5 to 4e-4 at CUT's size): with dot products the loss would differ."""
    from translate.networks.patchnce import patchnce_loss

    torch.manual_seed(0)
    raw = torch.randn(16, 8, dtype=torch.float64) * 1e-6
    q = raw / (raw.norm(dim=1, keepdim=True) + 1e-7)
    k = F.normalize(torch.randn(16, 8, dtype=torch.float64), dim=1)
    cosine = patchnce_loss(q, k, batch_size=1, similarity="cosine")
    assert torch.allclose(cosine, _official_patchnce(q, k, 0.07), atol=1e-10)
    assert not torch.allclose(cosine, patchnce_loss(q, k, batch_size=1), atol=1e-3)
    with pytest.raises(ValueError, match="unknown similarity 'l2'"):
        patchnce_loss(q, k, batch_size=1, similarity="l2")


@pytest.mark.filterwarnings("ignore:You are trying to `self.log\\(\\)`")  # called outside a Trainer
@pytest.mark.parametrize("gan_mode", ["hinge", "lsgan"])
def test_discriminator_loss_is_half_the_official_sum_per_domain(gan_mode):
    torch.manual_seed(1)
    model = tiny_dclgan(gan_mode=gan_mode, lambda_gan=0.5)
    real_a, real_b, fake_a, fake_b = (torch.rand(2, 3, 32, 32) * 2 - 1 for _ in range(4))
    ours = model._discriminator_losses(real_a, real_b, fake_a, fake_b)
    if gan_mode == "hinge":
        real_loss, fake_loss = _hinge_real, _hinge_fake
    else:
        real_loss, fake_loss = _squared_error_real, _squared_error_fake
    expected = sum(0.5 * (real_loss(d(r)) + fake_loss(d(f))) * 0.5
                   for d, r, f in ((model.disc_b, real_b, fake_b), (model.disc_a, real_a, fake_a)))  # fmt: skip
    assert torch.allclose(ours, expected, atol=1e-6)


@pytest.mark.parametrize("mode", ["dcl", "simdcl"])
def test_every_generator_head_and_light_network_gets_a_gradient(mode):
    torch.manual_seed(2)
    model = tiny_dclgan(mode=mode)
    real_a, real_b = torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1
    model._generator_losses(real_a, real_b, model._translate(real_a, real_b))[0].backward()
    learned = [p for name, p in model.named_parameters() if not name.startswith("disc")]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in learned), "a network gets no gradient"


@pytest.mark.parametrize("mode", ["dcl", "simdcl"])
def test_training_lowers_patchnce(mode, fit, tiny_data, tiny_domains, tmp_path):
    """PatchNCE of both directions on a fixed batch at fixed locations (own_metrics) after a few epochs. A single
    gradient step is no test: the keys are detached (official), and the heads' outputs start with norms near 1e-6
    (xavier gain 0.02), so a step too small to move anything else still turns some keys."""
    model = tiny_dclgan(mode=mode)
    batch = (torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1)
    with torch.no_grad():
        before = model.own_metrics(batch)
    fit(model, tiny_data(tiny_domains), tmp_path, max_epochs=5, limit_val_batches=0)
    with torch.no_grad():
        after = model.own_metrics(batch)
    assert after["nce_ab"] < before["nce_ab"] and after["nce_ba"] < before["nce_ba"], (before, after)


def test_simdcl_stacks_as_many_patches_from_every_layer_as_the_smallest_has():
    model = tiny_dclgan(mode="simdcl", num_patches=256)
    projected = [torch.randn(2 * n, 5) for n in (256, 256, 64, 64)]  # 32 px: layers 4 and 8 have more locations
    stack = model._stack(projected, 2)
    assert stack.shape == (2, 4, 64, 5)
    assert torch.equal(stack[1, 0], projected[0][256:320]) and torch.equal(stack[1, 3], projected[3][64:])


@pytest.mark.parametrize("mode", ["dcl", "simdcl"])
def test_a_training_epoch_moves_every_network(mode, fit, tiny_data, tiny_domains, tmp_path):
    model = tiny_dclgan(mode=mode)
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    trainer = fit(model, tiny_data(tiny_domains), tmp_path)
    for child in dict(model.named_children()):
        assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items() if k.startswith(f"{child}.")), (
            child
        )
    heads_group = trainer.optimizers[0].param_groups[1]
    assert (heads_group["lr"], heads_group["betas"]) == (
        (1e-3, (0.9, 0.999)) if mode == "dcl" else (2e-4, (0.5, 0.999))
    )
    logged = trainer.logged_metrics
    assert {"train/g/adv_ab", "train/g/nce_ab", "train/g/nce_ba", "train/g/idt_a", "train/d/a", "train/d/b"} <= set(
        logged
    )
    assert ("train/g/sim" in logged) == (mode == "simdcl")
    assert all(torch.isfinite(value) for value in logged.values())


def test_contract_translates_both_ways_with_the_generators_or_their_averages():
    model = tiny_dclgan()
    assert model.target_kind == "direction" and model.targets == ("a2b", "b2a") and model.size_multiple == 4
    assert model.translator("a2b") is model.gen_ab and model.translator("b2a") is model.gen_ba
    x = torch.zeros(1, 3, 16, 16)
    assert torch.equal(model(x, "b2a"), model.gen_ba(x))
    with pytest.raises(ValueError, match="unknown target 'c'"):
        model.translator("c")
    averaged = tiny_dclgan(ema_decay=0.9)
    assert averaged.translator("a2b") is averaged.ema_ab and averaged.translator("b2a") is averaged.ema_ba
    metrics = model.own_metrics((torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1))
    assert set(metrics) == {"nce_ab", "nce_ba", "idt_a", "idt_b"}


# --- through the CLI --------------------------------------------------------------------------------------------------


def _fit(root: Path, run: Path, max_steps: int, *extra: str, configs: list[Path]) -> dict:
    overlay = run.parent / f"{run.name}.yaml"
    overlay.write_text(yaml.safe_dump({"trainer": {"callbacks": [
        {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint", "init_args": {"save_last": True}},
        {"class_path": "translate.training.callbacks.StepSeed"},
    ]}}))  # fmt: skip
    main(["fit", *(f"--config={c}" for c in [*configs, overlay]), f"--data.source.root={root}",
          "--trainer.fast_dev_run=false", f"--trainer.max_steps={max_steps}", f"--trainer.default_root_dir={run}",
          *extra])  # fmt: skip
    return torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)


@pytest.mark.parametrize("base", ["dclgan_quickstart", "simdcl"])
def test_a_finished_run_trains_longer_exactly(base, tiny_domains, tmp_path):
    # tiny_domains: 3 batches an epoch, 2 optimizer steps each; stopped mid-epoch (8), then trained to 12
    configs = [REPO / "configs" / f"{base}.yaml", REPO / "configs" / "debug_dclgan.yaml"]
    reference = _fit(tiny_domains, tmp_path / "reference", 12, configs=configs)
    finished = _fit(tiny_domains, tmp_path / "finished", 8, configs=configs)
    assert finished["global_step"] == 8
    longer = _fit(tiny_domains, tmp_path / "longer", 12, f"--ckpt_path={tmp_path / 'finished/checkpoints/last.ckpt'}",
                  configs=configs)  # fmt: skip
    assert longer["global_step"] == 12
    for name, expected in reference["state_dict"].items():
        assert torch.equal(expected, longer["state_dict"][name]), f"{name} differs from the uninterrupted run"


@pytest.fixture
def dclgan_checkpoint(tiny_domains, tmp_path) -> Path:
    _fit(tiny_domains, tmp_path / "run", 2, configs=[REPO / "configs" / "debug_dclgan.yaml"])
    return tmp_path / "run" / "checkpoints" / "last.ckpt"


def test_predict_translates_a_folder_both_ways(dclgan_checkpoint, tiny_domains, tmp_path):
    for direction, folder in (("a2b", "testA"), ("b2a", "testB")):
        main(["predict", "--ckpt", str(dclgan_checkpoint), "--input", str(tiny_domains / folder), "--output",
              str(tmp_path / direction), "--direction", direction])  # fmt: skip
        written = sorted(p.name for p in (tmp_path / direction).iterdir())
        assert written == sorted(p.name for p in (tiny_domains / folder).iterdir())
        assert Image.open(tmp_path / direction / written[0]).size == Image.open(tiny_domains / folder / written[0]).size


def test_export_and_translate_load_use_the_chosen_generator(dclgan_checkpoint, tmp_path):
    import translate

    main(["export", "--ckpt", str(dclgan_checkpoint), "--format", "torchscript", "--output", str(tmp_path / "g.pt"),
          "--direction", "b2a"])  # fmt: skip
    scripted = torch.jit.load(str(tmp_path / "g.pt"))
    x = torch.rand(1, 3, 20, 28) * 2 - 1
    model = translate.inference.loading.load_model(dclgan_checkpoint)
    with torch.no_grad():
        assert torch.allclose(scripted(x), model(x, "b2a"), atol=1e-5)
    to_b = translate.load(dclgan_checkpoint, device="cpu")
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (21, 30, 3), dtype=np.uint8))
    result = to_b(image)
    assert isinstance(result, Image.Image) and result.size == image.size


@pytest.mark.parametrize("mode", ["dcl", "simdcl"])
def test_an_official_run_imports_network_for_network(mode, tmp_path):
    """The files an official run leaves (<epoch>_net_G_A.pth, ... as BaseModel.save_networks writes them, the heads'
    MLPs as PatchSampleF names them: mlp_<layer>) load 1:1: every tensor of ours comes from its official file."""
    torch.manual_seed(3)
    trained = tiny_dclgan(mode=mode)
    trained.disc_a = AntialiasedPatchDiscriminator(3, base_channels=4, num_layers=2)  # another draw than disc_b
    official = {"G_A": "gen_ab", "G_B": "gen_ba", "D_A": "disc_b", "D_B": "disc_a", "F1": "heads_ab", "F2": "heads_ba"}
    if mode == "simdcl":
        official |= {"F3": "sim_real_a", "F4": "sim_fake_b", "F5": "sim_real_b", "F6": "sim_fake_a"}
    for name, ours in official.items():
        state = getattr(trained, ours).state_dict()
        if name in ("F1", "F2"):  # PatchSampleF.create_mlp: setattr(self, 'mlp_%d' % mlp_id, Sequential(...))
            state = {key.replace("heads.", "mlp_", 1): value for key, value in state.items()}
        torch.save(state, tmp_path / f"latest_net_{name}.pth")
    main(["import", "--dclgan", str(tmp_path / "latest_net_G_A.pth"), "--output", str(tmp_path / "official.ckpt")])
    import translate

    imported = translate.inference.loading.load_model(tmp_path / "official.ckpt")
    assert isinstance(imported, DCLGAN) and imported.hparams.mode == mode
    expected = {k: v for k, v in trained.state_dict().items()}
    assert imported.state_dict().keys() == expected.keys()
    for key, value in imported.state_dict().items():
        assert torch.equal(value, expected[key]), key
    x = torch.rand(1, 3, 20, 28) * 2 - 1
    with torch.no_grad():
        assert torch.equal(imported(x, "b2a"), trained.eval()(x, "b2a"))
    with pytest.raises(SystemExit, match="expected the official <epoch>_net_G_A.pth"):
        main(["import", "--dclgan", str(tmp_path / "latest_net_G_B.pth"), "--output", str(tmp_path / "no.ckpt")])
