"""benchmarks/render.py: the tables in docs/ are the ones their results files render to, so a figure in a table is
one a file records."""

import json

import pytest

from benchmarks import render


def test_docs_tables_match_their_results_files(capsys):
    assert render.main(["--check"]) == 0, capsys.readouterr().out  # fix: python -m benchmarks.render
    text = (render.DOCS / "benchmarks.md").read_text()
    assert text.count("<!-- table: ") == text.count("<!-- /table -->") >= 3


def test_a_number_edited_by_hand_is_caught(tmp_path):
    doc = render.DOCS / "benchmarks.md"
    text = doc.read_text()
    edited = text.replace("| cut | 357.1 (0.76) |", "| cut | 357.1 (0.70) |")
    assert edited != text, "the CUT table should hold this row"
    copy = tmp_path / "benchmarks.md"
    copy.write_text(edited)
    assert render.main(["--check", str(copy)]) == 1
    assert render.main([str(copy)]) == 0 and copy.read_text() == text  # rendering puts the file's figure back


def test_the_machine_line_says_what_the_file_does_not_record():
    assert render.machine_line({}) == "machine not recorded in the file"
    old = {"machine": {"processor": "", "cpus": 2, "threads": 2, "torch": "2.14.1"}}
    assert render.machine_line(old).startswith("CPU model not recorded, 2 CPUs")
    new = {"machine": {"cpu": "Intel(R) Xeon(R) Processor", "cpus": 2, "threads": 1, "torch": "2.14.1",
                       "flags": {"avx512_bf16": True}, "load_average": [0.1, 0.2, 0.3]}}  # fmt: skip
    assert render.machine_line(new) == ("Intel(R) Xeon(R) Processor, AVX512-BF16, 2 CPUs, 1 threads, torch 2.14.1, "
                                        "load average 0.1 before")  # fmt: skip


def test_vs_official_results_render(tmp_path, monkeypatch):
    result = {"machine": {"cpu": "X", "cpus": 2, "threads": 2, "torch": "t"}, "load_before": [1, 1, 1],
              "load_after": [2, 2, 2], "cases": [],
              "settings": {"rounds": 2, "steps": 5, "warmup": 2, "batch": 1, "ngf": 64, "ndf": 64, "blocks": 9},
              "summary": [{"model": "cyclegan", "kind": "train", "size": 128, "precision": "bf16", "official_s": 1.1,
                           "ours_s": 1.0, "ratio_per_round": [1.12, 1.08], "ratio_median": 1.1}]}  # fmt: skip
    (tmp_path / "vs.json").write_text(json.dumps(result))
    monkeypatch.setattr(render, "BENCHMARKS", tmp_path)
    block = render.render_block(["vs.json"])
    assert "| cyclegan | train | 128 | bf16 | 1.100 s/step | 1.000 s/step | **1.10** (1.12, 1.08) |  |" in block
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(ValueError, match="not a layout"):
        render.render_block(["other.json"])


def test_quality_suite_files_render_merged_a_line_per_variant_and_length(tmp_path, monkeypatch):
    def row(variant, seed, length, selection, metric, value):
        return {"task": "shape", "variant": variant, "seed": seed, "length": length, "selection": selection,
                "split": "test", "metric": metric, "value": value, "batches": length or 0}  # fmt: skip

    machine = {"cpu": "X", "cpus": 2, "threads": 1, "torch": "t", "flags": "fpu avx512_bf16", "load_average": [3, 2, 1]}
    for seed, (short, long) in enumerate(((0.80, 0.94), (0.82, 0.96)), start=1):  # one file per process: one seed
        rows = [row("identity", None, None, "input", "squareness", 0.787)]
        rows += [row("travel", seed, 1000, s, "squareness", short) for s in ("last", "best_val")]
        rows += [row("travel", seed, 5000, s, "squareness", long) for s in ("last", "best_val")]
        rows += [row("cyclegan", seed, 1000, s, "squareness", 0.79) for s in ("last", "best_val")]
        doc = {"suite": "quality (#28)", "machine": machine, "runs": [], "rows": rows,
               "settings": {"tasks": ["shape"], "lengths": [1000, 5000]}}  # fmt: skip
        (tmp_path / f"s{seed}.json").write_text(json.dumps(doc))
    monkeypatch.setattr(render, "BENCHMARKS", tmp_path)
    block = render.render_block(["s1.json", "s2.json"])
    assert "| identity (the untouched input) |  |  |  | 0.787 |" in block  # once, not 0.787 ± 0.000
    assert "| travel | 2 | 5,000 | last | 0.950 ± 0.014 |" in block and "| travel | 2 | 1,000 | best on val |" in block
    assert "| cyclegan | 2 | 1,000 | last | 0.790 ± 0.000 |" in block and "| cyclegan | 2 | 5,000" not in block
    assert block.count("### shape:") == 1 and "- `benchmarks/s2.json`: X, AVX512-BF16, 2 CPUs" in block
