"""The official CycleGAN training step and ours on the same model, size and batch, taking turns; predict throughput.

    git clone https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix ../pytorch-CycleGAN-and-pix2pix
    python -m benchmarks.vs_official --cyclegan ../pytorch-CycleGAN-and-pix2pix --sizes 128 256 --rounds 3 --threads 2
    git clone https://github.com/taesungp/contrastive-unpaired-translation ../contrastive-unpaired-translation
    python -m benchmarks.vs_official --cut ../contrastive-unpaired-translation --sizes 128 --rounds 3   # CUT, FastCUT
    python -m benchmarks.vs_official --cyclegan PATH --sizes 32 --rounds 1 --steps 1 --warmup 0 --ngf 8 --ndf 8 \\
        --blocks 6 --predict-sizes 32 --predict-images 2 --no-spawn                   # a smoke test (minutes)

Nothing of the official code is in this repository: it is imported from the checkout given (its top-level
``options`` and ``models`` packages), in a process of its own per case. The official step is what its train.py
times per iteration, ``model.set_input(data)`` then ``model.optimize_parameters()``, at its CycleGAN defaults
(ResNet-9, 70x70 PatchGAN, instance norm, LSGAN, pool 50, Adam), on a batch of random images made once. Ours is
``configs/apple2orange.yaml`` (the same networks and objective) through Lightning's real loop, timed from batch start
to batch end (benchmarks/run.py), so neither side's data loading is in the step. ``--ngf``, ``--ndf`` and
``--blocks`` change both sides alike. CUT and FastCUT (``--cut``, taesungp/contrastive-unpaired-translation, the
same API, ``--CUT_mode CUT`` / ``FastCUT``, its ``data_dependent_initialize`` called on the first batch as its
train.py does) against ``configs/horse2zebra_cut.yaml`` / ``horse2zebra_fastcut.yaml``; that path has run on a
stand-in only, not on a CUT checkout yet.

Precisions: ``fp32`` against ``fp32``, and ``bf16`` against ``bf16``: ours with ``precision=bf16-mixed``, the
official step wrapped in ``torch.autocast("cpu", torch.bfloat16)``, the fair comparison (bf16 only pays on CPUs with
AVX512-BF16 or AMX; the JSON records the CPU's flags). Predict: the generator's forward alone on both sides (the
official test.py's compute) and our whole ``translate predict`` loop (decode, translate, encode).

Every round runs every case once; the cases' order rotates every round (official first in one round, ours first in
the next), so slow stretches of a shared machine fall on both sides. It writes every round and every step's time to
``benchmarks/results/<date>-<machine>-vs-official.json`` with the machine (CPU model and flags, threads, torch,
load average before and after, a matmul's GFLOP/s before and after). Benchmark on a quiet machine.
"""

import argparse
import contextlib
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks import run

ROOT = Path(__file__).resolve().parent.parent
PRECISIONS = {"fp32": "32-true", "bf16": "bf16-mixed"}  # ours: Lightning's precision


def machine_slug(info: dict) -> str:
    """``intel-xeon-processor-2cpu`` from the CPU model: the results file's name says which machine it holds."""
    name = re.sub(r"\((r|tm)\)|cpu @.*|processor", "", info["cpu"].lower())
    return f"{re.sub(r'[^a-z0-9]+', '-', name).strip('-')[:40]}-{info['cpus']}cpu"


def matmul_gflops(dtype: torch.dtype) -> float:
    """A 2048^2 matmul's GFLOP/s in ``dtype``: how quiet the machine is (and whether bf16 is native)."""
    a, b = torch.randn(2048, 2048, dtype=dtype), torch.randn(2048, 2048, dtype=dtype)
    a @ b
    times = []
    for _ in range(3):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * 2048**3 / min(times) / 1e9


def _git_commit(path: Path) -> str | None:
    """HEAD of the checkout at ``path``, with ``+changes`` when its files differ from it."""
    head = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    changes = subprocess.run(["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"],
                             capture_output=True, text=True).stdout.strip()  # fmt: skip
    return f"{head}+changes" if head and changes else head or None


# --- the official side (runs in its own process: the checkout's top-level packages, its sys.argv parsing) ---------


OFFICIAL_MODELS = {"cyclegan": {"--model": "cycle_gan"}, "cut": {"--model": "cut", "--CUT_mode": "CUT"},
                   "fastcut": {"--model": "cut", "--CUT_mode": "FastCUT"}}  # fmt: skip


