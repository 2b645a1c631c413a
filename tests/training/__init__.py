"""Tests of translate/training/."""
