"""Data-parallel training for GANs without DistributedDataParallel: gradients are averaged at each optimizer step.

A GAN step trains one network while the other only takes part in the forward pass (the D step never touches G), so
DistributedDataParallel either stops ("parameters that were not used in producing the loss") or, with
``find_unused_parameters=True``, walks the autograd graph after every forward to find them. ``StepSyncDDPStrategy``
keeps everything else of Lightning's DDPStrategy (process groups, launchers, cluster environments, sharded samplers,
rank-0 checkpoints, ``sync_batchnorm``) and replaces the wrapper: the ranks start from rank 0's weights, and each
``optimizer.step()`` first averages the gradients of exactly that optimizer's parameters across the ranks.

``translate fit ... --trainer.strategy ddp`` selects it (translate.training.cli); in Python:
``Trainer(devices=4, strategy=StepSyncDDPStrategy())``.
"""

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, Literal

import torch
import torch.distributed as dist
from lightning.fabric.plugins import CheckpointIO, ClusterEnvironment
from lightning.fabric.plugins.collectives.torch_collective import default_pg_timeout
from lightning.pytorch import LightningModule
from lightning.pytorch.accelerators import Accelerator
from lightning.pytorch.overrides.distributed import _sync_module_states
from lightning.pytorch.plugins.precision import Precision
from lightning.pytorch.strategies import DDPStrategy
from torch import Tensor
from torch.nn import Module
from torch.optim import Optimizer

# The names under which Lightning registers its DDPStrategy without find_unused_parameters, and their start methods.
# The CLI maps them to StepSyncDDPStrategy (a GAN cannot train with them as they are).
PLAIN_DDP_NAMES = {"ddp": "popen", "ddp_spawn": "spawn", "ddp_fork": "fork", "ddp_notebook": "fork"}


