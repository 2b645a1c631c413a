"""Images from a noise model's checkpoint (DCGAN, conditional GAN, InfoGAN, Siamese GAN, VAE-GAN): the checkpoint
loaded, samples and grids of a seed, a VAE-GAN's reconstructions; what ``translate sample`` calls."""

from pathlib import Path

import torch
from lightning.pytorch import LightningModule
from torch import Tensor
from torchvision.utils import make_grid

import translate.models  # noqa: F401  (load_from_checkpoint only rebuilds classes that are already imported)
from translate.checkpoints import existing_checkpoint, read_checkpoint
from translate.data.image_writer import write_image
from translate.data.images import find_images, read_image, to_tensor
from translate.models.contract import GeneratesFromNoise, noise_model, reconstructing_model

CHUNK = 64  # images generated at once; chunk i draws its noise from seed * 100_003 + i


def load_noise_model(
    ckpt: str | Path, device: str | torch.device = "cpu", *, trust: bool = False
) -> GeneratesFromNoise:
    """The noise model ``translate fit`` saved in ``ckpt`` (or a run folder's newest last.ckpt), in eval mode.

    ``translate.inference.loading.load_model`` is the same for translation models; each refuses the other kind.
    """
    path = existing_checkpoint(ckpt)
    if "_instantiator" not in read_checkpoint(path, trust=trust, mmap=True).get("hyper_parameters", {}):
        raise ValueError(f"checkpoint {path} does not record its model class (not written by `translate fit`)")
    model = LightningModule.load_from_checkpoint(path, map_location="cpu", weights_only=not trust)
    return noise_model(model, f"checkpoint {path}").to(device).eval()


def save_grid(columns: list[Tensor], path: Path) -> None:
    """Columns of (rows, C, H, W) images -> one PNG, a row per index, the columns side by side."""
    images = torch.stack(columns, dim=1).flatten(0, 1)  # (rows * columns, C, H, W), row-major
    write_image(make_grid(images.float().cpu(), nrow=len(columns), padding=2, pad_value=1.0), path)


def write_samples(model: GeneratesFromNoise, output: Path, num: int, seed: int, class_name: str | None) -> None:
    """``sample_00000.png``, ... in ``output``: ``num`` images of ``class_name`` (None: each class in turn)."""
    for chunk, start in enumerate(range(0, num, CHUNK)):
        images = model.generate(min(CHUNK, num - start), seed=seed * 100_003 + chunk, class_name=class_name)
        for offset, image in enumerate(images):
            write_image(image, output / f"sample_{start + offset:05d}.png")


def write_grids(model: GeneratesFromNoise, output: Path, seed: int, rows: int = 8) -> list[str]:
    """``grid.png`` (the sample grid's columns), and for InfoGAN ``grid_<code>.png`` with each latent code swept;
    returns the names written."""
    save_grid(list(model.grid_columns(rows, seed=seed).values()), output / "grid.png")
    written = ["grid.png"]
    for name, columns in model.sweeps(rows, seed=seed).items():
        save_grid(list(columns.values()), output / f"grid_{name}.png")
        written.append(f"grid_{name}.png")
    return written


def write_reconstructions(model: GeneratesFromNoise, folder: Path, output: Path, device: str | torch.device) -> Path:
    """A grid of up to 64 images of ``folder`` (resized to the model's size) beside their reconstructions."""
    encoder = reconstructing_model(model)
    size = model.image_size
    images = [to_tensor(read_image(path, model.channels)) for path in find_images(folder)[:64]]
    batch = torch.stack([torch.nn.functional.interpolate(i[None], (size, size), mode="area")[0] for i in images])
    with torch.no_grad():
        rebuilt = encoder.reconstruct(batch.to(device))
    path = output / "reconstructions.png"
    save_grid([batch, rebuilt.cpu()], path)
    return path
