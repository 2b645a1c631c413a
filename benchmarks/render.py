"""Markdown tables rendered from results files, so every figure in a table is one a file records.

    python -m benchmarks.render                    # rewrite the marked tables in docs/*.md from their files
    python -m benchmarks.render --check            # exit 1 naming each table that differs (tests/test_render.py)

In a doc, everything between

    <!-- table: results-cpu.json results-cpu-bf16.json -->
    <!-- /table -->

is the table rendered from those files (paths relative to benchmarks/), followed by a line naming the files and the
machine each records. The layout follows the file: ``benchmarks.run`` results (``results``: one row per case),
``benchmarks.cut_steps`` (models taking turns), ``benchmarks.vs_official`` (official against ours) and
``benchmarks.suite`` (the quality suite: its files merged, a line per variant, length and checkpoint). Edit the
files or the scripts, never the rendered lines.
"""

import argparse
import json
import re
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
DOCS = BENCHMARKS.parent / "docs"
BLOCK = re.compile(r"(<!-- table: (?P<files>[^>]+?) -->\n)(?P<body>.*?)(<!-- /table -->)", re.S)


def _number(value: float | None, digits: int = 2) -> str:
    if value is None:
        return ""
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.{digits}f}"


def machine_line(data: dict) -> str:
    """The machine as the file records it, and what it does not record."""
    machine = data.get("machine")
    if machine is None:
        return "machine not recorded in the file"
    if isinstance(machine, str):
        return machine
    cpu = machine.get("cpu") or machine.get("processor") or "CPU model not recorded"
    flags = machine.get("flags")
    has_bf16 = "avx512_bf16" in flags.split() if isinstance(flags, str) else (flags or {}).get("avx512_bf16")
    bf16 = "" if flags is None else (", AVX512-BF16" if has_bf16 else ", no AVX512-BF16")
    load = machine.get("load_average")
    parts = [f"{cpu}{bf16}", f"{machine.get('cpus', '?')} CPUs", f"{machine.get('threads', '?')} threads",
             f"torch {machine.get('torch', '?')}"]  # fmt: skip
    if load is not None:
        parts.append(f"load average {load[0]:.1f} before")
    return ", ".join(parts)


def _run_table(data: dict) -> list[str]:
    lines = ["| case | s/step | images/s | GFLOP/s | peak RSS |", "| --- | ---: | ---: | ---: | ---: |"]
    for row in data["results"]:
        rss = f"{row['peak_rss_mb'] / 1024:.1f} GiB" if "peak_rss_mb" in row else ""  # ru_maxrss: MiB here
        lines.append(f"| {row['case']} | {_number(row.get('seconds_per_step'))} | {_number(row['images_per_sec'])} "
                     f"| {_number(row.get('gflops'))} | {rss} |")  # fmt: skip
    lines.append(f"\nfp32 matmul (2048^2): {data['matmul_gflops']:.0f} GFLOP/s.")
    return lines


def _cut_table(data: dict) -> list[str]:
    lines = ["| model | GFLOP per step (ratio) | s/step, median of rounds (ratio) | per-round ratio to CycleGAN |",
             "| --- | ---: | ---: | ---: |"]  # fmt: skip
    flops, steps = data["gflop_per_step"], data["seconds_per_step"]
    for name in steps:
        ratios = ", ".join(f"{r:.2f}" for r in data["ratio_to_cyclegan_per_round"][name])
        lines.append(f"| {name} | {flops[name]:.1f} ({flops[name] / flops['cyclegan']:.2f}) | {steps[name]:.1f} "
                     f"({steps[name] / steps['cyclegan']:.2f}) | {ratios} |")  # fmt: skip
    before, after = data["matmul_gflops"]
    lines.append(f"\n{data['size']} px, batch 1, {data['threads']} thread(s); fp32 matmul {before:.0f} -> {after:.0f} "
                 "GFLOP/s (before -> after).")  # fmt: skip
    return lines


def _vs_official_table(data: dict) -> list[str]:
    lines = ["| model | case | px | precision | official | ours | official / ours (per round) | ours, whole predict |",
             "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for item in data["summary"]:
        unit = "s/step" if item["kind"] == "train" else "s/image"
        rounds = ", ".join(f"{r:.2f}" for r in item["ratio_per_round"])
        loop = f"{item['ours_loop_images_per_s']:.2f} img/s" if "ours_loop_images_per_s" in item else ""
        lines.append(f"| {item['model']} | {item['kind']} | {item['size']} | {item['precision']} | "
                     f"{item['official_s']:.3f} {unit} | {item['ours_s']:.3f} {unit} | **{item['ratio_median']:.2f}** "
                     f"({rounds}) | {loop} |")  # fmt: skip
    settings = data["settings"]
    lines.append(f"\n{settings['rounds']} rounds, {settings['steps']} timed steps after {settings['warmup']}, batch "
                 f"{settings['batch']}, ngf {settings['ngf']}, ndf {settings['ndf']}, {settings['blocks']} blocks; "
                 f"load average {data['load_before'][0]:.1f} before, {data['load_after'][0]:.1f} after.")  # fmt: skip
    return lines


def render_file(data: dict, name: str) -> list[str]:
    if "results" in data:
        return _run_table(data)
    if "ratio_to_cyclegan_per_round" in data:
        return _cut_table(data)
    if "summary" in data and "cases" in data:
        return _vs_official_table(data)
    raise ValueError(f"benchmarks/{name}: not a layout benchmarks/render.py knows (run, cut_steps, vs_official)")


def render_block(files: list[str]) -> str:
    """The table(s) of ``files`` and the line that names them and their machines. Quality-suite files (one per
    process that ran part of it) are merged into one set of tables, a line per variant, length and checkpoint."""
    from benchmarks.suite import render as suite

    lines, sources, suites = [], [], []
    for name in files:
        data = json.loads((BENCHMARKS / name).read_text())
        if "suite" in data:
            suites.append(data)
        else:
            lines += [*render_file(data, name), ""]
        sources.append(f"- `benchmarks/{name}`: {machine_line(data)}")
    if suites:
        lines += [suite.render(suite.merged(suites), long=True), ""]
    return (
        "\n".join(
            [*lines, "Rendered by `python -m benchmarks.render` from (machine as each file records it):", *sources]
        )
        + "\n"
    )


def render_doc(text: str) -> str:
    return BLOCK.sub(lambda m: m.group(1) + render_block(m.group("files").split()) + m.group(4), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("docs", nargs="*", type=Path, help="default: docs/*.md")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a table differs")
    args = parser.parse_args(argv)
    stale = []
    for doc in args.docs or sorted(DOCS.glob("*.md")):
        text = doc.read_text()
        rendered = render_doc(text)
        if rendered != text:
            stale.append(doc)
            if not args.check:
                doc.write_text(rendered)
    for doc in stale:
        print(f"{doc}: {'tables differ from their results files' if args.check else 'tables rendered'}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