def _official_model(checkout: Path, spec: dict, data: dict):
    """The official model, built as its train.py builds it, from the options its parser knows (older and newer
    checkouts differ: ``--gpu_ids`` or ``opt.device``)."""
    sys.path.insert(0, str(checkout))
    from models import create_model
    from options.train_options import TrainOptions

    folder = tempfile.mkdtemp()
    known = TrainOptions().initialize(argparse.ArgumentParser())._option_string_actions
    wanted = {**OFFICIAL_MODELS[spec["model"]], "--dataroot": folder, "--name": "vs_official",
              "--checkpoints_dir": folder, "--batch_size": str(spec["batch"]), "--crop_size": str(spec["size"]),
              "--gpu_ids": "-1",
              "--load_size": str(round(spec["size"] * 286 / 256)), "--display_id": "0", "--no_html": None,
              "--ngf": str(spec["ngf"]), "--ndf": str(spec["ndf"]),
              "--netG": f"resnet_{spec['blocks']}blocks"}  # fmt: skip
    argv = ["train.py"]
    for option, value in wanted.items():
        if option in known:
            argv += [option] if value is None else [option, value]
    sys.argv = argv
    with contextlib.redirect_stdout(io.StringIO()):  # it prints every option and network
        opt = TrainOptions().parse()
        opt.device = torch.device("cpu")  # newer checkouts read opt.device (train.py sets it from init_ddp())
        model = create_model(opt)
        if hasattr(model, "data_dependent_initialize"):  # CUT: builds its PatchNCE heads from the first batch
            model.data_dependent_initialize(data)
        model.setup(opt)
    return model


def _random_batch(spec: dict) -> dict:
    images = [torch.rand(spec["batch"], 3, spec["size"], spec["size"]) * 2 - 1 for _ in range(2)]
    return {"A": images[0], "B": images[1], "A_paths": ["a.png"] * spec["batch"], "B_paths": ["b.png"] * spec["batch"]}


def _official_train_case(checkout: Path, spec: dict, queue) -> None:
    torch.set_num_threads(spec["threads"])
    data = _random_batch(spec)
    model = _official_model(checkout, spec, data)
    bf16 = spec["precision"] == "bf16"
    times = []
    for _ in range(spec["warmup"] + spec["steps"]):
        start = time.perf_counter()
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            model.set_input(data)
            model.optimize_parameters()
        times.append(time.perf_counter() - start)
    queue.put({"step_seconds": times[spec["warmup"] :], "peak_rss_mb": run._peak_rss_mb()})


def _generator_forward_times(generator: torch.nn.Module, spec: dict) -> list[float]:
    """Seconds per image of the generator's forward, batch 1, no grad, ``--predict-images`` images."""
    images = [torch.rand(1, 3, spec["size"], spec["size"]) * 2 - 1 for _ in range(spec["images"] + 1)]
    times = []
    with torch.no_grad(), torch.autocast("cpu", torch.bfloat16, enabled=spec["precision"] == "bf16"):
        for image in images:  # the first is a warm-up
            start = time.perf_counter()
            generator(image)
            times.append(time.perf_counter() - start)
    return times[1:]


def _official_predict_case(checkout: Path, spec: dict, queue) -> None:
    torch.set_num_threads(spec["threads"])
    model = _official_model(checkout, spec | {"batch": 1}, _random_batch(spec | {"batch": 1}))
    generator = model.netG_A if hasattr(model, "netG_A") else model.netG  # CycleGAN's A -> B, CUT's only one
    times = _generator_forward_times(generator, spec)  # test.py keeps the nets in train mode: same for these norms
    queue.put({"image_seconds": times, "peak_rss_mb": run._peak_rss_mb()})


# --- our side -------------------------------------------------------------------------------------------------------


def _our_overrides(spec: dict) -> list[str]:
    generator, discriminator = "--model.init_args.generator.init_args", "--model.init_args.discriminator.init_args"
    return [f"{generator}.base_channels={spec['ngf']}", f"{generator}.num_blocks={spec['blocks']}",
            f"{discriminator}.base_channels={spec['ndf']}"]  # fmt: skip


def _ours_train_case(spec: dict, queue) -> None:
    torch.set_num_threads(spec["threads"])
    inner = _ListQueue()
    run._train_case(spec["model"], spec["size"], spec["batch"], spec["steps"], spec["warmup"], False,
                    PRECISIONS[spec["precision"]], inner, overrides=_our_overrides(spec))  # fmt: skip
    result = inner.items[0]
    queue.put({"step_seconds": result["step_seconds"], "peak_rss_mb": result["peak_rss_mb"]})


