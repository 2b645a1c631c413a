"""History of generated images shown to the discriminator (Shrivastava et al. 2017; used by CycleGAN, Sec. 4)."""

import torch
from torch import Tensor


class ImagePool:
    """Keeps up to ``size`` past fakes; once full, each query image is swapped for a stored one with p = 0.5.

    Training D on a history of fakes rather than only the latest ones reduces model oscillation. Randomness comes from
    torch's global generator, so ``seed_everything`` makes it reproducible; ``state_dict`` makes it resumable.
    """

    def __init__(self, size: int = 50):
        if size < 0:
            raise ValueError(f"pool_size must be >= 0 (0 disables the pool), got {size}")
        self.size = size
        self.images: list[Tensor] = []  # each (C, H, W), detached

    def __call__(self, images: Tensor) -> Tensor:
        """Return a batch of the same shape: new images, or older ones in their place."""
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:  # filling up: store and pass through
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), dtype=torch.float32) < 0.5:  # swap an old fake in (fp32: the same draw in 64-true)
                index = int(torch.randint(0, self.size, ()))
                out.append(self.images[index].to(image.device))  # may be on CPU after a resume
                self.images[index] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict:
        return {"size": self.size, "images": [image.cpu() for image in self.images]}

    def load_state_dict(self, state: dict) -> None:
        self.size = state["size"]
        self.images = list(state["images"])
