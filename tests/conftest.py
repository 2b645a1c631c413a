"""Shared fixtures: one thread (measured 4-10x faster on 2 cores), fixed seeds, tiny image folders, tiny models and
data modules, quiet Trainers, checkpoints written by `translate fit`, and the test doubles several folders use.

The model and data builders are factories: a fixture returns the builder (a ``functools.partial``, so that it also
pickles into the DDP tests' worker processes), and the test calls it with the options it is about.
"""

import io
import shutil
import threading
import zipfile
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from lightning.pytorch import Trainer, seed_everything
from PIL import Image
from torch import nn

from translate.cli import main
from translate.data import UnpairedDataModule
from translate.models import CycleGAN, Pix2Pix, SiameseDiscTraVeLGAN, StarGAN, TraVeLGAN
from translate.networks import (
    PatchDiscriminator,
    ResnetGenerator,
    SiameseEncoder,
    StarGANDiscriminator,
    StarGANGenerator,
    StridedDiscriminator,
    UNetGenerator,
)
from translate.schedules import LinearDecayLR
from translate.training.callbacks import StepSeed

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"
QUICKSTART = ["--config", str(CONFIGS / "quickstart_official.yaml"), "--config", str(CONFIGS / "debug.yaml")]
STARGAN = ["--config", str(CONFIGS / "stargan_quickstart.yaml"), "--config", str(CONFIGS / "debug.yaml"),
           "--config", str(CONFIGS / "debug_stargan.yaml")]  # fmt: skip
RGB = ["red", "green", "blue"]  # tiny_stargan's domains, in label order; rgb_domains' folders

