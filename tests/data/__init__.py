"""Tests of translate/data/."""
