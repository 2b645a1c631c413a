"""The GPU check (#21): every model trains, resumes, predicts and exports on one device; CycleGAN's speed, measured.

    python -m benchmarks.gpu_check                                   # one NVIDIA GPU, from a fresh copy: < 8 minutes
    python -m benchmarks.gpu_check --wheels wheels --official ../pytorch-CycleGAN-and-pix2pix
    python -m benchmarks.gpu_check --device cpu --tiny               # the same script on the CPU (tests)

1. Packages: the project's dependencies that this Python lacks (or has at a version pyproject.toml refuses) are
   installed with pip, from ``--wheels DIR`` only when given (``pip install --no-index --find-links DIR``); the
   torch, torchvision and lightning already installed are pinned, so that pip never replaces a CUDA build.
2. Correctness (tests/gpu/fit_checks.py; on a CUDA GPU ``pytest tests/gpu`` runs the same checks as tests): each
   model family's ``translate fit`` (its quick-start config with the debug overlay's tiny networks) in fp32 (TF32
   off), TF32, bf16-mixed and 16-mixed: finite logged losses, every network's weights move, and a second ``fit
   --ckpt_path last.ckpt`` continues from the first run's step; then ``translate predict`` of a folder and
   ``translate export`` to ONNX on the device, ONNX outputs against the checkpoint's.
3. Speed (benchmarks/gpu_speed.py): the CycleGAN step (ResNet-9, 70x70 PatchGAN, configs/apple2orange.yaml) at
   ``--size`` for each ``--batches`` and precision, through Lightning's loop with data loading; the same step of the
   official code when ``--official`` points at a checkout of junyanz/pytorch-CycleGAN-and-pix2pix; cuDNN benchmark and
   channels_last on and off; predict throughput; peak GPU memory of each case.

The fit part starts with CycleGAN's exactness under ``trainer.deterministic`` (``warn`` on CUDA): two uninterrupted
runs, and runs resumed mid-epoch and at an epoch's end, compared weight for weight.

Prints one table and writes JSON (``--json``; by default ``benchmarks/results-gpu.json`` on a GPU and
``benchmarks/results-cpu-check.json`` on the CPU). Exit status 1 when a correctness check failed.
"""

import argparse
import importlib.metadata
import json
import platform
import re
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRECISIONS = ["fp32", "tf32", "bf16-mixed", "16-mixed"]
PINNED = ["torch", "torchvision", "lightning"]  # never replaced: the machine's own (CUDA) builds


def requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The project's dependencies and the ONNX extra (export and ``predict --onnx``), as pip requirement strings."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the two arrays are read with patterns, comments dropped first
        text = "\n".join(line.split("#", 1)[0] for line in pyproject.read_text().splitlines())
        found = []
        for key in ("dependencies", "export"):  # the array ends at the first "]" that ends a line
            block = re.search(rf"^{key} = \[(.*?)\]\s*$", text, re.MULTILINE | re.DOTALL)
            found += re.findall(r'"([^"]+)"', block.group(1)) if block else []
        return found
    project = tomllib.loads(pyproject.read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["export"]]


def missing(wanted: list[str]) -> list[str]:
    """The requirements this Python does not satisfy (absent, or a version outside the specifier; without the
    ``packaging`` library, which a bare Python may lack, only absence is checked)."""
    try:
        from packaging.requirements import Requirement
    except ModuleNotFoundError:
        Requirement = None  # noqa: N806
    absent = []
    for text in wanted:
        name = Requirement(text).name if Requirement else re.split(r"[\[<>=!~; ]", text, maxsplit=1)[0]
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            absent.append(text)
            continue
        if Requirement and not Requirement(text).specifier.contains(version, prereleases=True):
            absent.append(text)
    return absent


def install(wanted: list[str], wheels: Path | None) -> tuple[list[str], list[str]]:
    """pip-install what is missing (from ``wheels`` alone when given); returns (installed, still missing).

    All at once first; if pip refuses (a wheel absent from the folder, no index reachable), one at a time, so that
    what can be installed is, and the check runs with the rest missing (its rows then fail with the import error:
    without onnx only the export rows, without albumentations every training row).
    """
    needed = missing(wanted)
    if not needed:
        return [], []
    pins = []
    for name in PINNED:
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    source = ["--no-index", "--find-links", str(wheels)] if wheels else []
    pip = [sys.executable, "-m", "pip", "install", "--quiet", *source]
    print("installing:", " ".join(needed), flush=True)
    if subprocess.run([*pip, *needed, *pins]).returncode == 0:
        return needed, []
    failed = [text for text in needed if subprocess.run([*pip, text, *pins]).returncode != 0]
    where = f"in {wheels}" if wheels else "from the package index"
    print(f"gpu_check: could not install {' '.join(failed)} {where}; going on without", file=sys.stderr)
    return [text for text in needed if text not in failed], failed