class StepSyncDDPStrategy(DDPStrategy):
    """DDP for manual optimization: at each ``optimizer.step()``, average that optimizer's gradients across ranks.

    The module is not wrapped in DistributedDataParallel. At setup every rank takes rank 0's parameters and buffers;
    before each optimizer step the gradients of the parameters that optimizer updates are flattened into a few buckets
    and all-reduced (averaged over the ranks), so the ranks take the same step and keep identical weights. Nothing
    hooks autograd, so there is no unused-parameter search, no gradient sync for the network that is not being
    stepped, and double backward (WGAN-GP's gradient penalty) needs nothing special.

    The price: communication starts after backward has finished instead of overlapping with it, as DDP's buckets do.
    With gradient accumulation (several backwards per ``step()``) it syncs once, like ``no_sync``.

    Args:
        bucket_cap_mb: Largest flattened bucket (MiB) per all-reduce; a step needs about size of its gradients /
            ``bucket_cap_mb`` collective calls, and that much extra memory.
        broadcast_buffers: As DistributedDataParallel: at each training step, rank 0's buffers (batch-norm running
            statistics, for example) replace the other ranks' before the step runs.

    The other arguments are Lightning's DDPStrategy's (the Trainer fills in the first ones).
    """

    def __init__(
        self,
        accelerator: Accelerator | None = None,
        parallel_devices: list[torch.device] | None = None,
        cluster_environment: ClusterEnvironment | None = None,
        checkpoint_io: CheckpointIO | None = None,
        precision_plugin: Precision | None = None,
        process_group_backend: str | None = None,
        timeout: timedelta | None = default_pg_timeout,
        start_method: Literal["popen", "spawn", "fork", "forkserver"] = "popen",
        *,
        bucket_cap_mb: float = 25.0,
        broadcast_buffers: bool = True,
    ):
        super().__init__(
            accelerator=accelerator,
            parallel_devices=parallel_devices,
            cluster_environment=cluster_environment,
            checkpoint_io=checkpoint_io,
            precision_plugin=precision_plugin,
            process_group_backend=process_group_backend,
            timeout=timeout,
            start_method=start_method,
        )
        self.bucket_cap_bytes = int(bucket_cap_mb * 2**20)
        self.broadcast_buffers = broadcast_buffers

    def configure_ddp(self) -> None:
        # Called by DDPStrategy.setup when fitting, where it would wrap the module. The wrapper's constructor would
        # broadcast rank 0's parameters and buffers: that is all that needs doing here.
        _sync_module_states(self.model)

    def training_step(self, *args: Any, **kwargs: Any) -> Any:
        if self.broadcast_buffers and self.world_size > 1:
            self._broadcast_buffers(self.lightning_module)
        return super().training_step(*args, **kwargs)

    def optimizer_step(
        self,
        optimizer: Optimizer,
        closure: Callable[[], Any],
        model: LightningModule | Module | None = None,
        **kwargs: Any,
    ) -> Any:
        # The average goes inside the closure: the precision plugin runs the closure (where automatic optimization or
        # a user's closure does the backward), then unscales fp16 gradients, clips and steps; averaging the still
        # scaled gradients keeps GradScaler's inf check the same on every rank, as DDP does.
        def closure_then_average() -> Any:
            result = closure()
            if self.world_size > 1:
                self._average_gradients(optimizer)
            return result

        return super().optimizer_step(optimizer, closure_then_average, model, **kwargs)

    def _average_gradients(self, optimizer: Optimizer) -> None:
        params = list(
            {id(p): p for group in optimizer.param_groups for p in group["params"] if p.requires_grad}.values()
        )
        pending = []
        for bucket in _buckets(params, self.bucket_cap_bytes):
            # A parameter without a gradient on one rank may have one on another (a data-dependent branch): it joins
            # as zeros, and one flag per parameter, summed over the ranks, says whether any rank had a gradient.
            # Without the flags the buckets' sizes could differ between ranks.
            example = bucket[0]
            grads = [p.grad.reshape(-1) if p.grad is not None else p.new_zeros(p.numel()) for p in bucket]
            flags = torch.tensor([p.grad is not None for p in bucket], dtype=example.dtype, device=example.device)
            flat = torch.cat([*grads, flags])
            pending.append((bucket, flat, dist.all_reduce(flat, async_op=True)))
        for bucket, flat, work in pending:
            work.wait()
            flat.div_(self.world_size)
            *grads, flags = flat.split([*(p.numel() for p in bucket), len(bucket)])
            for param, grad, flag in zip(bucket, grads, flags.tolist(), strict=True):
                if flag == 0:
                    continue  # no rank has a gradient: the optimizer skips it, as it would on one process
                if param.grad is None:
                    param.grad = grad.view_as(param).clone()
                else:
                    param.grad.copy_(grad.view_as(param))

    def _broadcast_buffers(self, module: Module) -> None:
        buffers = list(module.buffers())
        pending = [(b, torch.cat([t.reshape(-1) for t in b])) for b in _buckets(buffers, self.bucket_cap_bytes)]
        works = [dist.broadcast(flat, src=0, async_op=True) for _, flat in pending]
        for (bucket, flat), work in zip(pending, works, strict=True):
            work.wait()
            for buffer, value in zip(bucket, flat.split([t.numel() for t in bucket]), strict=True):
                buffer.copy_(value.view_as(buffer))


def _buckets(tensors: list[Tensor], cap_bytes: int) -> Iterator[list[Tensor]]:
    """Consecutive runs of ``tensors`` with one device and dtype (a flat buffer needs both) and at most ``cap_bytes``
    in all (a single larger tensor makes its own bucket)."""
    by_kind: dict[tuple[torch.device, torch.dtype], list[Tensor]] = {}
    for tensor in tensors:
        by_kind.setdefault((tensor.device, tensor.dtype), []).append(tensor)
    for group in by_kind.values():
        bucket, size = [], 0
        for tensor in group:
            nbytes = tensor.numel() * tensor.element_size()
            if bucket and size + nbytes > cap_bytes:
                yield bucket
                bucket, size = [], 0
            bucket.append(tensor)
            size += nbytes
        if bucket:
            yield bucket
