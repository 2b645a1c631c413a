"""How tests/assets/main_0ec298b/ was made, with main at 0ec298b (before data sources were classes, #31): tiny
CycleGAN and DCGAN runs stopped mid-epoch (step 4: batch 2 of 3), their last.ckpt and saved config.yaml.

    PYTHONPATH=<main at 0ec298b> python tests/assets/main_0ec298b/make.py OUT /tmp/gen/work
"""

import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from translate.cli import main

out, work = Path(sys.argv[1]), Path(sys.argv[2])
rng = np.random.default_rng(0)
for domain, colour, count in (("A", 0, 6), ("B", 1, 4)):
    folder = work / "data" / f"train{domain}"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        image = rng.integers(0, 60, (32, 32, 3), dtype=np.uint8)
        image[..., colour] += 180
        Image.fromarray(image).save(folder / f"{i:03d}.png")
REPO = Path("/work/main")
saving = ["--trainer.callbacks+=lightning.pytorch.callbacks.ModelCheckpoint", "--trainer.callbacks.save_last=true",
          "--trainer.callbacks.every_n_train_steps=4", "--trainer.callbacks.save_top_k=0"]  # fmt: skip
main(["fit", f"--config={REPO / 'configs/quickstart_official.yaml'}", f"--config={REPO / 'configs/debug.yaml'}",
      f"--data.root={work / 'data'}", "--trainer.fast_dev_run=false", "--trainer.max_steps=4",
      "--trainer.limit_val_batches=0", f"--trainer.default_root_dir={work / 'cyclegan'}", "--data.batch_size=2",
      *saving])  # fmt: skip
main(["fit", f"--config={REPO / 'configs/dcgan_quickstart.yaml'}", f"--config={REPO / 'configs/debug_noise.yaml'}",
      f"--data.init_args.root={work / 'data'}", "--trainer.fast_dev_run=false", "--trainer.max_steps=4",
      "--data.init_args.batch_size=4", f"--trainer.default_root_dir={work / 'dcgan'}", *saving])  # fmt: skip
out.mkdir(parents=True, exist_ok=True)
for name in ("cyclegan", "dcgan"):
    (ckpt,) = (work / name).rglob("last.ckpt")
    shutil.copy(ckpt, out / f"{name}.ckpt")
    (config,) = (work / name).rglob("config.yaml")
    shutil.copy(config, out / f"{name}_config.yaml")
