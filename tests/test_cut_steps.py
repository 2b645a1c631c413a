"""benchmarks/cut_steps.py: the models take turns in an order that rotates every round, and the file records the
machine and every round's order."""

from benchmarks.cut_steps import main


def test_order_rotates_every_round(tmp_path):
    result = main(["--tiny", "--size", "32", "--rounds", "3", "--steps", "1", "--threads", "1",
                   "--json", str(tmp_path / "cut.json")])  # fmt: skip
    assert result["order_per_round"] == [("cyclegan", "cut", "fastcut"), ("cut", "fastcut", "cyclegan"),
                                         ("fastcut", "cyclegan", "cut")]  # fmt: skip
    assert all(len(rounds) == 3 for rounds in result["rounds"].values())
    assert len(result["ratio_to_cyclegan_per_round"]["cut"]) == 2  # the first round is a warm-up
    machine = result["machine"]
    assert machine["cpu"] and "avx512_bf16" in machine["flags"] and len(machine["load_average_after"]) == 3
