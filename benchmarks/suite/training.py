"""Training a variant on a task's data through ``translate fit``: the variant's configs, then an overlay that points
the data at the task's folders, validates on val (never test), sets the length and writes ``step=<optimizer
steps>.ckpt`` every ``every`` batches; then the variant's ``KEY=VALUE`` overrides. One thread, in a subprocess.

A variant is a string of config paths (stacked in order, as ``translate fit --config``) and ``KEY=VALUE`` overrides
(``translate fit --KEY=VALUE``), separated by spaces: ``"configs/quickstart.yaml model.init_args.lambda_identity=0.5"``.

``schedule="span"`` stretches the configs' LinearDecayLR to the run: its constant and decaying epochs keep their
ratio and add up to the run's epochs (the official 100 + 100 epochs become 25 + 25 for 10,000 batches of 200 images),
so a long run is not half at a zero rate; ``"config"`` keeps the configs' epochs.
"""

import hashlib
import json
import math
import os
import re
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Variant:
    configs: tuple[str, ...]
    overrides: tuple[str, ...] = ()

    @classmethod
    def parse(cls, spec: str, extra: list[str] | tuple[str, ...] = ()) -> "Variant":
        tokens = shlex.split(spec) + list(extra)
        configs = tuple(t for t in tokens if "=" not in t)
        if not configs:
            raise SystemExit(f"variant {spec!r} names no config: give a config path, then any KEY=VALUE overrides")
        return cls(configs, tuple(t for t in tokens if "=" in t))

    @property
    def name(self) -> str:
        """A folder name: the configs' stems joined by ``+``, the overrides' last keys and a hash of them."""
        name = "+".join(Path(c).stem for c in self.configs)
        if self.overrides:
            keys = "+".join(o.split("=", 1)[0].rsplit(".", 1)[-1] + "=" + o.split("=", 1)[1] for o in self.overrides)
            digest = hashlib.sha1("\n".join(self.overrides).encode()).hexdigest()[:6]
            name = f"{name}+{re.sub(r'[^A-Za-z0-9._=+-]', '_', keys)[:60]}-{digest}"
        return name


def default_variants() -> list[str]:
    """The official quick start and the recipe, by whichever names the configs have in this checkout (the recipe
    becomes configs/quickstart.yaml, the official settings configs/quickstart_official.yaml)."""
    official, recipe = Path("configs/quickstart_official.yaml"), Path("configs/quickstart_modern.yaml")
    quickstart = "configs/quickstart.yaml"
    return [str(official) if official.exists() else quickstart, str(recipe) if recipe.exists() else quickstart]


def _merge(base: dict, top: dict) -> dict:
    merged = dict(base)
    for key, value in top.items():
        merged[key] = (
            _merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged


def resolved(variant: Variant) -> dict:
    """The variant's configs merged as ``translate fit`` merges them (later wins), overrides applied."""
    config: dict = {}
    for path in variant.configs:
        config = _merge(config, yaml.safe_load(Path(path).read_text()) or {})
    for override in variant.overrides:
        key, text = override.split("=", 1)
        value = yaml.safe_load(text)
        for part in reversed(key.split(".")):
            value = {part: value}
        config = _merge(config, value)
    return config


def _span(config: dict, batches: int, train_images: int) -> dict:
    """The overlay part that stretches a LinearDecayLR to ``batches``; empty for other schedules."""
    scheduler = config.get("model", {}).get("init_args", {}).get("scheduler") or {}
    if not str(scheduler.get("class_path", "")).endswith("LinearDecayLR"):
        return {}
    init = scheduler.get("init_args", {})
    constant, decay = init.get("constant_epochs", 100), init.get("decay_epochs", 100)
    epoch = math.ceil(train_images / config.get("data", {}).get("batch_size", 1))  # batches per epoch
    epochs = math.ceil(batches / epoch)
    kept = round(epochs * constant / max(constant + decay, 1))
    return {
        "model": {"init_args": {"scheduler": {"init_args": {"constant_epochs": kept, "decay_epochs": epochs - kept}}}}
    }


def steps_per_batch(config: dict) -> int:
    """Optimizer steps per batch, Lightning's step count: one G and one D update (Pix2Pix's config counts one)."""
    return 1 if "Pix2Pix" in str(config.get("model", {}).get("class_path", "")) else 2


def _callbacks(out: Path, every_steps: int) -> list[dict]:
    checkpoint = {"dirpath": str(out / "checkpoints"), "filename": "{step}", "save_top_k": -1, "save_last": True,
                  "every_n_train_steps": every_steps}  # fmt: skip
    ours = "translate.training.callbacks."
    return [
        {"class_path": "lightning.pytorch.callbacks.ModelCheckpoint", "init_args": checkpoint},
        {"class_path": ours + "SaveOnInterrupt"},  # Ctrl+C or SIGTERM: last.ckpt, from which the suite resumes
        {"class_path": ours + "StopOnNonFinite"},
        {"class_path": ours + "StepSeed"},
        {"class_path": ours + "SampleGrid", "init_args": {"num_images": 6, "every_n_epochs": 10}},
    ]


def overlay(config: dict, data: Path, out: Path, *, seed: int, batches: int, every: int, schedule: str) -> dict:
    """What goes over the variant's configs: the task's data, validation on val, the length and the checkpoints."""
    per_batch = steps_per_batch(config)
    train_images = max(len(list((data / f"train{d}").glob("*.png"))) for d in "AB")
    logger = {"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": str(out)}}
    ours = {
        "seed_everything": seed,
        "data": {
            "source": {
                "class_path": "DomainFolders",
                "init_args": {
                    "root": None,
                    "train_dirs": [str(data / "trainA"), str(data / "trainB")],
                    "val_dirs": [str(data / "valA"), str(data / "valB")],
                },
            },
            "num_workers": 0,
            "seed": seed,
        },  # fmt: skip
        "trainer": {
            "max_steps": batches * per_batch,
            "max_epochs": -1,
            "fast_dev_run": False,
            "default_root_dir": str(out),
            "check_val_every_n_epoch": 10,
            "enable_progress_bar": False,
            "logger": logger,
            "callbacks": _callbacks(out, every * per_batch),
        },  # fmt: skip
    }
    return _merge(_span(config, batches, train_images) if schedule == "span" else {}, ours)


