"""GPU speed settings for convolution networks: cuDNN autotuning and the channels_last memory layout.

Add to a config (both settings act on CUDA only; on a CPU the callback does nothing):

    trainer:
      callbacks:
        - class_path: translate.training.gpu_speed.GpuSpeedUps
          init_args: {cudnn_benchmark: true, channels_last: false}

``python -m benchmarks.gpu_check`` measures both on the GPU it runs on (docs/benchmarks.md).
"""

import logging

import torch
from lightning.pytorch import Callback, LightningModule, Trainer

log = logging.getLogger(__name__)


class GpuSpeedUps(Callback):
    """On CUDA, before the optimizers exist: cuDNN autotuning, and optionally the weights in channels_last.

    Args:
        cudnn_benchmark: Let cuDNN time its convolution algorithms for each new input shape and keep the fastest.
            Training crops have one size, so the timing is paid once; a run whose sizes change every batch pays it
            every batch (turn it off there). Left off under ``trainer.deterministic`` (docs/training.md).
        channels_last: Store 4-D weights as NHWC, which tensor-core convolutions prefer in mixed precision. Off by
            default: instance norm (CycleGAN, StarGAN, CUT, TraVeLGAN) runs on NCHW, so each norm layer converts the
            activations back and the next convolution converts them again; worth it for batch-norm networks
            (pix2pix). Measure before turning it on.
    """

    def __init__(self, cudnn_benchmark: bool = True, channels_last: bool = False):
        self.cudnn_benchmark = cudnn_benchmark
        self.channels_last = channels_last

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        # setup runs before the strategy moves the module and builds the optimizers, so that Adam's state tensors are
        # created in the weights' layout; .to(device) keeps the layout.
        if trainer.strategy.root_device.type != "cuda":
            return
        if self.cudnn_benchmark and torch.are_deterministic_algorithms_enabled():
            # trainer.deterministic: autotuning would pick among all algorithms again, whatever cuDNN's
            # deterministic setting says, so a reproducible run keeps it off
            log.warning("trainer.deterministic is set: GpuSpeedUps leaves cuDNN autotuning (cudnn_benchmark) off")
        elif self.cudnn_benchmark:
            torch.backends.cudnn.benchmark = True
        if self.channels_last:
            pl_module.to(memory_format=torch.channels_last)
