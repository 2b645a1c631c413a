"""Tests of translate/inference/."""