def train(variant: Variant, data: Path, out: Path, *, seed: int, batches: int, every: int, schedule: str) -> str:
    """Train ``variant`` into ``out`` unless its last checkpoint is there; resumes from ``last.ckpt`` when a run was
    cut short. Returns "done" (nothing to do), "resumed" or "trained". Refuses a folder trained with another spec."""
    config = resolved(variant)
    extra = overlay(config, data, out, seed=seed, batches=batches, every=every, schedule=schedule)
    # the merged settings too: a config file edited (or renamed over) since is another variant, not the same run
    spec = json.dumps(
        dict(configs=variant.configs, overrides=variant.overrides, resolved=config, overlay=extra), indent=1
    )
    final = out / "checkpoints" / f"step={batches * steps_per_batch(config)}.ckpt"
    if (out / "spec.json").exists() and (out / "spec.json").read_text() != spec:
        raise SystemExit(f"{out} was trained with other settings (its spec.json): delete it, or pass another --out")
    if final.exists():
        return "done"
    out.mkdir(parents=True, exist_ok=True)
    (out / "spec.json").write_text(spec)
    (out / "overlay.yaml").write_text(yaml.safe_dump(extra))
    argv = [sys.executable, "-m", "translate.cli", "fit", *(a for c in variant.configs for a in ("--config", c))]
    argv += ["--config", str(out / "overlay.yaml"), *(f"--{o}" for o in variant.overrides)]
    resume = out / "checkpoints" / "last.ckpt"
    resumed = resume.exists()  # a run cut short (SIGTERM and Ctrl+C write it; else the last periodic checkpoint)
    if resumed:
        argv.append(f"--ckpt_path={resume}")
    (out / "command.txt").write_text(shlex.join(argv) + "\n")
    launch(argv, os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "WANDB_MODE": "offline"})
    return "resumed" if resumed else "trained"


def launch(argv: list[str], env: dict[str, str]) -> None:
    """Run ``translate fit`` in a child and wait for it. Ctrl+C reaches the child too, which finishes its batch and
    writes last.ckpt (SaveOnInterrupt), so it is waited for, not killed as ``subprocess.run`` would after 0.25 s;
    a SIGTERM to the suite is passed on the same way. Either stops the suite; running it again resumes."""
    child = subprocess.Popen(argv, env=env)
    stopped = []

    def terminate(signum, frame) -> None:
        stopped.append(signum)
        child.terminate()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        code = child.wait()
    except KeyboardInterrupt:
        child.wait()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    if stopped:
        raise SystemExit(
            f"stopped by SIGTERM; {shlex.join(argv[3:5])}... wrote last.ckpt: run the suite again to resume"
        )
    if code:
        raise subprocess.CalledProcessError(code, argv)