# Fuzzing (tests/data/test_datamodule.py, tests/inference/test_predict.py): derandomized and few examples, so that
# the fuzz tests are reproducible in CI and run in seconds. Use as @settings(settings.get_profile("fuzz")).
settings.register_profile(
    "fuzz",
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture(autouse=True, scope="session")
def _command_line():
    """sys.argv as `translate` sees it, for the session-scoped fixtures that train too: tests call main([...]) with
    args, and LightningCLI warns when it also sees pytest's own command line in sys.argv (`translate` passes None)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.argv", ["translate"])
        yield


# --- image folders --------------------------------------------------------------------------------------------------


def _write_images(folder: Path, count: int, size: tuple[int, int] = (16, 16), colour: int = 0, ext: str = "png"):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(colour * 1000 + count)
    paths = []
    for i in range(count):
        pixels = rng.integers(0, 80, (size[1], size[0], 3), dtype=np.uint8)
        pixels[..., colour % 3] += 170
        path = folder / f"img_{i:03d}.{ext}"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def write_images():
    """``write_images(folder, count, size=(16, 16), colour=0, ext="png")`` writes ``count`` small noisy images tinted
    by ``colour`` (0 red, 1 green, 2 blue) as img_000.png, img_001.png, ...; returns the paths."""
    return _write_images


@pytest.fixture
def tiny_domains(tmp_path: Path, write_images) -> Path:
    """A trainA/trainB/testA/testB tree of 16x16 PNGs: A reddish (6 train), B greenish (4 train), 2 test each."""
    root = tmp_path / "tiny"
    write_images(root / "trainA", 6, colour=0)
    write_images(root / "trainB", 4, colour=1)
    write_images(root / "testA", 2, colour=0)
    write_images(root / "testB", 2, colour=1)
    return root


@pytest.fixture
def tiny_pairs(tmp_path: Path, write_images) -> Path:
    """Matched pairs for pix2pix (``data.pairing: matched``): trainA/trainB 6 pairs, testA/testB 2, same file names."""
    root = tmp_path / "pairs"
    for split, count in (("train", 6), ("test", 2)):
        write_images(root / f"{split}A", count, colour=0)
        write_images(root / f"{split}B", count, colour=1)
    return root


@pytest.fixture
def tiny_aligned(tmp_path: Path) -> Path:
    """Aligned pairs for pix2pix (``data.pairing: aligned``, the official layout): train/ 6 and val/ 2 images of
    32x16, the left half A (dark) and the right half B (bright) of each."""
    root = tmp_path / "aligned"
    rng = np.random.default_rng(0)
    for split, count in (("train", 6), ("val", 2)):
        (root / split).mkdir(parents=True)
        for i in range(count):
            half = rng.integers(0, 128, (16, 16, 3), dtype=np.uint8)
            Image.fromarray(np.concatenate([half, half + 127], axis=1)).save(root / split / f"{i:03d}.png")
    return root


@pytest.fixture
def rgb_domains(tmp_path: Path, write_images) -> Path:
    """root/train/<domain> of 4 16x16 PNGs for each of tiny_stargan's domains, tinted red, green and blue."""
    root = tmp_path / "rgb"
    for colour, domain in enumerate(RGB):
        write_images(root / "train" / domain, 4, colour=colour)
    return root


@pytest.fixture
def photos(tmp_path: Path, write_images) -> Path:
    """Images of several sizes (not multiples of 4), one in a sub-folder, and one file that does not decode."""
    root = tmp_path / "photos"
    write_images(root, 2, size=(30, 22))
    write_images(root / "sub", 1, size=(36, 36), colour=1)
    (root / "broken.png").write_bytes(b"not a png")
    return root


# --- tiny models and data modules -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_cyclegan():
    """``tiny_cyclegan(**kwargs)``: a CycleGAN of a one-block ResNet and a two-layer PatchGAN, 4 base channels;
    ``generator=`` or ``discriminator=`` replace a network."""
    return partial(
        CycleGAN,
        generator=partial(ResnetGenerator, base_channels=4, num_blocks=1),
        discriminator=partial(PatchDiscriminator, base_channels=4, num_layers=2),
    )


@pytest.fixture(scope="session")
def tiny_pix2pix():
    """``tiny_pix2pix(**kwargs)``: a pix2pix of a 4-level U-Net (batch norm, dropout 0.5, size multiple 16) and a
    two-layer conditional PatchGAN, 4 base channels."""
    return partial(
        Pix2Pix,
        generator=partial(UNetGenerator, base_channels=4, num_downs=4, norm="batch", dropout=0.5),
        discriminator=partial(PatchDiscriminator, base_channels=4, num_layers=2, norm="batch"),
    )


@pytest.fixture(scope="session")
def resumable_cyclegan(tiny_cyclegan):
    """``resumable_cyclegan()``: a seeded tiny CycleGAN with everything that must resume exactly: a schedule, a
    small image pool (full and swapping, at random, within a run) and EMA generators."""

    def build() -> CycleGAN:
        seed_everything(0)
        return tiny_cyclegan(scheduler=partial(LinearDecayLR, constant_epochs=1, decay_epochs=2), pool_size=2,
                             ema_decay=0.9)  # fmt: skip

    return build


@pytest.fixture(scope="session")
def tiny_travelgan():
    """``tiny_travelgan(**kwargs)``: a TraVeLGAN of a 3-level U-Net, a strided discriminator and a 16-d siamese."""
    return partial(
        TraVeLGAN,
        generator=partial(UNetGenerator, base_channels=4, num_downs=3, norm="instance"),
        discriminator=partial(StridedDiscriminator, base_channels=4, num_layers=2),
        siamese=partial(SiameseEncoder, embed_dim=16, base_channels=4, num_layers=2, norm="none"),
    )


@pytest.fixture(scope="session")
def tiny_siamese_disc():
    """``tiny_siamese_disc(**kwargs)``: a SiameseDiscTraVeLGAN whose discriminator gives 8-d vectors."""
    return partial(
        SiameseDiscTraVeLGAN,
        generator=partial(UNetGenerator, base_channels=4, num_downs=3, norm="instance", self_attention=True),
        discriminator=partial(
            StridedDiscriminator,
            out_features=8,
            base_channels=4,
            num_layers=2,
            norm="none",
            spectral_norm=True,
            self_attention=True,
            pool_size=1,
        ),  # fmt: skip
    )


@pytest.fixture(scope="session")
def tiny_stargan():
    """``tiny_stargan(domains=["red", "green", "blue"], **kwargs)``: a 16 px StarGAN, one critic step per G step."""
    return partial(
        StarGAN,
        generator=partial(StarGANGenerator, base_channels=4, num_blocks=1),
        discriminator=partial(StarGANDiscriminator, base_channels=4, num_layers=2),
        domains=RGB,
        image_size=16,
        n_critic=1,
    )


@pytest.fixture(scope="session")
def tiny_data():
    """``tiny_data(root, **kwargs)``: an UnpairedDataModule of 16 px crops from 18 px, batch 2, no workers."""
    return partial(UnpairedDataModule, load_size=18, crop_size=16, batch_size=2, num_workers=0)


@pytest.fixture(scope="session")
def rgb_data(tiny_data):
    """``rgb_data(root, **kwargs)``: tiny_data of tiny_stargan's three domains (as rgb_domains writes them), 16 px."""
    return partial(tiny_data, domains=RGB, load_size=16)


# --- Trainers -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fit():
    """``fit(model, data, root, **trainer_kwargs)``: one quiet CPU epoch (no logger, checkpoints or progress bar);
    returns the Trainer."""

    def run(model, data, root, **trainer_kwargs) -> Trainer:
        options = dict(accelerator="cpu", max_epochs=1, logger=False, enable_checkpointing=False,
                       enable_progress_bar=False)  # fmt: skip
        trainer = Trainer(default_root_dir=root, enable_model_summary=False, **{**options, **trainer_kwargs})
        trainer.fit(model, datamodule=data)
        return trainer

    return run


@pytest.fixture(scope="session")
def seeded_trainer():
    """``seeded_trainer(root, **kwargs)``: a quiet CPU Trainer with StepSeed, as an interrupted run must resume
    exactly; Lightning's own checkpointing stays on unless turned off."""

    def build(root, **kwargs) -> Trainer:
        options = dict(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
        return Trainer(default_root_dir=root, callbacks=[StepSeed(), *kwargs.pop("callbacks", [])], **options, **kwargs)

    return build


# --- checkpoints written by `translate fit` -------------------------------------------------------------------------


def _fit_steps(tmp_path: Path, root: Path, *config: str) -> Path:
    """Two optimizer steps of a tiny model from ``config``; returns its last.ckpt."""
    main(["fit", *config, f"--data.source.root={root}", f"--trainer.default_root_dir={tmp_path}",
          "--trainer.max_steps=2", "--trainer.fast_dev_run=false", "--trainer.limit_val_batches=0",
          "--trainer.callbacks+=lightning.pytorch.callbacks.ModelCheckpoint",
          "--trainer.callbacks.save_last=true"])  # fmt: skip
    return next(tmp_path.rglob("last.ckpt"))


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory, write_images) -> dict[str, Path]:
    """Checkpoints of a tiny CycleGAN (base_channels 4) and a tiny StarGAN (domains A and B), written by
    `translate fit` from quickstart_official.yaml and stargan_quickstart.yaml with the debug overlays; "data" is their
    trainA/trainB folder of 32 px images. Read them, never write."""
    root = tmp_path_factory.mktemp("data")
    for domain, colour in (("A", 0), ("B", 1)):
        write_images(root / f"train{domain}", 4, size=(32, 32), colour=colour)
    return {
        "cyclegan": _fit_steps(tmp_path_factory.mktemp("cyclegan"), root, *QUICKSTART),
        "stargan": _fit_steps(tmp_path_factory.mktemp("stargan"), root, *STARGAN),
        "data": root,
    }


@pytest.fixture(scope="session")
def train_tiny():
    """``train_tiny(data_root, run_dir)``: `translate fit` of quickstart_official.yaml + debug.yaml for 4 optimizer
    steps on ``data_root``; returns the run's last.ckpt."""

    def run(tiny_domains: Path, tmp_path: Path) -> Path:
        main(["fit", *QUICKSTART, "--trainer.fast_dev_run=false", "--trainer.max_steps=4",
              f"--data.source.root={tiny_domains}", f"--trainer.default_root_dir={tmp_path}",
              "--trainer.callbacks+=lightning.pytorch.callbacks.ModelCheckpoint",
              "--trainer.callbacks.save_last=true"])  # fmt: skip
        return next(tmp_path.rglob("last.ckpt"))

    return run


# --- random folder trees (fuzzing) ----------------------------------------------------------------------------------

_MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F"]
_NAMES = st.sampled_from(["a.png", "b.jpg", "c.jpeg", "d.bmp", "e.tif", "f.webp", "g.PNG", "readme.txt", ".hidden.png"])


def _encode(mode: str, width: int, height: int, ext: str, seed: int) -> bytes:
    """A random image of ``mode`` and size, encoded for ``ext`` (falling back to PNG/TIFF where the format refuses)."""
    rng = np.random.default_rng(seed)
    if mode in ("I;16", "I", "F"):
        top = {"I;16": 65535, "I": 2**20, "F": 1}[mode]
        dtype = {"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]
        image = Image.fromarray((rng.random((height, width)) * top).astype(dtype))
    else:
        image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).convert(mode)
    buffer = io.BytesIO()
    format_ = {".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF", ".webp": "WEBP"}.get(ext, "PNG")
    try:
        image.save(buffer, format=format_)
    except (OSError, ValueError, KeyError):  # e.g. JPEG has no alpha, WEBP no 16-bit: keep the mode, change format
        buffer = io.BytesIO()
        image.save(buffer, format="TIFF" if mode in ("I", "F", "CMYK") else "PNG")
    return buffer.getvalue()


_FILES = st.lists(
    st.tuples(
        st.sampled_from(["", "sub", "sub/deeper", ".cache"]),  # folder inside the domain
        _NAMES,
        st.one_of(
            st.binary(max_size=64),  # random bytes with an image name
            st.tuples(st.sampled_from(_MODES), st.integers(1, 40), st.integers(1, 40), st.integers(0, 9)),
        ),
    ),
    max_size=6,
)


def _write_tree(folder: Path, files) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "empty_sub").mkdir()
    for index, (sub, name, content) in enumerate(files):
        path = folder / sub / f"{index}_{name}"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content if isinstance(content, bytes) else _encode(*content[:3], path.suffix.lower(), content[3])
        path.write_bytes(data)