def machine(device: str) -> dict:
    import torch

    info = {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
            "cuda": torch.version.cuda, "device": device}  # fmt: skip
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(device)
        info["gpu_memory_gb"] = round(torch.cuda.get_device_properties(device).total_memory / 2**30, 1)
    else:
        info["processor"] = platform.processor() or platform.machine()
    return info


def table(rows: list[dict]) -> str:
    """One line per case: what ran, its verdict or speed, and the peak memory."""
    lines = [f"{'case':<80}{'result':>34}{'peak MB':>10}"]
    for row in rows:
        if "skipped" in row:
            result = f"skipped: {row['skipped']}"
        elif "ok" in row:
            result = "ok" if row["ok"] else f"FAILED: {row['error']}"[:120]
        elif "error" in row:
            result = f"error: {row['error']}"[:120]
        elif "steps_per_s" in row:
            result = f"{row['steps_per_s']:.2f} steps/s {row['pairs_per_s']:.1f} pairs/s"
        else:
            result = f"{row['images_per_s']:.1f} images/s"
        memory = row.get("peak_mb")
        lines.append(f"{row['case']:<80}{result:>34}{memory if memory is not None else '':>10}")
    return "\n".join(lines)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu")
    parser.add_argument("--tiny", action="store_true", help="tiny networks and images, few steps (the CPU test)")
    parser.add_argument("--wheels", type=Path, help="install missing packages from this folder of wheels only")
    parser.add_argument("--no-install", dest="install", action="store_false", help="install nothing")
    parser.add_argument("--official", type=Path, help="checkout of junyanz/pytorch-CycleGAN-and-pix2pix to time")
    parser.add_argument("--parts", nargs="+", choices=["fit", "speed"], default=["fit", "speed"])
    parser.add_argument(
        "--families", nargs="+", help="model families to fit (default: all; see tests/gpu/fit_checks.py)"
    )
    parser.add_argument("--precisions", nargs="+", choices=PRECISIONS, default=PRECISIONS)
    parser.add_argument("--size", type=int, help="CycleGAN crop size for the timings (default 256; --tiny 32)")
    parser.add_argument("--batches", type=int, nargs="+", help="CycleGAN batch sizes (default 1 4 8; --tiny 1 2)")
    parser.add_argument("--steps", type=int, help="timed training steps per case (default 20; --tiny 2)")
    parser.add_argument("--warmup", type=int, help="untimed steps first (default 5; --tiny 1)")
    parser.add_argument("--predict-images", type=int, help="images per predict timing (default 64; --tiny 4)")
    parser.add_argument(
        "--budget-s",
        type=float,
        default=450,
        help="stop starting cases after this many seconds "
        "(default 450: the check ends within 8 minutes; the fit part gets at most 45%%; 0: no limit)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="torch CPU threads (default: 1 with --device cpu, a smoke run that "
        "should not fight other jobs for cores; torch's own choice on a GPU machine)",
    )
    parser.add_argument("--work", type=Path, help="folder for data, runs and outputs (default: a temporary one)")
    parser.add_argument(
        "--json",
        type=Path,
        help="default: benchmarks/results-gpu.json on a GPU, benchmarks/results-cpu-check.json with --device cpu (so "
        "a CPU run never takes the GPU figures' name)",
    )
    args = parser.parse_args(argv)
    defaults = {"size": (256, 32), "batches": ([1, 4, 8], [1, 2]), "steps": (20, 2), "warmup": (5, 1),
                "predict_images": (64, 4)}  # fmt: skip
    for name, (full, tiny) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, tiny if args.tiny else full)
    if args.official is not None and not (args.official / "models" / "cycle_gan_model.py").is_file():
        parser.error(f"--official {args.official}: no models/cycle_gan_model.py there; point it at a checkout of "
                     "junyanz/pytorch-CycleGAN-and-pix2pix")  # fmt: skip
    if args.json is None:
        args.json = (
            ROOT / "benchmarks" / ("results-gpu.json" if args.device.startswith("cuda") else "results-cpu-check.json")
        )
    if args.wheels is not None and not args.wheels.is_dir():
        parser.error(f"--wheels {args.wheels}: not a folder; give the folder that holds the .whl files")
    return args


def failure(error: BaseException) -> str:
    """A failed case's error as one line of the report."""
    if isinstance(error, SystemExit):  # the commands' one-line errors
        return str(error.code)
    last = traceback.extract_tb(error.__traceback__)[-1]
    return f"{type(error).__name__}: {error} ({Path(last.filename).name}:{last.lineno})".replace("\n", " ")


