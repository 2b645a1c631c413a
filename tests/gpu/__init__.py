"""Correctness checks on a CUDA GPU (skipped without one); benchmarks/gpu_check.py runs the same checks as a report."""