@pytest.fixture(scope="session")
def random_trees():
    """Random bytes, image sizes and modes, and folder trees (issue 7). ``files``: a hypothesis strategy of up to 6
    (sub-folder, name, content) entries, content random bytes or (mode, width, height, seed) of an image in any PIL
    mode under an image name (or readme.txt, or hidden); ``write(folder, files)`` makes ``folder`` hold just those
    (and an empty sub-folder). Draw with ``@given(data=st.data())`` and ``data.draw(random_trees.files)``."""
    return SimpleNamespace(files=_FILES, write=_write_tree)


# --- a local HTTP server (dataset downloads) ------------------------------------------------------------------------


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, data in entries.items():
            zipped.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def zip_bytes():
    """``zip_bytes({name: data, ...})``: the bytes of a zip archive holding those entries."""
    return _zip


@pytest.fixture(scope="session")
def horse2zebra() -> dict[str, bytes]:
    """The entries of a small horse2zebra.zip in the official layout (3 'images' of 10 kB per folder)."""
    return {f"horse2zebra/{split}/img_{i}.jpg": bytes([i, len(split)]) * 5000 for split in
            ("trainA", "trainB", "testA", "testB") for i in range(3)}  # fmt: skip


class _Server:
    """Serves ``files`` on 127.0.0.1; honours Range; ``truncate_next`` sends only that many body bytes once."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.truncate_next: int | None = None
        self.ranges: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                data = server.files.get(self.path)
                server.ranges.append(self.headers.get("Range"))
                if data is None:
                    self.send_error(404)
                    return
                start = int(self.headers["Range"].split("=")[1].rstrip("-")) if self.headers.get("Range") else 0
                body = data[start:]
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.truncate_next is not None:
                    body, server.truncate_next = body[: server.truncate_next], None
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server():
    """A local HTTP server: put bytes in ``server.files["/name.zip"]``, fetch from ``server.url``."""
    served = _Server()
    yield served
    served.httpd.shutdown()


# --- official weight files (CycleGAN: junyanz/pytorch-CycleGAN-and-pix2pix; StarGAN: yunjey/stargan) ---------------


def _official_file(net: nn.Module, path, legacy: bool = False):
    """An official-style state dict: our keys are the official ones; 2018 files also had InstanceNorm statistics."""
    state = dict(net.state_dict())
    if legacy:
        state["model.2.running_mean"] = torch.zeros(net.model[1].out_channels)
        state["model.2.running_var"] = torch.ones(net.model[1].out_channels)
    torch.save(state, path)


@pytest.fixture(scope="session")
def official_cyclegan_file():
    """``official_cyclegan_file(net, path, legacy=False)`` saves a ResNet or U-Net generator as the official code
    does (``legacy``: with the InstanceNorm statistics of 2018 files)."""
    return _official_file


def _official_norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=True, track_running_stats=True)


class _OfficialStarGANBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.main = nn.Sequential(nn.Conv2d(channels, channels, 3, 1, 1, bias=False), _official_norm(channels),
                                  nn.ReLU(), nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
                                  _official_norm(channels))  # fmt: skip

    def forward(self, x):
        return x + self.main(x)


class OfficialStarGANGenerator(nn.Module):
    """Reference written from the paper's appendix and yunjey/stargan model.py's layer list: conv 7x7 on 3 + c_dim
    channels, norm, ReLU; two 4x4 stride-2 convs; residual blocks; two 4x4 stride-2 transposed convs; conv 7x7, tanh.
    No conv has a bias; every norm is InstanceNorm2d(affine=True, track_running_stats=True), used in training mode as
    the official test() does (it never calls G.eval())."""

    def __init__(self, conv_dim: int, c_dim: int, repeat_num: int):
        super().__init__()
        d = conv_dim
        layers = [nn.Conv2d(3 + c_dim, d, 7, 1, 3, bias=False), _official_norm(d), nn.ReLU()]
        for _ in range(2):
            layers += [nn.Conv2d(d, 2 * d, 4, 2, 1, bias=False), _official_norm(2 * d), nn.ReLU()]
            d *= 2
        layers += [_OfficialStarGANBlock(d) for _ in range(repeat_num)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(d, d // 2, 4, 2, 1, bias=False), _official_norm(d // 2), nn.ReLU()]
            d //= 2
        layers += [nn.Conv2d(d, 3, 7, 1, 3, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, x, c):  # label (B, c_dim) tiled over H x W and concatenated to the image
        return self.main(torch.cat([x, c[:, :, None, None].expand(-1, -1, *x.shape[-2:])], dim=1))


class OfficialStarGANDiscriminator(nn.Module):
    """Reference: ``repeat_num`` 4x4 stride-2 convs with bias and LeakyReLU(0.01), widths doubling; ``conv1`` 3x3
    critic head, ``conv2`` classifier with kernel image_size / 2**repeat_num; no bias on either head."""

    def __init__(self, image_size: int, conv_dim: int, c_dim: int, repeat_num: int):
        super().__init__()
        layers, d_in, d = [], 3, conv_dim
        for _ in range(repeat_num):
            layers += [nn.Conv2d(d_in, d, 4, 2, 1), nn.LeakyReLU(0.01)]
            d_in, d = d, 2 * d
        self.main = nn.Sequential(*layers)
        self.conv1 = nn.Conv2d(d_in, 1, 3, 1, 1, bias=False)
        self.conv2 = nn.Conv2d(d_in, c_dim, image_size // 2**repeat_num, bias=False)

    def forward(self, x):
        h = self.main(x)
        return self.conv1(h), self.conv2(h).flatten(1)


def _randomized(net: nn.Module) -> nn.Module:
    """Random values in every parameter and statistic, so that a wrong mapping cannot pass by symmetry."""
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if not name.endswith("num_batches_tracked"):
                tensor.copy_(
                    torch.rand_like(tensor) * 0.4 + 0.8 if "running_var" in name else torch.randn_like(tensor) * 0.2
                )
    return net


def _official_stargan_files(folder, *, legacy: bool = False, with_d: bool = True):
    """200000-G.ckpt (and -D.ckpt) as the official solver saves them: torch.save(net.state_dict(), path)."""
    torch.manual_seed(0)
    g, d = _randomized(OfficialStarGANGenerator(8, 5, 2)), _randomized(OfficialStarGANDiscriminator(32, 4, 5, 3))
    state = g.state_dict()
    if legacy:  # PyTorch 0.4.0 files have no num_batches_tracked
        state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    torch.save(state, folder / "200000-G.ckpt")
    if with_d:
        torch.save(d.state_dict(), folder / "200000-D.ckpt")
    return g, d


@pytest.fixture(scope="session")
def official_stargan_files():
    """``official_stargan_files(folder, legacy=False, with_d=True)`` writes folder/200000-G.ckpt (and -D.ckpt) of a
    randomized reference StarGAN (8 base channels, 5 labels, 2 blocks; a 32 px critic) as the official solver saves
    them; returns the reference generator and discriminator (``legacy``: PyTorch 0.4.0 files, without
    num_batches_tracked)."""
    return _official_stargan_files