def _ours_predict_case(spec: dict, queue) -> None:
    """Our generator's forward (as the official one's) and the whole ``translate predict`` loop."""
    torch.set_num_threads(spec["threads"])
    model, _ = run.build(spec["model"], False, Path(tempfile.mkdtemp()), _our_overrides(spec))
    times = _generator_forward_times((model.gen_ab if spec["model"] == "cyclegan" else model.gen).eval(), spec)
    inner = _ListQueue()
    run._predict_case(spec["model"], spec["size"], spec["images"], 1, False, PRECISIONS[spec["precision"]], inner,
                      overrides=_our_overrides(spec))  # fmt: skip
    loop = inner.items[0]
    queue.put({"image_seconds": times, "loop_seconds_per_image": loop["seconds_per_image"],
               "peak_rss_mb": max(loop["peak_rss_mb"], run._peak_rss_mb())})  # fmt: skip


class _ListQueue:
    """What run's cases put their result in, when they run inside this case's process."""

    def __init__(self):
        self.items = []

    def put(self, item) -> None:
        self.items.append(item)


# --- the rounds -----------------------------------------------------------------------------------------------------

CASES = {  # (kind, side) -> the function run in a process of its own
    ("train", "official"): _official_train_case,
    ("train", "ours"): _ours_train_case,
    ("predict", "official"): _official_predict_case,
    ("predict", "ours"): _ours_predict_case,
}


CHECKOUTS = {"cyclegan": "cyclegan", "cut": "cut", "fastcut": "cut"}  # model -> the option naming its checkout
OUR_CONFIGS = {
    "cyclegan": "configs/apple2orange.yaml",
    "cut": "configs/horse2zebra_cut.yaml",
    "fastcut": "configs/horse2zebra_fastcut.yaml",
}  # fmt: skip (what benchmarks/run.py builds)


def plan(args: argparse.Namespace) -> list[list[dict]]:
    """Groups of cases to compare (official and ours: one model, kind, size and precision), in round 0's order."""
    shared = {"threads": args.threads, "ngf": args.ngf, "ndf": args.ndf, "blocks": args.blocks}
    models = [m for m in OUR_CONFIGS if getattr(args, CHECKOUTS[m]) is not None]
    groups = []
    for model in models:
        for precision in args.precisions:
            for size in args.sizes:
                spec = shared | {"model": model, "kind": "train", "size": size, "batch": args.batch,
                                 "precision": precision, "steps": args.steps, "warmup": args.warmup}  # fmt: skip
                groups.append([spec | {"side": side} for side in ("official", "ours")])
            for size in args.predict_sizes if model != "fastcut" else []:  # FastCUT's generator is CUT's
                spec = shared | {"model": model, "kind": "predict", "size": size, "precision": precision,
                                 "images": args.predict_images}  # fmt: skip
                groups.append([spec | {"side": side} for side in ("official", "ours")])
    return groups


def rotated(items: list, by: int) -> list:
    return items[by % len(items) :] + items[: by % len(items)] if items else items


def round_order(groups: list[list[dict]], index: int) -> list[dict]:
    """Round ``index``'s cases: the groups rotated by ``index``, and within each group the sides too (with two
    sides: official first in even rounds, ours first in odd ones)."""
    return [spec for group in rotated(groups, index) for spec in rotated(group, index)]


def run_case(spec: dict, args: argparse.Namespace) -> dict:
    target = CASES[spec["kind"], spec["side"]]
    arguments = (spec,) if spec["side"] == "ours" else (getattr(args, CHECKOUTS[spec["model"]]), spec)
    load_before = os.getloadavg()
    start = time.perf_counter()
    result = run._run(args.spawn, target, *arguments)
    return spec | result | {"wall_seconds": time.perf_counter() - start, "load_before": load_before}


def _group_key(row: dict) -> tuple:
    return row["model"], row["kind"], row["size"], row["precision"]