def exactness_row(device: str, data: Path, work: Path) -> dict:
    """A measurement, not a pass/fail: ``ok`` is False only when the runs fail."""
    from tests.gpu import fit_checks

    row = {"case": f"cyclegan resume exactness, fp32, deterministic ({device})", "part": "fit", "family": "cyclegan"}
    try:
        row.update(ok=True, **fit_checks.check_exactness(device, data, work))
    except (Exception, SystemExit) as error:  # noqa: B036 (reported; the other cases still run)
        row.update(ok=False, error=failure(error))
    return row


def fit_rows(
    device: str, families: list[str] | None, precisions: list[str], work: Path, deadline: float | None = None
) -> list[dict]:
    """The checks of tests/gpu/fit_checks.py as report rows: every family in every precision, then predict and export
    from its first precision's checkpoint; a case that would start after ``deadline`` (a ``time.perf_counter()``
    value) is a skipped row."""
    import torch

    from tests.gpu import fit_checks

    unknown = sorted(set(families or []) - set(fit_checks.FAMILIES))
    if unknown:
        raise SystemExit(f"gpu_check: error: unknown --families {unknown}; known: {', '.join(fit_checks.FAMILIES)}")
    data = fit_checks.write_data(work / "data")
    rows = []
    if families is None or "cyclegan" in families:  # first: the first lent GPU must measure it
        exactness = {"case": f"cyclegan resume exactness, fp32, deterministic ({device})", "part": "fit"}
        past = deadline is not None and time.perf_counter() > deadline
        rows.append({**exactness, "skipped": "time budget spent (--budget-s)"} if past else
                    exactness_row(device, data, work / "exactness"))  # fmt: skip
    for family in families or fit_checks.FAMILIES:
        for precision in precisions:
            case = work / family / precision
            row = {"case": f"{family} fit + resume, {precision}", "part": "fit", "family": family,
                   "precision": precision}  # fmt: skip
            if deadline is not None and time.perf_counter() > deadline:
                rows.append({**row, "skipped": "time budget spent (--budget-s)"})
                continue
            try:
                if device.startswith("cuda"):
                    torch.cuda.reset_peak_memory_stats(device)
                fit_checks.check_training(family, precision, device, data, case)
                row["ok"] = True
            except (Exception, SystemExit) as error:  # noqa: B036 (a failed case is reported, the others still run)
                row.update(ok=False, error=failure(error))
            if device.startswith("cuda"):
                row["peak_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20)
            rows.append(row)
        if family in fit_checks.NOISE_FAMILIES:
            continue  # they generate (translate sample), they do not translate: no predict, no export
        ckpt = work / family / precisions[0] / "second" / "checkpoints" / "last.ckpt"
        row = {"case": f"{family} predict + ONNX export, {device}", "part": "inference", "family": family}
        if deadline is not None and time.perf_counter() > deadline:
            rows.append({**row, "skipped": "time budget spent (--budget-s)"})
            continue
        try:
            if not ckpt.is_file():
                raise AssertionError(f"no checkpoint to predict with ({precisions[0]} training failed)")
            difference = fit_checks.check_inference(ckpt, device, data, work / family / "inference")
            assert difference < 2.0, f"ONNX outputs differ from the checkpoint's by {difference:.2f} grey levels"
            row.update(ok=True, onnx_difference=difference)
        except (Exception, SystemExit) as error:  # noqa: B036
            row.update(ok=False, error=failure(error))
        rows.append(row)
    fit_checks.set_tf32(False)
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    start = time.perf_counter()  # the budget counts the installation too
    args = parse(argv)
    installed, not_installed = install(requirements(), args.wheels) if args.install else ([], [])
    import tempfile

    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit(f"gpu_check: error: --device {args.device}: torch {torch.__version__} sees no CUDA GPU; use --device "
                 "cpu --tiny to run the check on the CPU")  # fmt: skip
    threads = args.threads or (1 if args.device == "cpu" else None)
    if threads:
        torch.set_num_threads(threads)
    from benchmarks import gpu_speed

    with tempfile.TemporaryDirectory() as temporary:
        work = args.work or Path(temporary)
        rows = []
        budget = args.budget_s or None
        if "fit" in args.parts:
            fit_deadline = start + 0.45 * budget if budget and "speed" in args.parts else budget and start + budget
            rows += fit_rows(args.device, args.families, args.precisions, work / "fit", fit_deadline)
        if "speed" in args.parts:
            rows += gpu_speed.run(args, work / "speed", budget and start + budget)
    report = {"machine": {**machine(args.device), "torch_threads": torch.get_num_threads()}, "installed": installed,
              "not_installed": not_installed, "tiny": args.tiny, "seconds": round(time.perf_counter() - start, 1),
              "results": rows}  # fmt: skip
    print(f"\nmachine: {report['machine']}\n{table(rows)}\n{report['seconds']} s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    if any(row.get("ok") is False for row in rows):
        sys.exit(1)
    return rows


if __name__ == "__main__":
    main()