def summarise(rows: list[dict]) -> list[dict]:
    """Per model, kind, size and precision: each side's median over rounds of its per-round median seconds, and the
    per-round ratio official / ours (above 1: ours is faster)."""
    summary = []
    for key in dict.fromkeys(_group_key(row) for row in rows):  # round 0's order
        per_round, loops = {}, []
        for row in (row for row in rows if _group_key(row) == key):
            seconds = row["step_seconds" if row["kind"] == "train" else "image_seconds"]
            per_round.setdefault(row["round"], {})[row["side"]] = statistics.median(seconds)
            loops += [row["loop_seconds_per_image"]] if "loop_seconds_per_image" in row else []
        rounds = [r for r in per_round.values() if len(r) == 2]
        item = dict(zip(("model", "kind", "size", "precision"), key, strict=True))
        item |= {"official_s": statistics.median(r["official"] for r in rounds),
                 "ours_s": statistics.median(r["ours"] for r in rounds),
                 "ratio_per_round": [r["official"] / r["ours"] for r in rounds]}  # fmt: skip
        item["ratio_median"] = statistics.median(item["ratio_per_round"])
        if loops:
            item["ours_loop_images_per_s"] = 1 / statistics.median(loops)
        summary.append(item)
    return summary


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cyclegan", type=Path, help="a checkout of junyanz/pytorch-CycleGAN-and-pix2pix")
    parser.add_argument("--cut", type=Path, help="a checkout of taesungp/contrastive-unpaired-translation")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256], help="training crop sizes")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--precisions", nargs="+", choices=list(PRECISIONS), default=list(PRECISIONS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5, help="timed training steps per case, after --warmup")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--predict-sizes", type=int, nargs="*", default=[256])
    parser.add_argument("--predict-images", type=int, default=16)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--ngf", type=int, default=64, help="generator width, both sides (official --ngf)")
    parser.add_argument("--ndf", type=int, default=64, help="discriminator width, both sides (official --ndf)")
    parser.add_argument("--blocks", type=int, choices=[6, 9], default=9, help="resnet_6blocks or resnet_9blocks")
    parser.add_argument("--no-spawn", dest="spawn", action="store_false", help="every case in this process (tests)")
    parser.add_argument("--json", type=Path, help="default: benchmarks/results/<date>-<machine>-vs-official.json")
    args = parser.parse_args(argv)
    if args.cyclegan is None and args.cut is None:
        parser.error("name an official checkout: --cyclegan PATH (git clone "
                     "https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix) and/or --cut PATH")  # fmt: skip
    for option in ("cyclegan", "cut"):
        path = getattr(args, option)
        if path is not None and not (path / "options" / "train_options.py").is_file():
            parser.error(f"--{option} {path}: no options/train_options.py there (not an official checkout)")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # read by torch in every spawned case
    torch.set_num_threads(args.threads)
    info = run.machine_info(args.threads)
    checkouts = {o: {"path": str(p), "commit": _git_commit(p)} for o in ("cyclegan", "cut") if (p := getattr(args, o))}
    settings = {k: v for k, v in vars(args).items() if k not in ("cyclegan", "cut", "json")}
    result = {"command": ["python", "-m", "benchmarks.vs_official", *(sys.argv[1:] if argv is None else argv)],
              "date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": info, "load_before": info["load_average"],
              "matmul_gflops_before": {"fp32": matmul_gflops(torch.float32), "bf16": matmul_gflops(torch.bfloat16)},
              "official": checkouts, "translate_commit": _git_commit(ROOT),
              "settings": settings | {"ours_configs": OUR_CONFIGS}}  # fmt: skip
    groups, rows = plan(args), []
    for index in range(args.rounds):
        for position, spec in enumerate(round_order(groups, index)):
            rows.append(run_case(spec, args) | {"round": index, "position": position})
            print(_row_line(rows[-1]), flush=True)
    result |= {
        "load_after": os.getloadavg(),
        "cases": rows,
        "summary": summarise(rows),
        "matmul_gflops_after": {"fp32": matmul_gflops(torch.float32), "bf16": matmul_gflops(torch.bfloat16)},
    }
    name = f"{time.strftime('%Y-%m-%d')}-{machine_slug(info)}-vs-official.json"
    path = args.json or ROOT / "benchmarks" / "results" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, default=str) + "\n")
    for item in result["summary"]:
        print(f"{item['model']} {item['kind']} {item['size']} px {item['precision']}: official "
              f"{item['official_s']:.3f} s, ours {item['ours_s']:.3f} s, official / ours {item['ratio_median']:.2f} "
              f"(rounds {', '.join(f'{r:.2f}' for r in item['ratio_per_round'])})")  # fmt: skip
    print(f"wrote {path}")
    return result


def _row_line(row: dict) -> str:
    seconds = statistics.median(row["step_seconds" if row["kind"] == "train" else "image_seconds"])
    unit = "s/step" if row["kind"] == "train" else "s/image (G forward)"
    return (f"round {row['round']} #{row['position']}: {row['model']} {row['kind']} {row['side']:<8} {row['size']} px "
            f"{row['precision']}: {seconds:.3f} {unit}, load {row['load_before'][0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
